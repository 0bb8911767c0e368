"""The REST API's problem details: one status per service error, and refusals from the layers
in front of the API rewritten into problems with their status and headers."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from article_mcp import errors
from article_mcp.errors import ArticleMcpError, InvalidInputError, RateLimitedError, VersionConflictError
from article_mcp.server.rest.articles import article_url
from article_mcp.server.rest.etags import expected_version
from article_mcp.server.rest.problems import PROBLEM_JSON, STATUS_OF, ProblemDetails, from_error

ERROR_CLASSES = sorted(
    (v for v in vars(errors).values() if isinstance(v, type) and issubclass(v, ArticleMcpError)),
    key=lambda cls: cls.__name__,
)


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_every_service_error_has_a_status_and_no_rule_hides_a_narrower_one(
    cls: type[ArticleMcpError],
) -> None:
    rows = [index for index, (base, _, _) in enumerate(STATUS_OF) if issubclass(cls, base)]
    assert rows, f"{cls.__name__} has no status"
    # The first row that matches is the most specific one listed for it.
    first = STATUS_OF[rows[0]][0]
    assert all(issubclass(first, STATUS_OF[later][0]) for later in rows[1:])


def test_the_problem_carries_what_the_client_acts_on() -> None:
    invalid, _ = from_error(InvalidInputError("folder", "must not contain '..'"))
    assert (invalid.status, invalid.detail) == (422, "invalid input: folder: must not contain '..'")
    assert invalid.errors is not None and (invalid.errors[0].field, invalid.errors[0].rule) == (
        "folder",
        "must not contain '..'",
    )
    stale, headers = from_error(VersionConflictError("expected_version: ...", current=4, expected=2))
    assert (stale.status, stale.current_version, headers) == (412, 4, {"ETag": '"4"'})
    limited, headers = from_error(RateLimitedError("slow down", retry_after=2.2))
    assert (limited.status, headers) == (503, {"Retry-After": "3"})


def guarded(response: Response) -> TestClient:
    async def answer(request: Request) -> Response:
        return response

    app = Starlette(routes=[Route("/api/x", answer), Route("/mcp", answer)])
    return TestClient(ProblemDetails(app, prefixes=("/api",)))


def test_a_refusal_in_front_of_the_api_becomes_a_problem_with_its_headers() -> None:
    refusal = JSONResponse(
        {"error": "unauthorized", "message": "invalid or missing token"},
        status_code=401,
        headers={"WWW-Authenticate": 'Bearer realm="article-mcp"'},
    )
    answer = guarded(refusal).get("/api/x")
    assert answer.status_code == 401
    assert answer.headers["content-type"] == PROBLEM_JSON
    assert answer.headers["www-authenticate"] == 'Bearer realm="article-mcp"'
    assert answer.json() == {
        "type": "about:blank",
        "title": "Unauthorized",
        "status": 401,
        "detail": "invalid or missing token",
    }
    text = guarded(PlainTextResponse("Request body too large", status_code=413)).get("/api/x")
    assert (text.json()["detail"], text.json()["title"]) == (
        "Request body too large",
        "Request Entity Too Large",
    )


def test_other_paths_and_successes_are_left_alone() -> None:
    refusal = PlainTextResponse("nope", status_code=401)
    assert guarded(refusal).get("/mcp").text == "nope"
    assert guarded(PlainTextResponse("fine")).get("/api/x").text == "fine"


@given(st.text(min_size=1, max_size=40))
def test_a_location_is_ascii_and_names_the_slug(slug: str) -> None:
    url = article_url(slug)
    assert url.isascii()
    assert unquote(url.removeprefix("/api/articles/")) == slug


@pytest.mark.parametrize(("header", "version"), [("*", None), ('"3"', 3), ("3", 3), ('"0012"', 12)])
def test_if_match_reads_as_the_expected_version(header: str, version: int | None) -> None:
    assert expected_version(header) == version
