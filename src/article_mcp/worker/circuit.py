"""The provider's circuit, as the workers of one process see it: closed (send) or open (hold).

An outage is not a property of a task. When a batch meets an unreachable provider
(connection refused, timeout, 5xx) the circuit opens: the batch's tasks go back to pending
without spending an attempt, no worker of the process sends anything, and after a backoff
that doubles up to EMBEDDING_BACKOFF_MAX_SECONDS one probe (one small real embed call, by
the pool's probe loop) decides: an answer closes the circuit and the held tasks are due at
once; no answer waits the next, longer backoff.

A 429 opens it too, for the wait the provider asks (clamped between the retry base and
EMBEDDING_RETRY_AFTER_MAX_SECONDS; no usable `Retry-After` means the growing backoff). A wait
longer than the backoff cap is probed at the cap, so a `Retry-After` in 2099 ends as soon as
the provider answers.

Attempts count only against what is wrong with a task itself: a task whose batch tripped the
circuit, and that fails the same way again after a probe got an answer in between, is to
blame (a text that makes the provider fail), so that failure spends an attempt.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime

import anyio
import structlog

from article_mcp.config import Settings
from article_mcp.embeddings.providers.base import EmbeddingProvider
from article_mcp.errors import ProviderUnreachableError, RateLimitedError, describe

log = structlog.get_logger(__name__)

# What a probe embeds: one short text, the smallest real call.
PROBE_TEXT = "article-mcp probe: is the embedding provider answering?"


@dataclass(frozen=True, slots=True)
class Outage:
    """What the heartbeat reports while the provider is unreachable."""

    since: datetime
    error: str


class Circuit:
    """Closed, or open until `probe_at` (time.monotonic()); see the module docstring."""

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.base = settings.embedding_retry_backoff_base / 1000
        self.cap = max(settings.embedding_backoff_max_seconds, self.base)
        self.retry_after_max = settings.embedding_retry_after_max_seconds
        self._clock = clock
        self._rng = rng or random.Random()
        self.is_open = False
        # When the next probe goes, and when a rate limit's wait is over (monotonic seconds).
        self.probe_at = 0.0
        self.hold_until = 0.0
        self.outage: Outage | None = None
        # Trips since the provider last answered: the backoff grows with them.
        self.failures = 0
        self._suspects: frozenset[int] = frozenset()
        self._answered_since_trip = False
        self._opened = anyio.Event()

    def backoff(self) -> float:
        """The next growing wait in seconds: base * 2^failures up to the cap, jittered down by up
        to half so that processes that failed together do not probe together."""
        full = min(self.base * 2.0 ** min(self.failures, 64), self.cap)
        return full * (0.5 + 0.5 * self._rng.random())

    def to_blame(self, task_ids: Collection[int]) -> bool:
        """Whether an outage error of these tasks' batch is their own fault: they tripped the
        circuit before, and the provider has answered a probe since."""
        return self._answered_since_trip and not self._suspects.isdisjoint(task_ids)

    def unreachable(self, error: str, task_ids: Collection[int]) -> float:
        """Open (or keep open) for an outage; the seconds until the probe, which is when the
        batch's tasks are due again."""
        now = self._clock()
        if self.outage is None:
            self.outage = Outage(datetime.now(UTC), error)
        if self.is_open:
            self._suspects |= frozenset(task_ids)
            return max(self.probe_at - now, 0.0)
        self._suspects, self._answered_since_trip = frozenset(task_ids), False
        wait = self.backoff()
        self._open(now + wait, hold_until=now)
        return wait

    def rate_limited(self, retry_after: float | None) -> float:
        """Open for the wait a 429 asks (clamped; the growing backoff without one); its seconds."""
        now = self._clock()
        if retry_after is None:
            wait = self.backoff()
        else:
            wait = min(max(retry_after, self.base), self.retry_after_max)
        hold_until = max(now + wait, self.hold_until if self.is_open else now)
        self._open(min(hold_until, now + self.cap), hold_until=hold_until)
        return hold_until - now

    def needs_probe(self) -> bool:
        """At `probe_at`: whether a call must decide, or the wait asked for is simply over."""
        return self.outage is not None or self.probe_at < self.hold_until

    def probe_failed(self) -> None:
        """The probe got no answer: wait the next, longer backoff."""
        self.probe_at = self._clock() + self.backoff()
        self.failures += 1

    def embedded(self, task_ids: Collection[int]) -> None:
        """A batch of these tasks was embedded: they are no suspects, and while closed the
        backoff starts over. An open circuit stays open until its probe (a batch claimed before
        it opened may finish after): the probe is what makes the held tasks due."""
        self._suspects -= frozenset(task_ids)
        if not self.is_open:
            self.failures = 0

    def answered(self) -> None:
        """The probe got an answer: close, and let the backoff start over."""
        self._answered_since_trip = True
        self.outage = None
        self.failures = 0
        self.wait_over()

    def wait_over(self) -> None:
        """A rate limit's wait is over: close, keeping the backoff (a 429 is no answer)."""
        self.is_open = False
        if self._opened.is_set():
            self._opened = anyio.Event()

    async def wait_opened(self) -> None:
        """Return once the circuit is open."""
        if not self.is_open:
            await self._opened.wait()

    def _open(self, probe_at: float, *, hold_until: float) -> None:
        self.failures += 1
        self.probe_at, self.hold_until = probe_at, hold_until
        self.is_open = True
        self._opened.set()


async def probe(circuit: Circuit, provider: EmbeddingProvider, timeout_ms: int) -> bool:
    """At the probe time: close the circuit if the provider answers (or a rate limit's wait is
    simply over); True when it closed."""
    if not circuit.needs_probe():
        circuit.wait_over()
        return True
    try:
        with anyio.fail_after(timeout_ms / 1000):
            await provider.embed([PROBE_TEXT])
    except (ProviderUnreachableError, TimeoutError) as exc:
        circuit.probe_failed()
        log.info("provider_probe_failed", error=describe(exc), failures=circuit.failures)
        return False
    except RateLimitedError as exc:
        circuit.rate_limited(exc.retry_after)
        return False
    except Exception as exc:
        # It answered, if only to refuse: each task meets that answer on its own merits.
        log.info("provider_probe_answered_with_error", error=describe(exc))
    circuit.answered()
    log.info("provider_answering")
    return True
