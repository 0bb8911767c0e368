"""The provider's circuit on a clock the test moves: backoffs that grow to the cap, Retry-After
clamped at both ends, probes that end a long wait, and blame only for what is a task's own."""

from __future__ import annotations

import random
from collections.abc import Sequence

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from article_mcp.embeddings.providers.base import EmbeddingBatch
from article_mcp.errors import PermanentProviderError, ProviderUnreachableError, RateLimitedError
from article_mcp.worker.circuit import Circuit, probe
from tests.conftest import make_settings

BASE_MS = 1000
CAP = 300.0
RETRY_AFTER_MAX = 3600.0


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def circuit(clock: Clock | None = None, seed: int = 0) -> Circuit:
    settings = make_settings(
        embedding_retry_backoff_base=BASE_MS,
        embedding_backoff_max_seconds=CAP,
        embedding_retry_after_max_seconds=RETRY_AFTER_MAX,
    )
    return Circuit(settings, clock=clock or Clock(), rng=random.Random(seed))


def test_an_outage_opens_it_and_each_failed_probe_waits_longer_up_to_minutes() -> None:
    clock = Clock()
    c = circuit(clock)
    first = c.unreachable("cannot reach Ollama", [1, 2])
    assert c.is_open and c.outage is not None and c.outage.error == "cannot reach Ollama"
    assert 0.5 <= first <= 1.0 and c.needs_probe()
    waits = []
    for _ in range(15):
        clock.now = c.probe_at
        c.probe_failed()
        waits.append(c.probe_at - clock.now)
    # Full backoff doubles (jittered down by at most half), then stays at the cap: minutes.
    for n, wait in enumerate(waits, start=1):
        full = min(2.0**n, CAP)
        assert full / 2 <= wait <= full
    assert max(waits) > 60
    c.answered()
    assert not c.is_open and c.outage is None and c.failures == 0


def test_a_second_batch_failing_while_open_waits_for_the_same_probe() -> None:
    clock = Clock()
    c = circuit(clock)
    c.unreachable("down", [1])
    clock.now += 0.25
    assert c.unreachable("down", [2]) == pytest.approx(c.probe_at - clock.now)
    assert c.failures == 1


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [
        (0.0, BASE_MS / 1000),  # "now" still waits the smallest wait
        (7.0, 7.0),
        (999_999.0, RETRY_AFTER_MAX),
        (2.3e9, RETRY_AFTER_MAX),  # a date in 2099
    ],
)
def test_retry_after_is_clamped_to_a_sane_range(retry_after: float, expected: float) -> None:
    clock = Clock()
    c = circuit(clock)
    assert c.rate_limited(retry_after) == pytest.approx(expected)
    # A wait longer than the cap is probed at the cap: the probe may end it early.
    assert c.probe_at - clock.now == pytest.approx(min(expected, CAP))
    assert c.needs_probe() is (expected > CAP)
    assert c.outage is None  # rate limited is not unreachable


def test_no_usable_retry_after_backs_off_more_each_time() -> None:
    clock = Clock()
    c = circuit(clock)
    waits = []
    for _ in range(6):
        waits.append(c.rate_limited(None))
        clock.now = c.probe_at
        assert not c.needs_probe()  # the wait is simply served, then work resumes
        c.wait_over()
    assert [w >= 2.0 ** (n - 1) for n, w in enumerate(waits)] == [True] * 6
    assert waits[-1] > 8 * waits[0] / 2


@given(st.lists(st.one_of(st.none(), st.floats(min_value=0, max_value=1e12)), min_size=1, max_size=20))
def test_every_rate_limit_wait_is_within_the_bounds(retry_afters: Sequence[float | None]) -> None:
    clock = Clock()
    c = circuit(clock)
    for retry_after in retry_afters:
        wait = c.rate_limited(retry_after)
        assert BASE_MS / 2000 <= wait <= RETRY_AFTER_MAX
        assert 0 < c.probe_at - clock.now <= CAP


def test_only_a_task_that_fails_again_after_an_answer_is_to_blame() -> None:
    clock = Clock()
    c = circuit(clock)
    c.unreachable("HTTP 500", [1, 2])
    assert not c.to_blame([1])  # the provider has not answered since: an outage
    c.probe_failed()
    assert not c.to_blame([1])
    c.answered()
    assert c.to_blame([1]) and c.to_blame([2, 3]) and not c.to_blame([3])
    c.embedded([1])  # task 1 embedded after all
    assert not c.to_blame([1]) and c.to_blame([2])


def test_a_batch_embedded_while_open_leaves_the_release_to_the_probe() -> None:
    clock = Clock()
    c = circuit(clock)
    c.rate_limited(2.3e9)
    c.embedded([7])  # claimed before the 429, finished after
    assert c.is_open and c.needs_probe()
    c.answered()
    assert not c.is_open


class Provider:
    """A provider whose one answer the test scripts."""

    name = "fake"
    model = "m"
    max_batch_size = 8

    def __init__(self, error: Exception | None) -> None:
        self.error = error
        self.calls = 0

    async def embed(self, texts: Sequence[str]) -> EmbeddingBatch:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return EmbeddingBatch(vectors=[[1.0] for _ in texts])

    async def aclose(self) -> None:
        pass


@pytest.mark.parametrize(
    ("error", "closes"),
    [
        (None, True),
        (PermanentProviderError("HTTP 401"), True),  # it answers: tasks meet that on their own
        (ProviderUnreachableError("connection refused"), False),
        (RateLimitedError("429", retry_after=30), False),
    ],
)
def test_a_probe_closes_the_circuit_when_the_provider_answers(error: Exception | None, closes: bool) -> None:
    c = circuit()
    c.unreachable("down", [1])
    provider = Provider(error)
    assert anyio.run(probe, c, provider, 1000) is closes
    assert provider.calls == 1 and c.is_open is not closes


def test_a_served_rate_limit_wait_closes_without_a_call() -> None:
    c = circuit()
    c.rate_limited(5.0)
    provider = Provider(None)
    assert anyio.run(probe, c, provider, 1000) is True
    assert provider.calls == 0 and not c.is_open
