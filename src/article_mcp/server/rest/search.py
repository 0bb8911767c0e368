"""`/api/search`: semantic_search over HTTP, its query parameters the fields of SearchRequest."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from article_mcp.search.models import SearchRequest, SearchResponse
from article_mcp.search.service import SearchService
from article_mcp.server.rest.guards import Reader


def search_router(search: SearchService) -> APIRouter:
    """The search endpoint over this service."""
    router = APIRouter(tags=["search"])

    @router.get(
        "/api/search",
        summary="Find articles by meaning (and words): semantic_search",
        description="Every semantic_search parameter is a query parameter; tags and multi_query repeat.",
    )
    async def semantic_search(request: Annotated[SearchRequest, Query()], _: Reader) -> SearchResponse:
        return await search.search(request)

    return router
