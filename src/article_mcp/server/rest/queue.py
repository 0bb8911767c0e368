"""`/api/queue/status` (the queue_status tool) and `/api/health` (the details /health keeps to
itself: the database, the queue's health and its workers)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from article_mcp import __version__
from article_mcp.db.pool import pooled_connection
from article_mcp.queue.admin import QueueStatus
from article_mcp.queue.health import HealthReport, queue_health
from article_mcp.server.app import Services
from article_mcp.server.rest.guards import Reader
from article_mcp.server.tools import QueueTools

HealthCheck = Callable[[], Awaitable[bool]]


class HealthDetails(BaseModel):
    """How the server is: what /health says, with the reasons."""

    status: Literal["ok", "unavailable"] = Field(description="unavailable: the database does not answer.")
    version: str
    database: bool = Field(description="True when the database answers.")
    queue: HealthReport | None = Field(description="The queue's health (null while the database is down).")


def queue_router(services: Services, health: HealthCheck) -> APIRouter:
    """The queue and health endpoints over these services."""
    router = APIRouter(tags=["queue"])
    queue = QueueTools(services.settings, services.db)

    @router.get("/api/queue/status", summary="The embedding queue at a glance: queue_status")
    async def queue_status(_: Reader) -> QueueStatus:
        return await queue.queue_status()

    @router.get(
        "/api/health",
        summary="Health with details: database, queue, workers",
        response_model=HealthDetails,
        responses={503: {"model": HealthDetails, "description": "The database does not answer."}},
    )
    async def health_details(_: Reader) -> HealthDetails | JSONResponse:
        if not await health():
            down = HealthDetails(status="unavailable", version=__version__, database=False, queue=None)
            return JSONResponse(down.model_dump(mode="json"), status_code=503)
        async with pooled_connection(services.db) as conn:
            report = await queue_health(conn, services.settings)
        return HealthDetails(status="ok", version=__version__, database=True, queue=report)

    return router
