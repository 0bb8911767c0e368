"""The REST API's FastAPI app: its routers, problem details, and the OpenAPI 3.1 document
(`/openapi.json`, generated from the services' pydantic models; `/docs` shows it).

Served by server/http.py beside /mcp, behind the same authentication; requests pass the
Host check and media type guard (guards.py) and the body size limit of /mcp. Add a
router by adding it to `routers`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from mcp.server.transport_security import TransportSecuritySettings
from pydantic.json_schema import models_json_schema

from article_mcp import __version__
from article_mcp.server.app import Services
from article_mcp.server.rest.articles import articles_router
from article_mcp.server.rest.guards import RequestGuard
from article_mcp.server.rest.problems import PROBLEM_JSON, Problem, add_problem_handlers
from article_mcp.server.rest.queue import HealthCheck, queue_router
from article_mcp.server.rest.search import search_router
from article_mcp.server.rest.shares import shares_router
from article_mcp.server.rest.versions import versions_router
from article_mcp.server.share_tools import ShareTools

OPENAPI_PATH = "/openapi.json"
DOCS_PATH = "/docs"

_PROBLEM = {"$ref": "#/components/schemas/Problem"}
# What any endpoint may answer besides its result (all as problem details), and why.
_ANSWERS = {
    400: "The request does not match this API's schema: `errors` names each field and its rule.",
    401: "No valid token: send `Authorization: Bearer <token>`.",
    403: "The token's scope does not allow this (read < write < admin).",
    404: "No such article, version or path.",
    409: "The request conflicts with the current state (a slug is taken).",
    412: "If-Match named a version the article has moved on from; `current_version` says where it is.",
    413: "The body is larger than the server accepts.",
    415: "The body is not JSON.",
    422: "The request matches the schema, but an article rule refused it: `errors` names the field.",
    429: "Too many requests: retry after `Retry-After` seconds.",
    503: "The database (or, for search, the embedding provider) is unavailable now.",
}


def routers(services: Services, health: HealthCheck) -> list[APIRouter]:
    """Every router of the API, over these services."""
    return [
        articles_router(services.articles),
        versions_router(services.articles),
        search_router(services.search),
        queue_router(services, health),
        shares_router(ShareTools(services.db, services.settings.public_url)),
    ]


def create_rest_app(
    services: Services, health: HealthCheck, *, security: TransportSecuritySettings, body_limit: int
) -> FastAPI:
    """The REST API over these services (paths under /api, plus /openapi.json and /docs)."""
    app = FastAPI(
        title="article-mcp REST API",
        version=__version__,
        summary="Markdown articles in folders, searchable by words and by meaning.",
        openapi_url=OPENAPI_PATH,
        docs_url=DOCS_PATH,
        redoc_url=None,
        max_body_size=body_limit,
        # operationId: the handler's name, which is the MCP tool's where there is one.
        generate_unique_id_function=_operation_id,
    )
    responses: dict[int | str, dict[str, Any]] = {
        status: {"description": why, "content": {PROBLEM_JSON: {"schema": _PROBLEM}}}
        for status, why in _ANSWERS.items()
    }
    included = routers(services, health)
    for router in included:
        app.include_router(router, responses=responses)
    add_problem_handlers(
        app, [route for router in included for route in router.routes if isinstance(route, APIRoute)]
    )
    app.openapi = _with_problems_and_bearer(app.openapi)  # type: ignore[method-assign]
    app.add_middleware(RequestGuard, security=security)
    return app


def _operation_id(route: APIRoute) -> str:
    return route.name


def _with_problems_and_bearer(generate: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    """The generated document, plus the Problem schema the error answers refer to and the
    bearer token every endpoint takes."""

    def openapi() -> dict[str, Any]:
        document = generate()
        components = document.setdefault("components", {})
        if "Problem" not in components.get("schemas", {}):
            _, schemas = models_json_schema(
                [(Problem, "serialization")], ref_template="#/components/schemas/{model}"
            )
            components.setdefault("schemas", {}).update(schemas["$defs"])
            components["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
            document["security"] = [{"bearer": []}]
        return document

    return openapi
