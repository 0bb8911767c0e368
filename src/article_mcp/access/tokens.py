"""Access tokens: created, listed, revoked and verified; stored only as a keyed hash.

A token is `amcp_` and 32 random bytes from `secrets` (URL-safe base64): the prefix lets a
person, a log scrubber or a secret scanner recognise one, and 256 bits of entropy make
guessing hopeless. The database keeps only HMAC-SHA256(server key, token): a fast hash is
right for a token that random (a slow password hash defends low-entropy secrets against
guessing, and would cost every request tens of milliseconds for nothing here), and the key
(a one-row table, generated once) means a copy of the tokens table alone cannot even be
checked against a candidate. A lookup finds the row by its hash, and the hashes are then
compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta

import asyncpg

from article_mcp.access.principals import Principal, Scope
from article_mcp.db.pool import Connection
from article_mcp.db.rows import Frozen
from article_mcp.db.sql import Queries
from article_mcp.errors import ConflictError, InvalidInputError, NotFoundError, TokenRefusedError

QUERIES = Queries("article_mcp.access", "tokens.sql")

PREFIX = "amcp_"
KEY_BYTES = 32
TOKEN_BYTES = 32
NAME_RULE = "1 to 64 letters, digits and . _ @ -, starting with a letter or digit"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
_EXPIRY = re.compile(r"(?P<count>[0-9]{1,6})(?P<unit>[mhdw])")
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
MAX_EXPIRY = timedelta(days=3660)


class TokenInfo(Frozen):
    """A token as `tokens list` shows it: never the token, never its hash."""

    name: str
    scope: Scope
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None


class NewToken(Frozen):
    """A token just created: the only time the token itself is seen."""

    token: str
    info: TokenInfo


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise InvalidInputError("name", f"must be {NAME_RULE} (got {name!r})")
    return name


def parse_expiry(text: str, field: str = "expires") -> timedelta:
    """`30d`, `12h`, `45m`, `2w` as a duration; anything else names `field` and the rule."""
    match = _EXPIRY.fullmatch(text.strip())
    duration = None if match is None else int(match["count"]) * _UNITS[match["unit"]]
    if duration is None or not timedelta(0) < duration <= MAX_EXPIRY:
        raise InvalidInputError(
            field, f"must be a number and a unit, m h d or w (like 30d or 12h), up to 10 years (got {text!r})"
        )
    return duration


def token_hash(key: bytes, token: str) -> bytes:
    """What the database keeps of a token."""
    return hmac.new(key, token.encode(), hashlib.sha256).digest()


async def hmac_key(conn: Connection) -> bytes:
    """The server's HMAC key, generated at first use (the first process to write it wins)."""
    await conn.execute(QUERIES["insert_key"], secrets.token_bytes(KEY_BYTES))
    key: bytes = await conn.fetchval(QUERIES["select_key"])
    return key


async def create_token(
    conn: Connection, name: str, scope: Scope, expires_in: timedelta | None = None
) -> NewToken:
    """A new token; `ConflictError` if a live token already has the name."""
    token = PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    digest = token_hash(await hmac_key(conn), token)
    try:
        row = await conn.fetchrow(QUERIES["insert_token"], check_name(name), scope.value, digest, expires_in)
    except asyncpg.UniqueViolationError as exc:  # access_tokens_live_name
        taken = f"name: a token named {name!r} exists; revoke it first, or pick another name"
        raise ConflictError(taken) from exc
    assert row is not None  # an INSERT ... RETURNING
    return NewToken(token=token, info=TokenInfo.model_validate(dict(row)))


async def list_tokens(conn: Connection) -> list[TokenInfo]:
    return [TokenInfo.model_validate(dict(row)) for row in await conn.fetch(QUERIES["list_tokens"])]


async def revoke_token(conn: Connection, name: str) -> TokenInfo:
    """Revoke the live token with this name; `NotFoundError` if there is none."""
    row = await conn.fetchrow(QUERIES["revoke_token"], name)
    if row is None:
        raise NotFoundError(f"name: no live token named {name!r} (see `article-mcp tokens list`)")
    return TokenInfo.model_validate(dict(row))


async def verify_token(conn: Connection, key: bytes, token: str) -> Principal | None:
    """The principal a live token stands for; None for a token that is not one of ours.

    A token we issued that is revoked or expired raises `TokenRefusedError` with its name.
    """
    if not token.startswith(PREFIX):
        return None
    digest = token_hash(key, token)
    row = await conn.fetchrow(QUERIES["find_token"], digest)
    if row is None or not hmac.compare_digest(row["token_hash"], digest):
        return None
    if row["revoked"]:
        raise TokenRefusedError(row["name"], "revoked")
    if row["expired"]:
        raise TokenRefusedError(row["name"], "expired")
    return Principal(row["name"], Scope(row["scope"]))


async def any_live_token(conn: Connection) -> bool:
    """Whether some token could authenticate a request now."""
    live: bool = await conn.fetchval(QUERIES["any_live_token"])
    return live
