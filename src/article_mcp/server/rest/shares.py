"""`/api/articles/{slug}/shares`: public share links, as the share tools make and revoke them."""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict

from article_mcp.server.rest.articles import ARTICLES
from article_mcp.server.rest.guards import Writer, author
from article_mcp.server.share_tools import (
    Expires,
    PinnedVersion,
    ShareId,
    ShareLink,
    ShareRevocation,
    ShareTools,
)
from article_mcp.server.tools import Slug

SHARES = ARTICLES + "/{slug}/shares"


class NewShare(BaseModel):
    """A share link's options: both may be left out (current version, no expiry)."""

    model_config = ConfigDict(extra="forbid")

    expires: Expires = None
    version: PinnedVersion = None


def shares_router(shares: ShareTools) -> APIRouter:
    """The share endpoints over these tools (write scope, like the tools)."""
    router = APIRouter(tags=["shares"])

    @router.post(SHARES, status_code=status.HTTP_201_CREATED, summary="Share an article by a public link")
    async def share_article(slug: Slug, principal: Writer, options: NewShare | None = None) -> ShareLink:
        chosen = options or NewShare()
        return await shares.share(slug, chosen.expires, chosen.version, created_by=author(principal))

    @router.delete(SHARES, summary="Revoke an article's share links (all, or one by id)")
    async def unshare_article(slug: Slug, _: Writer, share_id: ShareId = None) -> ShareRevocation:
        return await shares.unshare_article(slug, share_id)

    return router
