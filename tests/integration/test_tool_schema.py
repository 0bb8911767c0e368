"""The semantic_search tool's parameters, as a client lists them, are SearchRequest's fields."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client

from article_mcp.articles.service import ArticleService
from article_mcp.config import Settings
from article_mcp.db.pool import Database
from article_mcp.search.models import SearchRequest
from article_mcp.search.service import SearchService
from article_mcp.server.app import Services, create_server

pytestmark = pytest.mark.anyio


async def listed_input_schema(settings: Settings, db: Database, tool: str) -> dict[str, Any]:
    services = Services(
        settings, db, ArticleService(settings, db, None), SearchService(settings, db, None, None)
    )
    async with Client(create_server(services)) as client:
        listed = {t.name: t for t in (await client.list_tools()).tools}
    return listed[tool].input_schema


async def test_semantic_search_takes_a_search_requests_fields_flat(settings: Settings, db: Database) -> None:
    schema = await listed_input_schema(settings, db, "semantic_search")
    model = SearchRequest.model_json_schema()
    assert "$defs" not in schema and "$defs" not in model  # one level: plain parameters
    assert list(schema["properties"]) == list(SearchRequest.model_fields)
    assert schema["required"] == model["required"] == ["query"]
    for name, field in SearchRequest.model_fields.items():
        expected = dict(model["properties"][name])  # type, bounds, description
        if not field.is_required():  # a default factory's value too, which the model leaves out
            expected["default"] = field.get_default(call_default_factory=True)
        assert schema["properties"][name] == expected, name
