"""The share tools: a public, read-only link to an article (`share_article`), and taking links
back (`unshare_article`). The page behind a link is `share_page`'s."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from mcp.server.mcpserver import Context
from pydantic import Field

from article_mcp.access.shares import ShareLinks
from article_mcp.access.tokens import parse_expiry
from article_mcp.articles.rules import MAX_BIGINT, MAX_VERSION
from article_mcp.db.pool import Database
from article_mcp.db.rows import Frozen
from article_mcp.server.share_page import share_url
from article_mcp.server.tools import Slug, author

Expires = Annotated[
    str | None,
    Field(
        max_length=16,
        description="How long the link works: a number and a unit, m h d or w (30m, 12h, 7d, 2w), up "
        "to 10 years. Omit for a link that works until unshared.",
    ),
]
PinnedVersion = Annotated[
    int | None,
    Field(
        ge=1,
        # The versions column's bound (an integer), not a bigint's: past it the database refuses.
        le=MAX_VERSION,
        description="Show this version of the article (list_versions) for good; omit to show the "
        "current version, whatever it is when the link is opened.",
    ),
]
ShareId = Annotated[
    int | None,
    Field(ge=1, le=MAX_BIGINT, description="Revoke only this link (share_article's id); omit: all of them."),
]


class ShareLink(Frozen):
    """A new share link. The URL is shown once: the server keeps only a hash of it."""

    id: int
    url: str
    slug: str
    version: int | None
    expires_at: datetime | None


class ShareRevocation(Frozen):
    """The links revoked: each answers 404 from now on."""

    slug: str
    revoked: list[int]


class ShareTools:
    """share_article and unshare_article, over the database's share links."""

    def __init__(self, db: Database, public_url: str) -> None:
        self._links = ShareLinks(db)
        self._public_url = public_url

    async def share_article(
        self,
        slug: Slug,
        expires: Expires = None,
        version: PinnedVersion = None,
        *,
        ctx: Context[Any, Any],
    ) -> ShareLink:
        """Make a public, read-only link to an article: anyone with the URL can read it, as a web
        page or (adding ?format=md) as markdown, without signing in.

        Returns the URL once (keep it: it cannot be shown again). Revoke it with
        unshare_article; deleting the article ends it too.
        """
        return await self.share(slug, expires, version, created_by=author(ctx))

    async def share(
        self, slug: str, expires: str | None, version: int | None, *, created_by: str | None
    ) -> ShareLink:
        """A new link to the article, for `share_article` and the REST endpoint alike."""
        lifetime = None if expires is None else parse_expiry(expires)
        share, token = await self._links.create(
            slug, lifetime=lifetime, version=version, created_by=created_by
        )
        return ShareLink(
            id=share.id,
            url=share_url(self._public_url, token),
            slug=share.slug,
            version=share.version,
            expires_at=share.expires_at,
        )

    async def unshare_article(self, slug: Slug, share_id: ShareId = None) -> ShareRevocation:
        """Revoke an article's share links (all of them, or the one with share_id): they answer
        404 from then on."""
        return ShareRevocation(slug=slug, revoked=await self._links.revoke(slug, share_id))
