"""The settings reference (the table in docs/settings.md and `.env.example`) is generated from
`Settings` and cannot drift: regenerated here, it must equal what is committed."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import pytest
from pydantic import Field

from article_mcp.config import Settings
from article_mcp.config_reference import (
    TABLE_END,
    TABLE_START,
    env_example,
    setting_docs,
    settings_table,
    with_settings_table,
)
from tests.support.docs import DOCS, ROOT

REGENERATE = "run `.venv/bin/python scripts/gen_settings.py` and commit the result"
PAGE = (DOCS / "settings.md").read_text(encoding="utf-8")


def test_the_settings_page_shows_the_current_table() -> None:
    assert with_settings_table(PAGE) == PAGE, f"docs/settings.md is out of date: {REGENERATE}"


def test_env_example_is_current() -> None:
    committed = (ROOT / ".env.example").read_text(encoding="utf-8")
    assert committed == env_example(), f".env.example is out of date: {REGENERATE}"


def test_every_setting_has_one_row() -> None:
    table = PAGE.split(TABLE_START, 1)[1].split(TABLE_END, 1)[0]
    for name in Settings.model_fields:
        assert table.count(f"| `{name.upper()}` |") == 1, name


def test_env_example_values_are_the_real_defaults(tmp_path: Path) -> None:
    """Uncommented, every `NAME=value` line of .env.example loads and equals the default."""
    names = {name.upper() for name in Settings.model_fields}
    assignments = [
        line.removeprefix("# ")
        for line in env_example().splitlines()
        if line.startswith("# ") and line[2:].split("=", 1)[0] in names
    ]
    assert sorted(line.split("=", 1)[0] for line in assignments) == sorted(names)
    dotenv = tmp_path / ".env"
    dotenv.write_text("\n".join(line for line in assignments if not line.endswith("=")), encoding="utf-8")
    assert Settings(_env_file=dotenv) == Settings(_env_file=None)


def test_rules_come_from_the_fields_metadata() -> None:
    rules = {doc.name: doc.rule for doc in setting_docs()}
    assert rules["DATABASE_POOL_SIZE"] == "2 to 100"
    assert rules["EMBEDDING_PROVIDER_BATCH_SIZE"] == "above 0, at most 2048"
    assert rules["CHUNK_OVERLAP"] == "at least 0"
    assert rules["TEXT_SEARCH_CONFIG"] == "matches `^[a-z_]+$`"
    assert rules["LOG_FORMAT"] == "`console` or `json`"


class _MoreSettings(Settings):
    reference_probe: int = Field(7, ge=1, le=9, description="a setting another branch adds")
    reference_url: Annotated[str, Field(pattern=r"^https://")] | None = Field(None, description="an address")
    reference_mode: Literal["on", "off"] | None = Field(None, description="a mode")


def test_a_new_setting_changes_both_files() -> None:
    assert "| `REFERENCE_PROBE` | integer | `7` | 1 to 9 | a setting another branch adds |" in settings_table(
        _MoreSettings
    )
    assert "# REFERENCE_PROBE=7" in env_example(_MoreSettings)
    assert settings_table(_MoreSettings) != settings_table()


def test_optional_settings_keep_their_type_and_rule() -> None:
    docs = {doc.name: doc for doc in setting_docs(_MoreSettings)}
    assert (docs["REFERENCE_URL"].type, docs["REFERENCE_URL"].rule) == ("string", "matches `^https://`")
    assert (docs["REFERENCE_MODE"].type, docs["REFERENCE_MODE"].rule) == ("choice", "`on` or `off`")
    assert docs["REFERENCE_MODE"].default == "unset"


def test_a_setting_without_a_meaning_is_refused() -> None:
    class Undescribed(Settings):
        reference_probe: int = 7

    with pytest.raises(ValueError, match=r"REFERENCE_PROBE: .*description"):
        setting_docs(Undescribed)
