"""RFC 9457 problem details: every REST failure answers `application/problem+json`.

One table (`STATUS_OF`) maps the service layer's errors (errors.py) to statuses, so each
rule keeps its own message (`describe(exc)`, the MCP tools' text) and gets one status.
`ProblemDetails` rewrites the refusals of the layers around the REST app (authentication,
rate limit, body size, Host check), which speak plain JSON or text, into problems too.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from article_mcp.errors import (
    ArticleMcpError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    ProviderError,
    RateLimitedError,
    UnavailableError,
    VersionConflictError,
    describe,
)
from article_mcp.server.app import validation_rules

PROBLEM_JSON = "application/problem+json"
# A problem whose status says it all; RFC 9457 then wants the status phrase as its title.
BLANK = "about:blank"
_TYPE = "tag:article-mcp,2026:problem:"
INVALID_INPUT = _TYPE + "invalid-input"


class FieldRule(BaseModel):
    """One rule a request broke."""

    field: str = Field(description="Where: a body field, a query parameter or a header.")
    rule: str = Field(description="The rule it broke, for a person.")


class Problem(BaseModel):
    """An RFC 9457 problem details document."""

    type: str = Field(default=BLANK, description="The kind of problem (a URI; about:blank: see status).")
    title: str = Field(description="The kind of problem, for a person.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="What went wrong this time, for a person (the MCP tools' message).")
    errors: list[FieldRule] | None = Field(
        default=None, description="400 and 422: each field and the rule it broke."
    )
    current_version: int | None = Field(default=None, description="412: the article's version now.")


class ProblemError(Exception):
    """Raised by a handler: answer with this problem (and these headers)."""

    def __init__(self, problem: Problem, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(problem.detail)
        self.problem = problem
        self.headers = dict(headers or {})


def problem(status: int, detail: str, *, type: str = BLANK, **extra: Any) -> Problem:
    """A problem with the status phrase as its title (or the kind's name, for our types)."""
    title = (
        HTTPStatus(status).phrase
        if type == BLANK
        else type.removeprefix(_TYPE).replace("-", " ").capitalize()
    )
    return Problem(type=type, title=title, status=status, detail=detail, **extra)


def problem_response(found: Problem, headers: Mapping[str, str] | None = None) -> JSONResponse:
    body = found.model_dump(exclude_none=True)
    return JSONResponse(body, status_code=found.status, headers=dict(headers or {}), media_type=PROBLEM_JSON)


# The service layer's errors, most specific first: (class, status, problem type).
STATUS_OF: Sequence[tuple[type[ArticleMcpError], int, str]] = (
    (VersionConflictError, 412, _TYPE + "version-conflict"),
    # The request matches the schema, but a rule the schema cannot say refused it.
    (InvalidInputError, 422, INVALID_INPUT),
    (NotFoundError, 404, BLANK),
    (ConflictError, 409, _TYPE + "conflict"),
    (RateLimitedError, 503, _TYPE + "provider-rate-limited"),
    (UnavailableError, 503, BLANK),
    (ProviderError, 502, _TYPE + "provider-error"),
    (ArticleMcpError, 500, BLANK),
)


def from_error(exc: ArticleMcpError) -> tuple[Problem, dict[str, str]]:
    """The problem (and headers) answering a service error."""
    status, kind = next((s, k) for cls, s, k in STATUS_OF if isinstance(exc, cls))
    extra: dict[str, Any] = {}
    headers: dict[str, str] = {}
    if isinstance(exc, InvalidInputError):
        extra["errors"] = [FieldRule(field=exc.field, rule=exc.rule)]
    if isinstance(exc, VersionConflictError):
        extra["current_version"] = exc.current
        headers["ETag"] = f'"{exc.current}"'
    if isinstance(exc, RateLimitedError) and exc.retry_after is not None:
        headers["Retry-After"] = str(math.ceil(exc.retry_after))
    return problem(status, describe(exc), type=kind, **extra), headers


def from_validation(errors: Iterable[Mapping[str, Any]]) -> Problem:
    """400: the request does not match the API's schema (each field and its rule)."""
    rules = [FieldRule(field=field, rule=rule) for field, rule in validation_rules(errors, skip=1)]
    detail = "invalid input: " + "; ".join(f"{r.field}: {r.rule}" for r in rules)
    return problem(400, detail, type=INVALID_INPUT, errors=rules)


def add_problem_handlers(app: FastAPI, routes: Sequence[APIRoute]) -> None:
    """Every failure a handler meets answers as a problem; a 405 names the methods `routes`
    offer on its path."""

    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ProblemError)
        return problem_response(exc.problem, exc.headers)

    async def on_service_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ArticleMcpError)
        return problem_response(*from_error(exc))

    async def on_invalid_request(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return problem_response(from_validation(exc.errors()))

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # The router names the methods of the first route on the path; a path has several.
            headers["Allow"] = ", ".join(_allowed_methods(routes, request.scope))
        return problem_response(problem(exc.status_code, str(exc.detail)), headers)

    async def on_crash(request: Request, exc: Exception) -> JSONResponse:
        # Starlette logs the traceback after this answer is sent; the client learns nothing more.
        return problem_response(problem(500, "internal error: the server failed; it is logged"))

    app.add_exception_handler(ProblemError, on_problem)
    app.add_exception_handler(ArticleMcpError, on_service_error)
    app.add_exception_handler(RequestValidationError, on_invalid_request)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(Exception, on_crash)


def _allowed_methods(routes: Sequence[APIRoute], scope: Scope) -> list[str]:
    """The methods of every route whose path matches (each route has its own methods)."""
    matching = [route for route in routes if route.matches(scope)[0] is not Match.NONE]
    return sorted({method for route in matching for method in route.methods or ()})


class ProblemDetails:
    """ASGI middleware: a refusal from outside the REST app (401, 413, 421, 429 ...) under
    `prefixes`, in plain JSON or text, becomes a problem with the same status and headers."""

    def __init__(self, app: ASGIApp, prefixes: tuple[str, ...]) -> None:
        self._app = app
        self._prefixes = prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self._prefixes):
            await self._app(scope, receive, send)
            return
        held: list[Message] = []

        async def rewrite(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(raw=list(message["headers"]))
                media = headers.get("content-type", "")
                if message["status"] < 400 or media.startswith(PROBLEM_JSON):
                    await send(message)
                    return
                held.append(message)
                return
            if not held or message["type"] != "http.response.body":
                await send(message)
                return
            held.append(message)
            if not message.get("more_body", False):
                await _send_as_problem(held, send)
                held.clear()

        await self._app(scope, receive, rewrite)


async def _send_as_problem(messages: list[Message], send: Send) -> None:
    start, *parts = messages
    body = b"".join(part.get("body", b"") for part in parts)
    status = start["status"]
    payload = json.dumps(problem(status, _detail(body, status)).model_dump(exclude_none=True)).encode()
    headers = MutableHeaders(raw=list(start["headers"]))
    headers["content-type"] = PROBLEM_JSON
    headers["content-length"] = str(len(payload))
    await send({**start, "headers": headers.raw})
    await send({"type": "http.response.body", "body": payload})


def _detail(body: bytes, status: int) -> str:
    """The message of a refusal's body: its JSON `message`, else its text."""
    text = body.decode("utf-8", "replace").strip()
    try:
        parsed = json.loads(text)
    except ValueError:
        return text or HTTPStatus(status).phrase
    if isinstance(parsed, dict) and isinstance(parsed.get("message"), str):
        return str(parsed["message"])
    return text
