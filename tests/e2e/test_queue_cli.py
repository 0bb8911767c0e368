"""`article-mcp queue ...` as an operator runs it: a subprocess against a real database, in
the states that matter (empty, busy, stuck, failed), checking output and exit codes."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from article_mcp.db.pool import Database
from tests.conftest import CliResult, cli_env, run_cli
from tests.support.queue_states import add_article, add_model, add_task, add_worker

pytestmark = pytest.mark.anyio


async def queue(db: Database, *args: str) -> CliResult:
    # The workers here are rows that never beat: a lease of minutes keeps a live one alive
    # across a test's commands, however slow the machine.
    return await run_cli("queue", *args, env=cli_env(DATABASE_URL=db.dsn, EMBEDDING_LEASE_SECONDS="300"))


async def queue_json(db: Database, *args: str, code: int = 0) -> Any:
    result = await queue(db, *args, "--json")
    assert result.returncode == code, result.stderr
    return json.loads(result.stdout)


async def test_an_empty_queue(db: Database) -> None:
    status = await queue_json(db, "status")
    assert status["state"] == "stopped" and status["counts"]["pending"] == 0
    assert (await queue_json(db, "health"))["status"] == "healthy"
    assert await queue_json(db, "recent") == []
    assert await queue_json(db, "stuck") == []
    human = await queue(db, "status")
    assert human.returncode == 0
    assert "Worker Status: Stopped" in human.stdout and "Pending" in human.stdout
    assert "no failed tasks" in (await queue(db, "failed")).stdout


async def test_a_busy_queue(db: Database) -> None:
    async with db.pool.acquire() as conn:
        model = await add_model(conn)
        for i in range(3):
            await add_task(conn, await add_article(conn, f"p{i}"), model, priority="high" if i else "low")
        await add_task(conn, await add_article(conn, "r"), model, "processing")
        await add_task(conn, await add_article(conn, "c"), model, "completed", tokens_used=12)
        await add_worker(conn, "worker-1", "busy")
    status = await queue_json(db, "status")
    assert status["state"] == "running" and status["workers_alive"] == 1
    assert status["counts"] == {"pending": 3, "processing": 1, "completed": 1, "failed": 0, "cancelled": 0}
    assert status["pending_by_priority"] == {"high": 2, "normal": 0, "low": 1}
    stats = await queue_json(db, "stats")
    assert stats["by_source"]["write"]["pending"] == 3 and stats["hourly"][-1]["tokens"] == 12
    metrics = await queue_json(db, "metrics", "--hours", "1")
    assert metrics["completed"] == 1 and metrics["tokens"] == 12
    recent = await queue_json(db, "recent", "--limit", "2")
    assert len(recent) == 2
    health = await queue(db, "health")
    assert health.returncode == 0 and "healthy" in health.stdout
    human = await queue(db, "status")
    assert "worker-1" in human.stdout and "high 2, normal 0, low 1" in human.stdout


async def test_stuck_tasks_are_found_and_reset(db: Database) -> None:
    async with db.pool.acquire() as conn:
        model = await add_model(conn)
        stuck = await add_task(
            conn, await add_article(conn, "s"), model, "processing", age=timedelta(hours=2)
        )
        await add_worker(conn, "worker-1")
    listed = await queue(db, "stuck")
    assert listed.returncode == 1 and str(stuck) in listed.stdout and "reset-stuck" in listed.stdout
    assert await queue_json(db, "stuck", "--older-than", "180") == []
    reset = await queue(db, "reset-stuck")
    assert reset.returncode == 0, reset.stderr[-3000:]
    assert "reset 1 stuck tasks to pending" in reset.stdout
    assert (await queue_json(db, "status"))["counts"]["pending"] == 1
    assert (await queue(db, "stuck")).returncode == 0


async def test_failed_tasks_make_the_queue_unhealthy_until_retried(db: Database) -> None:
    async with db.pool.acquire() as conn:
        model = await add_model(conn)
        failed = [
            await add_task(
                conn, await add_article(conn, f"f{i}"), model, "failed", attempts=3, error_kind="permanent",
                error_message="HTTP 401 from the provider: check OPENAI_API_KEY [key]",
            )
            for i in range(5)
        ]  # fmt: skip
        await add_worker(conn, "worker-1")
    health = await queue(db, "health")
    assert health.returncode == 5 and "unhealthy" in health.stdout and "queue retry" in health.stdout
    report = await queue_json(db, "failed", "--details")
    assert [(g["tasks"], g["error_kind"]) for g in report["groups"]] == [(5, "permanent")]
    assert sorted(t["task_id"] for t in report["tasks"]) == failed
    human = await queue(db, "failed", "--details")
    assert "OPENAI_API_KEY [key]" in human.stdout.replace("\n", " ") or "[key]" in human.stdout
    detail = await queue_json(db, "inspect", str(failed[0]))
    assert detail["status"] == "failed" and detail["attempts"] == 3
    one = await queue(db, "retry", str(failed[0]))
    assert one.returncode == 0 and "requeued 1 tasks" in one.stdout
    rest = await queue_json(db, "retry", "--all-failed")
    assert len(rest["pending_ids"]) == 4
    status = await queue_json(db, "status")
    assert (status["counts"]["failed"], status["counts"]["pending"]) == (0, 5)
    assert (await queue_json(db, "inspect", str(failed[0])))["audit"][-1]["event"] == "task_retried"


async def test_retry_and_inspect_refuse_what_does_not_exist_or_does_not_fit(db: Database) -> None:
    missing = await queue(db, "inspect", "12345")
    assert missing.returncode == 4 and "task 12345 does not exist" in missing.stderr
    async with db.pool.acquire() as conn:
        pending = await add_task(conn, await add_article(conn, "p"), await add_model(conn))
    busy = await queue(db, "retry", str(pending))
    assert busy.returncode == 4 and "only failed or cancelled tasks are retried" in busy.stderr
    both = await queue(db, "retry")
    assert both.returncode == 2 and "--all-failed" in both.stderr
    bad = await queue(db, "recent", "--limit", "0")
    assert bad.returncode == 2 and "above 0" in bad.stderr


async def test_stop_and_start_switch_every_worker(db: Database) -> None:
    assert (await queue(db, "stop", "--reason", "provider maintenance")).returncode == 0
    status = await queue_json(db, "status")
    assert status["paused"] and status["pause_reason"] == "provider maintenance"
    assert (await queue(db, "start")).returncode == 0
    assert not (await queue_json(db, "status"))["paused"]


async def test_clear_asks_for_confirmation(db: Database) -> None:
    async with db.pool.acquire() as conn:
        model = await add_model(conn)
        for i in range(2):
            await add_task(conn, await add_article(conn, f"p{i}"), model)
    refused = await queue(db, "clear")
    assert refused.returncode == 2 and "--confirm" in refused.stderr
    assert (await queue_json(db, "status"))["counts"]["pending"] == 2
    cleared = await queue(db, "clear", "--confirm")
    assert cleared.returncode == 0 and "cancelled 2 pending tasks" in cleared.stdout
    assert (await queue_json(db, "status"))["counts"] == {
        "pending": 0, "processing": 0, "completed": 0, "failed": 0, "cancelled": 2,
    }  # fmt: skip


async def test_cleanup_removes_old_finished_tasks(db: Database) -> None:
    async with db.pool.acquire() as conn:
        model = await add_model(conn)
        article = await add_article(conn, "a")
        await add_task(conn, article, model, "completed", age=timedelta(days=10))
        await add_task(conn, article, model, "completed", age=timedelta(days=1))
    result = await queue_json(db, "cleanup", "--days", "5")
    assert result["tasks"] == 1
    assert (await queue_json(db, "status"))["counts"]["completed"] == 1


async def test_an_unreachable_database_is_a_clear_error() -> None:
    env = cli_env(DATABASE_URL="postgresql://nobody:secret@127.0.0.1:9/nothing")
    for command in (["status"], ["health", "--json"], ["retry", "--all-failed"]):
        result = await run_cli("queue", *command, env=env)
        assert result.returncode == 3, result.stderr
        assert "cannot reach the database" in result.stderr and "secret" not in result.stderr
        assert "Traceback" not in result.stderr


async def test_a_database_without_the_schema_says_to_migrate(empty_database_url: str) -> None:
    result = await run_cli("queue", "status", env=cli_env(DATABASE_URL=empty_database_url))
    assert result.returncode == 2 and "article-mcp db migrate" in result.stderr


async def test_an_unreachable_provider_is_reported_from_another_process(db: Database) -> None:
    """The circuit lives in the worker; its heartbeat puts the outage on the worker rows, which
    is all `queue health` in another process needs."""
    async with db.pool.acquire() as conn:
        model = await add_model(conn)
        await add_task(conn, await add_article(conn, "waiting"), model)
        await add_worker(conn, "worker-1", "idle")
        await conn.execute(
            "UPDATE embedding_worker_status SET provider_unreachable_since = now() - interval '5 minutes',"
            " provider_error = 'cannot reach Ollama at http://127.0.0.1:11434: connection refused'"
        )
    health = await queue_json(db, "health", code=1)
    assert health["status"] == "degraded"
    assert health["reasons"][0].startswith("provider unreachable since ")
    assert "connection refused" in health["reasons"][0]
    human = await queue(db, "status")
    assert "Provider unreachable since 5m" in human.stdout
