"""Public share links: a random token in a URL that shows one article read-only, to anyone.

The token is stored only as its keyed hash (`secrets.py`). A link shows the article as it is
now, or the version it was pinned to; it stops working when it is revoked, when it expires,
when its pinned version is pruned, and for good when its article is deleted (the rows go
with the article, so restoring the article does not publish it again). Resolving a dead or
unknown link gives None and nothing else: the caller answers 404 alike for all of them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from article_mcp.access.secrets import KeyedHash, new_token
from article_mcp.db.pool import Connection
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
    hasher: KeyedHash,
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
    token = new_token(TOKEN_PREFIX)
    digest = await hasher.digest(conn, token)
    row = await fetch_one(conn, QUERIES["insert_share"], digest, target["id"], version, lifetime, created_by)
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


async def resolve(conn: Connection, hasher: KeyedHash, token: str) -> SharedArticle | None:
    """What the link with this token shows; None for a token that is not a live link."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > TOKEN_MAX_LENGTH:
        return None
    row = await conn.fetchrow(QUERIES["resolve_share"], await hasher.digest(conn, token))
    return None if row is None else SharedArticle.model_validate(dict(row))
