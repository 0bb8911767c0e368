"""Settings: defaults of the deployment guide, and one clear line for a wrong value."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from article_mcp.config import (
    DEFAULT_MODELS,
    Settings,
    literal_choices,
    load_settings,
    redact_url,
    token_bits,
)
from article_mcp.errors import ConfigError

# Every setting that takes one of a fixed set of values, with those values as the code sees them.
CHOICES = {
    name.upper(): choices
    for name, field in Settings.model_fields.items()
    if (choices := literal_choices(field.annotation))
}


def test_defaults_match_the_deployment_guide() -> None:
    s = load_settings(_env_file=None)
    assert s.semantic_search_enabled is True
    assert s.embedding_provider == "local"
    assert s.embedding_queue_enabled is True
    assert s.embedding_worker_interval == 5000
    assert s.embedding_max_retries == 3
    assert s.embedding_retry_backoff_base == 1000
    assert s.embedding_batch_size == 1
    assert s.embedding_provider_batch_size == 64
    assert s.embedding_cleanup_interval == 24
    assert s.embedding_cleanup_retention_days == 30
    assert s.embedding_worker_timeout == 300_000
    # The lease is apart from how long a batch may take: a crashed worker's tasks come back in 30 s.
    assert s.embedding_lease_ms == 30_000
    assert s.embedding_concurrent_workers == 1
    assert s.ollama_base_url == "http://localhost:11434"
    assert s.database_url is None and s.embedded_database


def test_a_shortened_worker_timeout_still_shortens_the_lease() -> None:
    """Deployments that set EMBEDDING_WORKER_TIMEOUT below 30 s for a short lease keep it."""
    assert load_settings(_env_file=None, embedding_worker_timeout=5000).embedding_lease_ms == 5000
    assert load_settings(_env_file=None, embedding_lease_seconds=2.5).embedding_lease_ms == 2500


@pytest.mark.parametrize("provider", ["local", "ollama", "openai"])
def test_each_provider_has_a_default_model(provider: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMBEDDING_PROVIDER", provider)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert load_settings(_env_file=None).embedding_model_name == DEFAULT_MODELS[provider]  # type: ignore[index]


def test_environment_overrides_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMBEDDING_WORKER_INTERVAL", "250")
    monkeypatch.setenv("EMBEDDING_QUEUE_ENABLED", "false")
    s = load_settings(_env_file=None)
    assert s.embedding_worker_interval == 250
    assert s.embedding_queue_enabled is False


def test_dotenv_file_is_read(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / ".env").write_text("EMBEDDING_MAX_RETRIES=7\n")
    monkeypatch.chdir(tmp_path)
    assert load_settings().embedding_max_retries == 7


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("EMBEDDING_WORKER_INTERVAL", "-5", "EMBEDDING_WORKER_INTERVAL: input should be greater than 0"),
        ("EMBEDDING_PROVIDER", "cohere", "EMBEDDING_PROVIDER: input should be 'local', 'ollama' or 'openai'"),
        ("EMBEDDING_MAX_RETRIES", "many", "EMBEDDING_MAX_RETRIES: input should be a valid integer"),
        ("LOG_FORMAT", "xml", "LOG_FORMAT: input should be 'console' or 'json'"),
        ("LOG_FORMAT", "JSONL", "LOG_FORMAT: input should be 'console' or 'json'"),
        (
            "LOG_LEVEL",
            "Verbose",
            "LOG_LEVEL: input should be 'DEBUG', 'INFO', 'WARNING', 'ERROR' or 'CRITICAL'",
        ),
    ],
)
def test_a_wrong_value_names_the_variable_and_the_rule(
    variable: str, value: str, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as info:
        load_settings(_env_file=None)
    assert info.value.message.startswith(expected)
    assert "\n" not in info.value.message


def any_case(text: str) -> st.SearchStrategy[str]:
    """`text` with each letter in either case: warning, WARNING, wArNiNg."""
    return st.tuples(*(st.sampled_from([c.lower(), c.upper()]) for c in text)).map("".join)


@st.composite
def spelled_choices(draw: st.DrawFn) -> tuple[str, str, str]:
    """A choice setting, one of its values, and that value in some case."""
    variable = draw(st.sampled_from(sorted(CHOICES)))
    value = draw(st.sampled_from(CHOICES[variable]))
    return variable, value, draw(any_case(value))


def test_the_choice_settings_are_found() -> None:
    assert {"EMBEDDING_PROVIDER", "LOG_LEVEL", "LOG_FORMAT"} <= set(CHOICES)
    assert CHOICES["LOG_LEVEL"] == ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@given(spelled_choices())
def test_a_choice_in_any_case_reads_as_its_canonical_spelling(choice: tuple[str, str, str]) -> None:
    variable, value, spelled = choice
    with pytest.MonkeyPatch.context() as env:
        env.setenv(variable, spelled)
        env.setenv("OPENAI_API_KEY", "sk-test")
        assert getattr(load_settings(_env_file=None), variable.lower()) == value


@given(spelled_choices())
def test_a_wrong_choice_in_any_case_names_the_variable_and_the_values(choice: tuple[str, str, str]) -> None:
    variable, _, spelled = choice
    allowed = CHOICES[variable]
    listed = ", ".join(map(repr, allowed[:-1])) + f" or {allowed[-1]!r}"
    with pytest.MonkeyPatch.context() as env:
        env.setenv(variable, spelled + "s")
        with pytest.raises(ConfigError) as info:
            load_settings(_env_file=None)
    assert info.value.message == f"{variable}: input should be {listed} (got {spelled + 's'!r})"


def test_openai_without_a_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMBEDDING_PROVIDER", "openai")
    with pytest.raises(ConfigError, match="OPENAI_API_KEY: required when EMBEDDING_PROVIDER=openai"):
        load_settings(_env_file=None)


def test_secret_values_never_appear_in_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTH_TOKEN", "short-secret")
    with pytest.raises(ConfigError) as info:
        load_settings(_env_file=None)
    assert "AUTH_TOKEN" in info.value.message
    assert "short-secret" not in info.value.message


def test_overlap_must_be_smaller_than_chunk_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHUNK_SIZE", "64")
    monkeypatch.setenv("CHUNK_OVERLAP", "64")
    with pytest.raises(ConfigError, match="CHUNK_OVERLAP"):
        load_settings(_env_file=None)


def test_hnsw_ef_construction_must_be_twice_m(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HNSW_M", "24")
    monkeypatch.setenv("HNSW_EF_CONSTRUCTION", "47")
    with pytest.raises(ConfigError, match="HNSW_EF_CONSTRUCTION: must be at least twice HNSW_M"):
        load_settings(_env_file=None)
    monkeypatch.setenv("HNSW_EF_CONSTRUCTION", "48")
    assert load_settings(_env_file=None).hnsw_ef_construction == 48


def test_settings_repr_hides_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:hunter2@db.internal/articles")
    monkeypatch.setenv("AUTH_TOKEN", "a-very-long-secret-token")
    text = repr(load_settings(_env_file=None))
    assert "hunter2" not in text and "a-very-long-secret-token" not in text


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://app:hunter2@db:5432/x", "postgresql://app:***@db:5432/x"),
        ("postgresql://app@db/x", "postgresql://app@db/x"),
        ("postgresql://postgres:@/postgres?host=/tmp/s", "postgresql://postgres:@/postgres?host=/tmp/s"),
        ("postgresql:///x?host=/s&password=hunter2", "postgresql:///x?host=/s&password=***"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


@pytest.mark.parametrize(
    "token",
    ["aaaaaaaaaaaaaaaa", "a" * 64, "abcabcabcabcabcabcabcabcabcabcabc", "0123456789abcdef", "Passw0rd!"],
)
def test_a_guessable_auth_token_is_refused_saying_what_is_needed(
    monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    monkeypatch.setenv("AUTH_TOKEN", token)
    with pytest.raises(ConfigError) as info:
        load_settings(_env_file=None)
    assert info.value.message.startswith("AUTH_TOKEN: too weak")
    assert "128 bits" in info.value.message and "8 distinct characters" in info.value.message
    assert token not in info.value.message


# secrets.token_hex(16), secrets.token_urlsafe(16) and secrets.token_urlsafe(32), one run each.
@pytest.mark.parametrize(
    "token",
    [
        "af18560efecee0145c6e9189eaf93bde",
        "urlc2PXAUjNJP1WfdUVUtA",
        "aagwpVGiycsE6LDt7G0GyO9vHE30GtXVpluXS8MtONY",
    ],
)
def test_random_tokens_of_the_usual_lengths_are_accepted(monkeypatch: pytest.MonkeyPatch, token: str) -> None:
    monkeypatch.setenv("AUTH_TOKEN", token)
    settings = load_settings(_env_file=None)
    assert settings.auth_token is not None and token_bits(token) >= 128


RETRIEVAL = "Represent this sentence for searching relevant passages: "


@pytest.mark.parametrize(
    ("model", "query", "document"),
    [
        ("nomic-embed-text", "search_query: ", "search_document: "),
        ("nomic-embed-text:v1.5", "search_query: ", "search_document: "),
        ("nomic-ai/nomic-embed-text-v1.5", "search_query: ", "search_document: "),
        ("intfloat/e5-large-v2", "query: ", "passage: "),
        ("intfloat/multilingual-e5-base", "query: ", "passage: "),
        ("BAAI/bge-small-en-v1.5", RETRIEVAL, ""),
        ("mxbai-embed-large", RETRIEVAL, ""),
        ("snowflake-arctic-embed:335m", RETRIEVAL, ""),
        ("Snowflake/snowflake-arctic-embed-m-v1.5", RETRIEVAL, ""),
        ("snowflake-arctic-embed2", "query: ", ""),
        # No documented instruction, or one that is not a fixed prefix: none by default.
        ("all-MiniLM-L6-v2", "", ""),
        ("text-embedding-3-small", "", ""),
        ("bge-m3", "", ""),
        ("intfloat/multilingual-e5-large-instruct", "", ""),
    ],
)
def test_model_families_get_their_documented_prefixes(model: str, query: str, document: str) -> None:
    prefixes = load_settings(_env_file=None, embedding_model=model).instruction_prefixes()
    assert (prefixes.query.text, prefixes.document.text) == (query, document)
    assert ("family" in prefixes.query.why) == bool(query or document)


def test_a_prefix_setting_wins_even_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMBEDDING_QUERY_PREFIX", "")
    monkeypatch.setenv("EMBEDDING_DOCUMENT_PREFIX", "doc: ")
    prefixes = load_settings(_env_file=None, embedding_provider="ollama").instruction_prefixes()
    assert prefixes.query.text == "" and prefixes.query.why == "set by EMBEDDING_QUERY_PREFIX"
    assert prefixes.document.text == "doc: " and prefixes.document.why == "set by EMBEDDING_DOCUMENT_PREFIX"
