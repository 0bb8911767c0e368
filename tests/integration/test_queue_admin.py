"""Queue reports and operator actions against the real database, in the states that matter:
empty, busy, stuck and failed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from article_mcp.config import Settings
from article_mcp.db.pool import Database
from article_mcp.errors import ConflictError, NotFoundError
from article_mcp.queue import tasks as queue
from article_mcp.queue.admin import (
    clear_pending,
    queue_status,
    reset_stuck,
    retry_failed,
    retry_task,
    set_paused,
    stuck_tasks,
)
from article_mcp.queue.health import HealthThresholds, judge, queue_health
from article_mcp.queue.reports import (
    failed_tasks,
    inspect_task,
    queue_metrics,
    queue_stats,
    recent_tasks,
)
from article_mcp.queue.tasks import LeasedTask
from tests.conftest import make_settings
from tests.support.queue_states import add_article, add_model, add_task, add_worker

pytestmark = pytest.mark.anyio


async def task_row(db: Database, task_id: int) -> dict[str, object]:
    row = await db.pool.fetchrow("SELECT * FROM embedding_tasks WHERE id = $1", task_id)
    assert row is not None
    return dict(row)


async def test_empty_queue_reports_zeros_and_is_healthy(db: Database, settings: Settings) -> None:
    async with db.pool.acquire() as conn:
        status = await queue_status(conn, settings)
        health = await queue_health(conn, settings)
        stats = await queue_stats(conn)
        metrics = await queue_metrics(conn, hours=24)
        failures = await failed_tasks(conn, details=10)
        recent = await recent_tasks(conn, limit=10)
    assert status.state == "stopped"
    assert status.counts.model_dump() == dict.fromkeys(
        ("pending", "processing", "completed", "failed", "cancelled"), 0
    )
    assert status.oldest_pending_seconds is None and status.workers == []
    assert health.status == "healthy" and health.reasons == []
    assert len(stats.hourly) == 24 and all(h.created == 0 for h in stats.hourly)
    assert metrics.completed == 0 and metrics.error_rate is None and metrics.processing_seconds_p50 is None
    assert failures.groups == [] and failures.tasks == [] and recent == []


async def test_busy_queue_counts_by_status_priority_and_workers(db: Database, settings: Settings) -> None:
    async with db.pool.acquire() as conn:
        model = await add_model(conn)
        articles = [await add_article(conn, f"a{i}") for i in range(5)]
        await add_task(conn, articles[0], model, priority="high", age=timedelta(minutes=3))
        await add_task(conn, articles[1], model, priority="low")
        await add_task(conn, articles[2], model, "processing")
        await add_task(conn, articles[3], model, "completed", age=timedelta(minutes=10))
        await add_task(conn, articles[4], model, "completed", age=timedelta(hours=3))
        await add_worker(conn, "w-alive", "busy")
        await add_worker(conn, "w-dead", "busy", silent_for=timedelta(minutes=20))
        await add_worker(conn, "w-gone", "stopped", silent_for=timedelta(days=2))
        status = await queue_status(conn, settings)
        health = await queue_health(conn, settings)
    assert status.state == "running"
    assert (status.counts.pending, status.counts.processing, status.counts.completed) == (2, 1, 2)
    assert (
        status.pending_by_priority.high,
        status.pending_by_priority.normal,
        status.pending_by_priority.low,
    ) == (
        1,
        0,
        1,
    )
    assert status.oldest_pending_seconds is not None and 170 < status.oldest_pending_seconds < 3600
    assert status.completed_last_hour == 1
    assert [(w.worker_id, w.alive) for w in status.workers] == [("w-alive", True), ("w-dead", False)]
    assert status.workers_alive == 1
    assert health.status == "healthy"


async def test_pending_work_without_a_live_worker_is_unhealthy(db: Database, settings: Settings) -> None:
    async with db.pool.acquire() as conn:
        model = await add_model(conn)
        await add_task(conn, await add_article(conn, "a"), model)
        await add_worker(conn, "w-dead", "busy", silent_for=timedelta(hours=1))
        health = await queue_health(conn, settings)
    assert health.status == "unhealthy"
    assert health.reasons == ["1 pending tasks and no live worker"]
    assert "article-mcp worker" in health.recommendations[0]


async def test_pause_and_resume_set_the_state_every_worker_reads(db: Database, settings: Settings) -> None:
    async with db.pool.acquire() as conn:
        model = await add_model(conn)
        await add_task(conn, await add_article(conn, "a"), model)
        await add_worker(conn, "w", "paused")
        paused = await set_paused(conn, paused=True, reason="provider maintenance")
        status = await queue_status(conn, settings)
        health = await queue_health(conn, settings)
        resumed = await set_paused(conn, paused=False, reason=None)
        after = await queue_status(conn, settings)
    assert paused.paused and status.state == "paused" and status.pause_reason == "provider maintenance"
    assert health.status == "degraded" and "paused (provider maintenance)" in health.reasons[0]
    assert not resumed.paused and after.state == "running" and after.paused_since is None


async def test_settings_that_turn_the_queue_off_are_reported(db: Database) -> None:
    async with db.pool.acquire() as conn:
        sync = await queue_status(conn, make_settings(db.dsn, embedding_queue_enabled=False))
        off = await queue_status(conn, make_settings(db.dsn, semantic_search_enabled=False))
    assert (sync.state, off.state) == ("synchronous", "disabled")


async def test_stuck_tasks_are_listed_and_reset(db: Database, settings: Settings) -> None:
    async with db.pool.acquire() as conn:
        model = await add_model(conn)
        a, b, c, d = [await add_article(conn, slug) for slug in "abcd"]
        now = await conn.fetchval("SELECT now()")
        expired = await add_task(conn, a, model, "processing", attempts=1, lease_expires_at=now)
        spent = await add_task(conn, d, model, "processing", attempts=3, lease_expires_at=now)
        overdue = await add_task(conn, b, model, "processing", attempts=1, age=timedelta(hours=2))
        fresh = await add_task(conn, c, model, "processing")
        # b also has a pending task (an update arrived mid-embedding): the stuck one merges into it.
        pending_b = await add_task(conn, b, model, priority="low")
        orphan = await add_task(conn, None, model, "processing", age=timedelta(hours=2))
        await add_worker(conn, "w")
        listed = await stuck_tasks(conn, older_than_minutes=30)
        health = await queue_health(conn, settings)
        result = await reset_stuck(conn, older_than_minutes=30)
        again = await reset_stuck(conn, older_than_minutes=30)
    assert {t.task_id for t in listed} == {expired, spent, overdue, orphan}
    assert {t.task_id for t in listed if t.lease_expired} == {expired, spent}
    assert health.status == "degraded" and "2 processing tasks have expired leases" in health.reasons[0]
    assert (result.requeued, result.merged, result.failed, result.cancelled) == (1, 1, 1, 1)
    row = await task_row(db, expired)
    assert (row["status"], row["lease_owner"], row["attempts"]) == ("pending", None, 1)
    assert (await task_row(db, spent))["status"] == "failed"
    assert (await task_row(db, overdue))["status"] == "cancelled"
    merged_into = await task_row(db, pending_b)
    assert merged_into["status"] == "pending" and merged_into["priority"] == "normal"
    assert (await task_row(db, orphan))["status"] == "cancelled"
    assert (await task_row(db, fresh))["status"] == "processing"
    assert again == type(again)(requeued=0, merged=0, failed=0, cancelled=0)


async def test_an_overdue_task_is_released_without_spending_an_attempt(db: Database) -> None:
    async with db.pool.acquire() as conn:
        model = await add_model(conn)
        task = await add_task(
            conn, await add_article(conn, "a"), model, "processing", attempts=3, age=timedelta(hours=1)
        )
        assert (await reset_stuck(conn, older_than_minutes=90)).requeued == 0
        result = await reset_stuck(conn, older_than_minutes=30)
    assert result.requeued == 1
    row = await task_row(db, task)
    assert (row["status"], row["attempts"]) == ("pending", 2)


async def test_retry_requeues_tasks_that_exhausted_their_attempts(db: Database) -> None:
    async with db.pool.acquire() as conn:
        model = await add_model(conn)
        a, b, gone_article = [await add_article(conn, slug) for slug in "abg"]
        no_rag = await add_article(conn, "n", no_rag=True)
        failed_a = await add_task(
            conn, a, model, "failed", attempts=3, error_kind="transient", error_message="timeout"
        )
        failed_b = await add_task(
            conn, b, model, "failed", attempts=3, error_kind="permanent", error_message="401"
        )
        pending_b = await add_task(conn, b, model, priority="low")
        failed_n = await add_task(conn, no_rag, model, "failed", attempts=3)
        failed_gone = await add_task(conn, gone_article, model, "failed", attempts=3)
        await conn.execute("DELETE FROM articles WHERE id = $1", gone_article)
        one = await retry_task(conn, failed_a)
        rest = await retry_failed(conn)
    assert one.pending_ids == [failed_a]
    row = await task_row(db, failed_a)
    assert (row["status"], row["attempts"], row["error_message"], row["source"]) == (
        "pending",
        0,
        None,
        "retry",
    )
    assert rest.pending_ids == [pending_b] and rest.merged == 1
    assert (await task_row(db, pending_b))["priority"] == "normal"
    assert (await task_row(db, failed_b))["status"] == "cancelled"
    assert (await task_row(db, failed_n))["status"] == "failed"
    assert (await task_row(db, failed_gone))["status"] == "failed"


async def test_retry_refuses_what_it_cannot_requeue(db: Database) -> None:
    async with db.pool.acquire() as conn:
        model = await add_model(conn)
        pending = await add_task(conn, await add_article(conn, "a"), model)
        orphan = await add_task(conn, None, model, "failed")
        with pytest.raises(NotFoundError, match="task 999 does not exist"):
            await retry_task(conn, 999)
        with pytest.raises(ConflictError, match="is pending"):
            await retry_task(conn, pending)
        with pytest.raises(ConflictError, match="deleted article"):
            await retry_task(conn, orphan)


async def test_clear_cancels_only_pending_tasks(db: Database) -> None:
    async with db.pool.acquire() as conn:
        model = await add_model(conn)
        pending = [await add_task(conn, await add_article(conn, f"p{i}"), model) for i in range(3)]
        running = await add_task(conn, await add_article(conn, "r"), model, "processing")
        assert await clear_pending(conn) == 3
        assert await clear_pending(conn) == 0
    assert {(await task_row(db, t))["status"] for t in pending} == {"cancelled"}
    assert (await task_row(db, running))["status"] == "processing"


async def test_failures_are_grouped_by_error_and_rate_drives_health(db: Database, settings: Settings) -> None:
    async with db.pool.acquire() as conn:
        model = await add_model(conn)
        article = await add_article(conn, "a")
        for _ in range(3):
            await add_task(
                conn, article, model, "failed", error_kind="permanent", error_message="HTTP 401: bad key"
            )
        await add_task(conn, article, model, "failed", error_kind="transient", error_message="timed out")
        for _ in range(2):
            await add_task(conn, article, model, "completed")
        await add_worker(conn, "w")
        report = await failed_tasks(conn, details=2)
        health = await queue_health(conn, settings)
        metrics = await queue_metrics(conn, hours=1)
    assert [(g.error_message, g.tasks) for g in report.groups] == [("HTTP 401: bad key", 3), ("timed out", 1)]
    assert len(report.tasks) == 2
    assert health.status == "unhealthy" and "67% of the tasks" in health.reasons[0]
    assert metrics.completed == 2 and metrics.failed == 4 and metrics.error_rate == pytest.approx(4 / 6)


async def test_inspect_shows_the_task_and_its_audit_log(db: Database) -> None:
    async with db.pool.acquire() as conn:
        model = await add_model(conn)
        task = await add_task(conn, await add_article(conn, "a"), model, "failed", error_message="boom")
        await conn.execute(
            "INSERT INTO embedding_audit_logs (level, category, event, message, task_id)"
            " VALUES ('info', 'task', 'claimed', 'claimed by w', $1),"
            " ('error', 'task', 'failed', 'boom', $1)",
            task,
        )
        detail = await inspect_task(conn, task)
        with pytest.raises(NotFoundError):
            await inspect_task(conn, task + 1)
    assert detail.slug == "a" and detail.status == "failed" and detail.model == "local/all-MiniLM-L6-v2"
    assert [e.event for e in detail.audit] == ["claimed", "failed"]


async def test_inspect_finds_the_batch_row_of_a_completion(db: Database) -> None:
    async with db.pool.acquire() as conn:
        model = await add_model(conn)
        articles = [await add_article(conn, slug) for slug in ("a", "b", "c")]
        first, second, later = await queue.enqueue(conn, articles, model, max_attempts=3)
        claimed = await queue.claim(conn, "w1", model, limit=2, lease_ms=60_000)
        await queue.complete(conn, "w1", model, {t.id: 4 for t in claimed}, {})
        await queue.claim(conn, "w2", model, limit=1, lease_ms=60_000)
        await queue.settle(conn, [LeasedTask(later, "w2")], "transient", message="timed out")
        batch = await inspect_task(conn, second)
        retried = await inspect_task(conn, later)
    assert [(e.event, e.worker_id, e.metadata) for e in batch.audit] == [
        ("tasks_completed", "w1", {"tasks": 2, "tokens": 8})
    ]
    assert {t.id for t in claimed} == {first, second}
    assert [e.event for e in retried.audit] == ["task_retry_scheduled"]


async def test_stats_break_tasks_down_and_count_the_last_24_hours(db: Database) -> None:
    async with db.pool.acquire() as conn:
        model = await add_model(conn)
        article = await add_article(conn, "a")
        await add_task(conn, article, model, "completed", source="backfill:r1", tokens_used=7)
        await add_task(conn, article, model, "failed", error_kind="permanent")
        await add_task(conn, article, model, "completed", age=timedelta(hours=2))
        await add_task(conn, article, model, "completed", age=timedelta(days=3))
        stats = await queue_stats(conn)
    assert stats.by_source["backfill"].completed == 1 and stats.by_source["write"].completed == 2
    assert stats.by_model["local/all-MiniLM-L6-v2"].failed == 1
    assert stats.failed_by_kind == {"permanent": 1}
    assert stats.hourly[-1].created == 2 and stats.hourly[-1].completed == 1 and stats.hourly[-1].tokens == 7
    assert sum(h.completed for h in stats.hourly) == 2


def test_health_thresholds_draw_the_lines_they_document() -> None:
    from article_mcp.queue.admin import PriorityCounts, QueueStatus, TaskCounts
    from article_mcp.queue.usage import TokenReport

    def status(**changes: object) -> QueueStatus:
        base: dict[str, object] = {
            "state": "running",
            "paused": False,
            "pause_reason": None,
            "paused_since": None,
            "counts": TaskCounts(pending=1),
            "pending_by_priority": PriorityCounts(normal=1),
            "pending_by_folder": [],
            "oldest_pending_seconds": 10.0,
            "expired_leases": 0,
            "workers_alive": 1,
            "workers": [],
            "completed_last_hour": 0,
            "failed_last_hour": 0,
            "recent_failures": [],
            "provider_unreachable_since": None,
            "provider_error": None,
            "tokens": TokenReport(daily_budget=None, used_today=0, budget_resets_at=None, models=[]),
        }
        return QueueStatus.model_validate(base | changes)

    limits = HealthThresholds()
    assert judge(status(), limits).status == "healthy"
    assert judge(status(oldest_pending_seconds=limits.backlog_degraded_seconds), limits).status == "degraded"
    assert judge(status(completed_last_hour=9, failed_last_hour=1), limits).status == "degraded"
    assert judge(status(completed_last_hour=95, failed_last_hour=5), limits).status == "healthy"
    assert judge(status(completed_last_hour=1, failed_last_hour=3), limits).status == "healthy"  # too few
    assert judge(status(completed_last_hour=5, failed_last_hour=5), limits).status == "unhealthy"
    down = judge(status(provider_unreachable_since="2026-12-01T20:00:00Z", provider_error="HTTP 503"), limits)
    assert down.status == "degraded"
    assert down.reasons == ["provider unreachable since 2026-12-01T20:00:00+00:00 (HTTP 503)"]
    spent = TokenReport(daily_budget=500, used_today=512, budget_resets_at="2026-12-02T00:00:00Z", models=[])
    held = judge(status(tokens=spent), limits)
    assert held.status == "degraded"
    assert held.reasons == [
        "the daily token budget (EMBEDDING_DAILY_TOKEN_BUDGET=500) is spent: the workers call the"
        " provider again at 2026-12-02T00:00:00+00:00"
    ]
