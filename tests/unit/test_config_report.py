"""`check config`'s report: each setting's value and source, secrets masked, problems of
settings that do not validate, and warnings about valid but doubtful ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from article_mcp.config import Settings
from article_mcp.config_report import ConfigReport, config_report


def line(report: ConfigReport, name: str) -> tuple[str, str, str | None]:
    found = next(s for s in report.settings if s.name == name)
    return found.value, found.source, found.problem


def test_defaults_are_reported_as_defaults(tmp_path: Path) -> None:
    report = config_report(tmp_path / ".env")
    assert report.ok and not report.env_file_found
    assert [s.name for s in report.settings] == [name.upper() for name in Settings.model_fields]
    assert {s.source for s in report.settings} == {"default"}
    assert line(report, "EMBEDDING_MAX_RETRIES") == ("3", "default", None)
    assert line(report, "DATABASE_URL") == ("(not set)", "default", None)


def test_environment_wins_over_the_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("EMBEDDING_MAX_RETRIES=7\nCHUNK_SIZE=300\n")
    monkeypatch.setenv("EMBEDDING_MAX_RETRIES", "5")
    report = config_report(env_file)
    assert report.ok and report.env_file_found
    assert line(report, "EMBEDDING_MAX_RETRIES") == ("5", "environment", None)
    assert line(report, "CHUNK_SIZE") == ("300", ".env", None)


def test_secrets_never_appear(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMBEDDING_PROVIDER", "openai")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-very-secret")
    monkeypatch.setenv("AUTH_TOKEN", "token-very-secret-123")
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:pa55word-secret@db:5432/articles")
    report = config_report(tmp_path / ".env")
    dumped = report.model_dump_json()
    assert "very-secret" not in dumped and "pa55word" not in dumped
    assert line(report, "OPENAI_API_KEY") == ("********", "environment", None)
    assert line(report, "DATABASE_URL")[0] == "postgresql://app:***@db:5432/articles"


def test_invalid_settings_are_reported_per_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("CHUNK_SIZE=abc\n")
    monkeypatch.setenv("EMBEDDING_PROVIDER", "cohere")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-shown-nowhere")
    report = config_report(tmp_path / ".env")
    assert not report.ok and len(report.problems) == 2
    value, source, problem = line(report, "CHUNK_SIZE")
    assert (value, source) == ("abc", ".env") and problem and problem.startswith("CHUNK_SIZE:")
    assert line(report, "EMBEDDING_PROVIDER")[2] is not None
    assert "sk-shown-nowhere" not in report.model_dump_json()


def test_a_rule_across_settings_names_its_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHUNK_SIZE", "64")
    monkeypatch.setenv("CHUNK_OVERLAP", "64")
    report = config_report(tmp_path / ".env")
    assert report.problems == ["CHUNK_OVERLAP: must be smaller than CHUNK_SIZE"]
    assert line(report, "CHUNK_OVERLAP")[2] == report.problems[0]


def test_warnings_for_typos_and_doubtful_choices(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("OLLAMA_BASEURL=http://ollama:11434\n")
    monkeypatch.setenv("EMBEDDING_MODLE", "nomic-embed-text")
    monkeypatch.setenv("EMBEDDING_SOMETHING_ELSE", "1")
    monkeypatch.setenv("EMBEDDING_CONCURRENT_WORKERS", "0")
    monkeypatch.setenv("HTTP_HOST", "0.0.0.0")
    monkeypatch.setenv("DATABASE_DIRECT_URL", "postgresql://app:hunter2@db:5432/articles")
    report = config_report(tmp_path / ".env")
    assert report.ok
    joined = "\n".join(report.warnings)
    assert "DATABASE_DIRECT_URL is set but DATABASE_POOL_MODE=session" in joined
    assert line(report, "DATABASE_DIRECT_URL")[0] == "postgresql://app:***@db:5432/articles"
    assert "EMBEDDING_MODLE (in environment) is not a setting: did you mean EMBEDDING_MODEL?" in joined
    assert "OLLAMA_BASEURL (in " in joined and "did you mean OLLAMA_BASE_URL?" in joined
    assert "EMBEDDING_SOMETHING_ELSE (in environment) is not a setting of article-mcp" in joined
    assert "PATH" not in joined
    assert "nothing is embedded" in joined and "AUTH_TOKEN is not set" in joined


def test_the_prefixes_in_effect_are_shown_with_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMBEDDING_PROVIDER", "ollama")
    monkeypatch.setenv("EMBEDDING_QUERY_PREFIX", "")
    lines = {line.name: line for line in config_report(tmp_path / ".env").settings}
    assert lines["EMBEDDING_QUERY_PREFIX"].value == "'' (set by EMBEDDING_QUERY_PREFIX)"
    assert lines["EMBEDDING_QUERY_PREFIX"].source == "environment"
    document = lines["EMBEDDING_DOCUMENT_PREFIX"]
    assert document.value == "'search_document: ' (the default of the nomic-embed-text family)"
    assert document.source == "default"
