"""Secrets the server hands out and keeps only as a keyed hash (share links; access tokens).

A token is a recognisable prefix and 32 random bytes (256 bits, from `secrets`); the database
keeps only HMAC-SHA256 of it under the database's one key (`access_secret`, made by the
migration from the server's strong random source). A fast keyed hash is right for such a
token, where a slow password hash (bcrypt, argon2) is for secrets people choose: nobody can
guess 256 bits, so slowness would buy nothing but latency on every request, and the key,
kept apart from the hashes, means a leaked copy of the hashes cannot even be checked against
a guess. A token is looked up by its hash, so the lookup's timing depends only on the keyed
hash of what was sent, which says nothing about any stored token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from article_mcp.db.pool import Connection
from article_mcp.db.sql import Queries

QUERIES = Queries("article_mcp.access", "secrets.sql")

TOKEN_BYTES = 32


def new_token(prefix: str) -> str:
    """A fresh random token: `prefix` and 43 URL-safe characters (256 bits)."""
    return prefix + secrets.token_urlsafe(TOKEN_BYTES)


class KeyedHash:
    """HMAC-SHA256 under the database's key, read from it once."""

    def __init__(self) -> None:
        self._key: bytes | None = None

    async def digest(self, conn: Connection, token: str) -> bytes:
        """The stored form of `token`."""
        if self._key is None:
            self._key = bytes(await conn.fetchval(QUERIES["hmac_key"]))
        return hmac.new(self._key, token.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()
