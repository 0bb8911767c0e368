"""`queue health`: healthy, degraded or unhealthy, with the reasons and what to do.

The verdict is the worst of a few checks on the queue status report, each with a documented
threshold (see `HealthThresholds` and the README's Monitor section). The CLI turns it into exit code
0, 1 or 5 so cron jobs and monitors can act on it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from pydantic import Field

from article_mcp.config import Settings
from article_mcp.db.pool import Connection
from article_mcp.db.rows import Frozen
from article_mcp.queue.admin import QueueStatus, queue_status

HealthStatus = Literal["healthy", "degraded", "unhealthy"]
_RANK: dict[HealthStatus, int] = {"healthy": 0, "degraded": 1, "unhealthy": 2}


@dataclass(frozen=True, slots=True)
class HealthThresholds:
    """Where the checks draw their lines."""

    backlog_degraded_seconds: float = 15 * 60
    """The oldest pending task has waited longer than this: degraded."""
    failure_rate_degraded: float = 0.10
    """Share of tasks failed among those finished in the last hour: degraded at or above."""
    failure_rate_unhealthy: float = 0.50
    """... and unhealthy at or above this."""
    failure_rate_min_finished: int = 5
    """Fewer tasks than this finished in the last hour: the rate says nothing yet."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem a check found."""

    status: HealthStatus
    reason: str
    recommendation: str


class HealthReport(Frozen):
    """The verdict, why, and what to do, with the status report it was drawn from."""

    status: HealthStatus
    reasons: list[str] = Field(description="what is wrong, worst first")
    recommendations: list[str] = Field(description="what an operator can do about it")
    queue: QueueStatus


async def queue_health(
    conn: Connection, settings: Settings, thresholds: HealthThresholds | None = None
) -> HealthReport:
    """Judge the queue by its status report."""
    status = await queue_status(conn, settings)
    return judge(status, thresholds or HealthThresholds())


def judge(status: QueueStatus, thresholds: HealthThresholds) -> HealthReport:
    """The verdict on one status report: the worst finding, every reason and recommendation."""
    findings = [finding for check in CHECKS if (finding := check(status, thresholds)) is not None]
    findings.sort(key=lambda f: -_RANK[f.status])
    verdict: HealthStatus = findings[0].status if findings else "healthy"
    return HealthReport(
        status=verdict,
        reasons=[f.reason for f in findings],
        recommendations=list(dict.fromkeys(f.recommendation for f in findings)),
        queue=status,
    )


def _no_worker(status: QueueStatus, _: HealthThresholds) -> Finding | None:
    if status.state != "stopped" or not (status.counts.pending or status.counts.processing):
        return None
    return Finding(
        "unhealthy",
        f"{status.counts.pending} pending tasks and no live worker",
        "start `article-mcp serve` or `article-mcp worker`, then check its log for errors",
    )


def _paused(status: QueueStatus, _: HealthThresholds) -> Finding | None:
    if status.state != "paused" or not status.counts.pending:
        return None
    why = f" ({status.pause_reason})" if status.pause_reason else ""
    return Finding(
        "degraded",
        f"the queue is paused{why} with {status.counts.pending} pending tasks",
        "resume the workers with `article-mcp queue start`",
    )


def _provider_unreachable(status: QueueStatus, _: HealthThresholds) -> Finding | None:
    since = status.provider_unreachable_since
    if since is None:
        return None
    why = f" ({status.provider_error})" if status.provider_error else ""
    return Finding(
        "degraded",
        f"provider unreachable since {since.isoformat(timespec='seconds')}{why}",
        "nothing is lost: tasks wait without spending attempts and resume on their own once the"
        " provider answers a probe; check it with `article-mcp check provider`",
    )


def _token_budget(status: QueueStatus, _: HealthThresholds) -> Finding | None:
    resets_at = status.tokens.budget_resets_at
    if resets_at is None:
        return None
    return Finding(
        "degraded",
        f"the daily token budget (EMBEDDING_DAILY_TOKEN_BUDGET={status.tokens.daily_budget}) is spent:"
        f" the workers call the provider again at {resets_at.isoformat(timespec='seconds')}",
        "nothing is lost: tasks wait and resume on their own at the reset; raise"
        " EMBEDDING_DAILY_TOKEN_BUDGET (and restart the workers) to go on sooner",
    )


def _expired_leases(status: QueueStatus, _: HealthThresholds) -> Finding | None:
    if not status.expired_leases:
        return None
    return Finding(
        "degraded",
        f"{status.expired_leases} processing tasks have expired leases (their worker stopped)",
        "live workers reclaim them on their own; without one, run `article-mcp queue reset-stuck`",
    )


def _backlog(status: QueueStatus, limits: HealthThresholds) -> Finding | None:
    waited = status.oldest_pending_seconds
    if waited is None or waited < limits.backlog_degraded_seconds:
        return None
    return Finding(
        "degraded",
        f"the oldest pending task has waited {waited / 60:.0f} minutes",
        "see `article-mcp queue metrics`; add workers (EMBEDDING_CONCURRENT_WORKERS or more "
        "`article-mcp worker` processes) if the provider keeps up",
    )


def _failure_rate(status: QueueStatus, limits: HealthThresholds) -> Finding | None:
    finished = status.completed_last_hour + status.failed_last_hour
    if finished < limits.failure_rate_min_finished:
        return None
    rate = status.failed_last_hour / finished
    if rate < limits.failure_rate_degraded:
        return None
    level: HealthStatus = "unhealthy" if rate >= limits.failure_rate_unhealthy else "degraded"
    return Finding(
        level,
        f"{rate:.0%} of the tasks finished in the last hour failed ({status.failed_last_hour} of {finished})",
        "read `article-mcp queue failed --details` and `article-mcp check provider`; "
        "once fixed, `article-mcp queue retry --all-failed`",
    )


CHECKS: tuple[Callable[[QueueStatus, HealthThresholds], Finding | None], ...] = (
    _no_worker,
    _paused,
    _provider_unreachable,
    _token_budget,
    _expired_leases,
    _backlog,
    _failure_rate,
)
