"""The README's settings table names every setting with its real default."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from article_mcp.config import Settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
ROWS = {
    match["name"]: match["default"]
    for match in re.finditer(r"^\| `(?P<name>[A-Z0-9_]+)` \| (?P<default>[^|]+) \|", README, re.MULTILINE)
}


def shown(value: object) -> str:
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    return f"`{value}`"


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_in_the_table(name: str) -> None:
    assert name.upper() in ROWS, f"{name.upper()} is missing from the README's settings table"


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
