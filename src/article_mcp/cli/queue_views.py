"""How the `queue` reports look to a person: rich tables, read at a glance.

Text that comes from the database (errors, slugs, messages) is wrapped in `Text`, so square
brackets in it are shown, never read as markup.
"""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table
from rich.text import Text

from article_mcp.cli.common import CommandContext
from article_mcp.cli.operator import ago, duration, facts
from article_mcp.cli.token_views import show_budget, show_tokens
from article_mcp.queue.admin import FailedTask, QueueStatus, StuckTask, TaskCounts
from article_mcp.queue.health import HealthReport
from article_mcp.queue.reports import FailureReport, QueueMetrics, QueueStats, TaskDetail, TaskSummary

_STATE_LABEL = {
    "running": "[green]Running[/]",
    "paused": "[yellow]Paused[/]",
    "stopped": "[red]Stopped[/] (no live worker)",
    "synchronous": "Synchronous (EMBEDDING_QUEUE_ENABLED=false: writes embed at once)",
    "disabled": "Disabled (SEMANTIC_SEARCH_ENABLED=false)",
}
_VERDICT = {
    "healthy": "[green]healthy[/]",
    "degraded": "[yellow]degraded[/]",
    "unhealthy": "[red]unhealthy[/]",
}


def _folders(status: QueueStatus) -> str:
    """Pending tasks per top-level folder, largest first ('/' is the root)."""
    shown = [f"{escape(f.folder or '/')} {f.tasks}" for f in status.pending_by_folder]
    return ", ".join(shown) or "none"


def show_status(ctx: CommandContext, status: QueueStatus) -> None:
    """Worker state, queue statistics, workers, recent failures."""
    state = _STATE_LABEL[status.state]
    if status.paused:
        state += f" since {ago(status.paused_since)}" + (
            f": {escape(status.pause_reason)}" if status.pause_reason else ""
        )
    ctx.console.print(f"Worker Status: {state}  ({status.workers_alive} alive)")
    if status.provider_unreachable_since is not None:
        ctx.console.print(
            f"[yellow]Provider unreachable[/] since {ago(status.provider_unreachable_since)}: "
            f"{escape(status.provider_error or '')}; tasks wait without spending attempts"
        )
    by_priority = status.pending_by_priority
    counts = status.counts
    ctx.console.print(
        facts(
            "Queue Statistics",
            [
                (
                    "Pending",
                    f"{counts.pending} (high {by_priority.high}, normal {by_priority.normal}, "
                    f"low {by_priority.low})",
                ),
                ("Pending by folder", _folders(status)),
                ("Oldest pending", duration(status.oldest_pending_seconds)),
                ("Processing", f"{counts.processing} ({status.expired_leases} with expired leases)"),
                ("Completed", f"{counts.completed} ({status.completed_last_hour} in the last hour)"),
                ("Failed", f"{counts.failed} ({status.failed_last_hour} in the last hour)"),
                ("Cancelled", str(counts.cancelled)),
            ],
        )
    )
    if status.workers:
        table = Table(
            "worker", "host", "pid", "state", "alive", "heartbeat", "done", "failed", title="Workers"
        )
        for w in status.workers:
            alive = "yes" if w.alive else "[red]no[/]"
            table.add_row(
                w.worker_id,
                w.hostname,
                str(w.pid),
                w.state,
                alive,
                ago(w.heartbeat_at),
                str(w.tasks_completed),
                str(w.tasks_failed),
            )
        ctx.console.print(table)
    if status.recent_failures:
        ctx.console.print(_failures_table("Recent failures", status.recent_failures))
    show_tokens(ctx, status.tokens.models)
    show_budget(ctx, status.tokens)


def show_health(ctx: CommandContext, report: HealthReport) -> None:
    """The verdict, then why and what to do."""
    ctx.console.print(f"Queue health: {_VERDICT[report.status]}")
    for reason in report.reasons:
        ctx.console.print(f"  - {reason}", markup=False)
    if report.recommendations:
        ctx.console.print("Recommendations:")
        for recommendation in report.recommendations:
            ctx.console.print(f"  - {recommendation}", markup=False)


def show_stats(ctx: CommandContext, stats: QueueStats) -> None:
    """Breakdown tables and the last 24 hours."""
    if not stats.by_priority:
        ctx.console.print("no tasks yet")
    for title, rows in (
        ("Tasks by priority", stats.by_priority),
        ("Tasks by source", stats.by_source),
        ("Tasks by model", stats.by_model),
    ):
        if rows:
            ctx.console.print(_counts_table(title, rows))
    if stats.failed_by_kind:
        ctx.console.print(
            facts("Failed tasks by error kind", [(k, str(n)) for k, n in stats.failed_by_kind.items()])
        )
    table = Table("hour", "created", "completed", "failed", "tokens", title="Last 24 hours")
    for hour in stats.hourly:
        table.add_row(
            hour.hour.strftime("%Y-%m-%d %H:00"),
            str(hour.created),
            str(hour.completed),
            str(hour.failed),
            str(hour.tokens),
        )
    ctx.console.print(table)


