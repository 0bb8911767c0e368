"""Public share links: a random token in a URL that shows one article read-only, to anyone.

The token is stored only as its keyed hash, as access tokens are (`tokens.py`: the same
HMAC key, and why a fast keyed hash is right). A link shows the article as it is
now, or the version it was pinned to; it stops working when it is revoked, when it expires,
when its pinned version is pruned, and for good when its article is deleted (the rows go
with the article, so restoring the article does not publish it again). Resolving a dead or
unknown link gives None and nothing else: the caller answers 404 alike for all of them.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Literal

from article_mcp.access.tokens import TOKEN_BYTES, hmac_key, token_hash
from article_mcp.db.pool import Connection, Database, pooled_connection
from article_mcp.db.rows import Frozen, fetch_one
from article_mcp.db.sql import Queries
from article_mcp.errors import InvalidInputError, NotFoundError

QUERIES = Queries("article_mcp.access", "shares.sql")

# "article-mcp share": tells a share link's token from an access token at a glance.
TOKEN_PREFIX = "amcs_"  # noqa: S105 - a prefix, not a secret
# Longer than any token this server makes; anything longer is not looked up at all.
TOKEN_MAX_LENGTH = 64
MAX_LISTED = 1000

ShareState = Literal["active", "expired", "revoked"]


class Share(Frozen):
    """A share link as `shares list` and the tools show it (never its token)."""

    id: int
    slug: str
    version: int | None
    expires_at: datetime | None
    created_at: datetime
    created_by: str | None
    revoked_at: datetime | None
    state: ShareState


class SharedArticle(Frozen):
    """What a live link shows."""

    slug: str
    title: str
    content: str
    version: int


async def create(
    conn: Connection,
    key: bytes,
    slug: str,
    *,
    lifetime: timedelta | None = None,
    version: int | None = None,
    created_by: str | None = None,
) -> tuple[Share, str]:
    """A new link to the live article `slug` (pinned to `version` if given), and its token,
    which exists nowhere else: the caller hands it out once."""
    if version is not None and version < 1:
        raise InvalidInputError("version", "must be a version number, 1 or more")
    target = await conn.fetchrow(QUERIES["share_target"], slug, version)
    if target is None:
        raise NotFoundError(f"slug: no article has the slug {slug!r}")
    if not target["version_kept"]:
        raise NotFoundError(
            f"version: article {slug!r} has no version {version} (list_versions shows those kept)"
        )
    token = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    row = await fetch_one(
        conn, QUERIES["insert_share"], token_hash(key, token), target["id"], version, lifetime, created_by
    )
    return Share.model_validate({**dict(row), "slug": target["slug"]}), token


async def list_shares(
    conn: Connection, *, slug: str | None = None, include_dead: bool = False, limit: int = 100
) -> list[Share]:
    """Links, newest first: of one article or of all, live ones only unless `include_dead`."""
    if not 1 <= limit <= MAX_LISTED:
        raise InvalidInputError("limit", f"must be 1 to {MAX_LISTED}")
    rows = await conn.fetch(QUERIES["list_shares"], slug, include_dead, limit)
    return [Share.model_validate(dict(row)) for row in rows]


async def revoke(conn: Connection, *, slug: str | None = None, share_id: int | None = None) -> list[int]:
    """Revoke one link (`share_id`), or every link of the article `slug`; the ids revoked."""
    if slug is None and share_id is None:
        raise InvalidInputError("share_id", "name a link, or an article whose links to revoke")
    rows = await conn.fetch(QUERIES["revoke_shares"], slug, share_id)
    return sorted(row["id"] for row in rows)


async def resolve(conn: Connection, key: bytes, token: str) -> SharedArticle | None:
    """What the link with this token shows; None for a token that is not a live link. The
    look-up is by the keyed hash, so its timing says nothing about any stored token."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > TOKEN_MAX_LENGTH:
        return None
    row = await conn.fetchrow(QUERIES["resolve_share"], token_hash(key, token))
    return None if row is None else SharedArticle.model_validate(dict(row))


class ShareLinks:
    """Making and resolving links on one database for the server, its HMAC key read once."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._key: bytes | None = None

    async def create(
        self, slug: str, *, lifetime: timedelta | None, version: int | None, created_by: str | None
    ) -> tuple[Share, str]:
        async with pooled_connection(self._db) as conn:
            key = await self._server_key(conn)
            return await create(conn, key, slug, lifetime=lifetime, version=version, created_by=created_by)

    async def resolve(self, token: str) -> SharedArticle | None:
        async with pooled_connection(self._db) as conn:
            return await resolve(conn, await self._server_key(conn), token)

    async def revoke(self, slug: str, share_id: int | None) -> list[int]:
        async with pooled_connection(self._db) as conn:
            return await revoke(conn, slug=slug, share_id=share_id)

    async def _server_key(self, conn: Connection) -> bytes:
        if self._key is None:
            self._key = await hmac_key(conn)
        return self._key
