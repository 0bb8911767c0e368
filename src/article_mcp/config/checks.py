"""The rules settings are checked against beyond their types (AUTH_TOKEN's strength), and how a
broken rule is told: one line per variable, secrets never shown, URLs with passwords redacted."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from urllib.parse import urlsplit

from pydantic import ValidationError

TOKEN_MIN_BITS = 128
TOKEN_MIN_DISTINCT = 8
# The alphabet a token draws from, estimated from the classes of character it uses.
_TOKEN_CLASSES: tuple[tuple[Callable[[str], bool], int], ...] = (
    (lambda c: "a" <= c <= "z", 26),
    (lambda c: "A" <= c <= "Z", 26),
    (lambda c: "0" <= c <= "9", 10),
    (lambda c: c.isascii() and not c.isalnum(), 33),
    (lambda c: not c.isascii(), 100),
)


def token_bits(token: str) -> float:
    """Estimated entropy: length x log2(the alphabet of the character classes it uses)."""
    alphabet = sum(size for member, size in _TOKEN_CLASSES if any(member(c) for c in token))
    return len(token) * math.log2(alphabet) if alphabet else 0.0


def check_token_strength(token: str) -> None:
    """Refuse a guessable AUTH_TOKEN, saying what is needed (never echoing the token)."""
    bits = token_bits(token)
    if bits < TOKEN_MIN_BITS or len(set(token)) < TOKEN_MIN_DISTINCT:
        raise ValueError(
            f"AUTH_TOKEN: too weak (estimated {bits:.0f} bits, from {len(set(token))} distinct "
            f"characters); needs at least {TOKEN_MIN_BITS} bits and {TOKEN_MIN_DISTINCT} distinct "
            "characters, e.g. 32 random letters and digits: "
            "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )


SECRET_SETTINGS = frozenset({"DATABASE_URL", "DATABASE_DIRECT_URL", "OPENAI_API_KEY", "AUTH_TOKEN"})


def describe_validation_error(exc: ValidationError) -> str:
    """One line per broken rule, each starting with the variable's name; secrets never shown."""
    lines = []
    for error in exc.errors():
        message = str(error["msg"]).removeprefix("Value error, ")
        if not error["loc"]:
            lines.append(message)
            continue
        name = str(error["loc"][0]).upper()
        shown = "" if name in SECRET_SETTINGS else f" (got {error.get('input')!r})"
        lines.append(f"{name}: {message[:1].lower()}{message[1:]}{shown}")
    return "; ".join(lines)


def redact_url(url: str) -> str:
    """The URL with any password replaced, fit for logs and messages."""
    password = urlsplit(url).password
    if password:
        url = url.replace(f":{password}@", ":***@", 1)
    return re.sub(r"(?i)([?&]password)=[^&]*", r"\1=***", url)
