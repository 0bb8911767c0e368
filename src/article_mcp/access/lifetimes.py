"""How long a link (or a token) lives, written for a person: `30m`, `12h`, `7d`, `4w`."""

from __future__ import annotations

import re
from datetime import timedelta

from article_mcp.errors import InvalidInputError

UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
LONGEST = timedelta(days=3650)
_LIFETIME = re.compile(r"(?P<count>[0-9]{1,7})(?P<unit>[mhdw])")
RULE = "a whole number and a unit, m (minutes), h, d or w (weeks), like 30m, 12h, 7d, up to 3650d"


def parse_lifetime(field: str, text: str) -> timedelta:
    """The duration `text` names, or InvalidInputError naming `field` and the rule."""
    match = _LIFETIME.fullmatch(text.strip().lower())
    if match is None:
        raise InvalidInputError(field, f"must be {RULE} (got {text[:40]!r})")
    lifetime = int(match["count"]) * UNITS[match["unit"]]
    if not timedelta(0) < lifetime <= LONGEST:
        raise InvalidInputError(field, f"must be {RULE} (got {text[:40]!r})")
    return lifetime