def _counts_table(title: str, rows: dict[str, TaskCounts]) -> Table:
    table = Table("", *TaskCounts.model_fields, title=title)
    for name, counts in sorted(rows.items()):
        table.add_row(name, *(str(n) for n in counts.model_dump().values()))
    return table


def show_metrics(ctx: CommandContext, m: QueueMetrics) -> None:
    """Task and batch metrics over the window."""
    rate = "-" if m.error_rate is None else f"{m.error_rate:.1%}"
    ctx.console.print(
        facts(
            f"Processing, last {m.window_hours} h",
            [
                ("Completed / failed", f"{m.completed} / {m.failed} (error rate {rate})"),
                ("Throughput", f"{m.throughput_per_minute:.2f} tasks/min"),
                (
                    "Processing time p50 / p95",
                    f"{_seconds(m.processing_seconds_p50)} / {_seconds(m.processing_seconds_p95)}",
                ),
                (
                    "Latency (queued to done) p50 / p95",
                    f"{_seconds(m.latency_seconds_p50)} / {_seconds(m.latency_seconds_p95)}",
                ),
                ("Tokens", str(m.tokens)),
                (
                    "Batches",
                    f"{m.batches} ({m.chunks} chunks, {m.embedded} sent to the provider, "
                    f"{m.batch_failures} failed)",
                ),
                ("Batch time p50 / p95", f"{_ms(m.batch_ms_p50)} / {_ms(m.batch_ms_p95)}"),
                ("Provider time p50 / p95", f"{_ms(m.embed_ms_p50)} / {_ms(m.embed_ms_p95)}"),
                ("Write time p50 / p95", f"{_ms(m.write_ms_p50)} / {_ms(m.write_ms_p95)}"),
            ],
        )
    )
    show_tokens(ctx, m.tokens_by_model)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


def show_recent(ctx: CommandContext, tasks: list[TaskSummary]) -> None:
    """The tasks changed most recently."""
    table = Table(
        "task",
        "article",
        "status",
        "priority",
        "attempts",
        "source",
        "updated",
        "error",
        title="Recent tasks",
    )
    for t in tasks:
        table.add_row(
            str(t.task_id),
            Text(t.slug or "(deleted)"),
            t.status,
            t.priority,
            f"{t.attempts}/{t.max_attempts}",
            t.source,
            ago(t.updated_at),
            Text(t.error_message or ""),
        )
    ctx.console.print(table if tasks else "no tasks yet")


def show_failed(ctx: CommandContext, report: FailureReport) -> None:
    """Failures grouped by error; each task with --details."""
    if not report.groups:
        ctx.console.print("no failed tasks")
        return
    table = Table("tasks", "kind", "error", "last", "task ids", title="Failed tasks by error")
    for g in report.groups:
        ids = ", ".join(map(str, g.task_ids)) + (", ..." if g.tasks > len(g.task_ids) else "")
        table.add_row(str(g.tasks), g.error_kind, Text(g.error_message), ago(g.last_at), ids)
    ctx.console.print(table)
    if report.tasks:
        ctx.console.print(_failures_table("Failed tasks", report.tasks))
    ctx.console.print("requeue them with `article-mcp queue retry TASK` or `queue retry --all-failed`")


def _failures_table(title: str, tasks: list[FailedTask]) -> Table:
    table = Table("task", "article", "kind", "attempts", "failed", "error", title=title)
    for t in tasks:
        table.add_row(
            str(t.task_id),
            Text(t.slug or "(deleted)"),
            t.error_kind or "",
            f"{t.attempts}/{t.max_attempts}",
            ago(t.failed_at),
            Text(t.error_message or ""),
        )
    return table


def show_task(ctx: CommandContext, task: TaskDetail) -> None:
    """One task's fields and its audit log."""
    fields = task.model_dump(exclude={"audit"})
    ctx.console.print(facts(f"Task {task.task_id}", [(name, _text(value)) for name, value in fields.items()]))
    table = Table("time", "level", "event", "worker", "message", title="Audit log")
    for entry in task.audit:
        table.add_row(
            entry.timestamp.isoformat(timespec="seconds"),
            entry.level,
            entry.event,
            entry.worker_id or "",
            Text(entry.message),
        )
    ctx.console.print(table if task.audit else "no audit entries for this task")


def _text(value: object) -> str:
    return "-" if value is None or value == {} else str(value)


def show_stuck(ctx: CommandContext, tasks: list[StuckTask]) -> None:
    """Stuck tasks and how to release them."""
    if not tasks:
        ctx.console.print("no stuck tasks")
        return
    table = Table("task", "article", "worker", "running", "lease", "attempts", title="Stuck tasks")
    for t in tasks:
        lease = "[red]expired[/]" if t.lease_expired else f"until {t.lease_expires_at:%H:%M:%S}"
        table.add_row(
            str(t.task_id),
            Text(t.slug or "(deleted)"),
            t.lease_owner,
            duration(t.running_seconds),
            lease,
            f"{t.attempts}/{t.max_attempts}",
        )
    ctx.console.print(table)
    ctx.console.print("release them with `article-mcp queue reset-stuck`")
