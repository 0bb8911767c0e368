"""Failed authentications (issue 14: 300 wrong tokens in a row were neither slowed nor
logged): each is logged without what was sent, and one address is slowed after a few."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from structlog.testing import capture_logs

from article_mcp.server.auth import FREE_FAILURES, MAX_WAIT, AuthTokenVerifier, BearerAuth, FailedAttempts

pytestmark = pytest.mark.anyio

TOKEN = "s3cret-token-with-length"


class Clock:
    """Time that moves only when the test says."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def guarded(clock: Clock) -> httpx.AsyncClient:
    async def hello(request: Request) -> PlainTextResponse:
        return PlainTextResponse("hello")

    app = BearerAuth(
        Starlette(routes=[Route("/mcp", hello, methods=["POST"])]),
        [AuthTokenVerifier(TOKEN)],
        open_paths=frozenset(),
        clock=clock,
    )
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app, client=("203.0.113.9", 5000)), base_url="http://x"
    )


async def test_300_wrong_tokens_are_logged_and_slowed() -> None:
    clock = Clock()
    statuses: list[int] = []
    with capture_logs() as logs:
        async with guarded(clock) as client:
            for n in range(300):
                wrong = f"Bearer wrong-guess-{n:04d}-of-some-length"
                response = await client.post("/mcp", headers={"Authorization": wrong})
                statuses.append(response.status_code)
    # The first few are checked (401); then, the clock standing still, every attempt waits (429).
    assert statuses == [401] * FREE_FAILURES + [429] * (300 - FREE_FAILURES)
    failed = [entry for entry in logs if entry["event"] == "auth_failed"]
    assert [entry["failures"] for entry in failed] == list(range(1, FREE_FAILURES + 1))
    assert all(entry["log_level"] == "warning" and entry["client"] == "203.0.113.9" for entry in failed)
    assert {entry["reason"] for entry in failed} == {"wrong token"}
    assert not any("wrong-guess" in str(entry) or TOKEN in str(entry) for entry in logs)


async def test_the_wait_doubles_up_to_its_cap_and_a_success_forgets_the_failures() -> None:
    clock = Clock()
    async with guarded(clock) as client:
        waits: list[int] = []
        checked = 0
        while checked < FREE_FAILURES + 8:
            response = await client.post("/mcp", headers={"Authorization": "Bearer nope"})
            if response.status_code == 429:
                waits.append(int(response.headers["retry-after"]))
                assert "retry after" in response.json()["message"]
                # Even the right token waits its turn: nothing is checked during the wait.
                right = await client.post("/mcp", headers={"Authorization": f"Bearer {TOKEN}"})
                assert right.status_code == 429
                clock.now += waits[-1]
            else:
                assert response.status_code == 401
                checked += 1
        assert waits == [1, 2, 4, 8, 16, 32, 60, 60]
        clock.now += 60
        ok = await client.post("/mcp", headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.text == "hello"
        # Forgotten: the next failures start over.
        assert [
            (await client.post("/mcp", headers={"Authorization": "Bearer nope"})).status_code
            for _ in range(FREE_FAILURES)
        ] == [401] * FREE_FAILURES


def test_addresses_are_counted_apart_and_forgotten_after_a_quiet_while() -> None:
    clock = Clock()
    attempts = FailedAttempts(clock)
    for _ in range(FREE_FAILURES):
        attempts.failed("198.51.100.1")
    assert attempts.wait_left("198.51.100.1") == 1.0
    assert attempts.wait_left("198.51.100.2") == 0.0
    clock.now += 3600
    assert attempts.wait_left("198.51.100.1") == 0.0
    assert attempts.failed("198.51.100.1") == 1
    assert MAX_WAIT == 60.0
