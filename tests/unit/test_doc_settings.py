"""The settings page (docs/settings.md) names every setting with its real default, and no
setting that does not exist."""

from __future__ import annotations

import re

import pytest

from article_mcp.config import Settings
from tests.support.docs import DOCS

PAGE = (DOCS / "settings.md").read_text(encoding="utf-8")
ROWS = {
    match["name"]: match["default"]
    for match in re.finditer(r"^\| `(?P<name>[A-Z0-9_]+)` \| (?P<default>[^|]+) \|", PAGE, re.MULTILINE)
}


def shown(value: object) -> str:
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_in_the_table(name: str) -> None:
    assert name.upper() in ROWS, f"{name.upper()} is missing from the settings table in docs/settings.md"


def test_the_table_names_only_real_settings() -> None:
    assert set(ROWS) - {name.upper() for name in Settings.model_fields} == set()


@pytest.mark.parametrize(
    "name",
    sorted(
        name
        for name, field in Settings.model_fields.items()
        if field.default_factory is None and field.default not in (None, "")
    ),
)
def test_the_table_shows_the_real_default(name: str) -> None:
    assert ROWS[name.upper()].strip().startswith(shown(Settings.model_fields[name].default))
