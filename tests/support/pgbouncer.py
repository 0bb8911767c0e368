"""Debian's PgBouncer in transaction mode in front of the session's embedded PostgreSQL, on a
loopback port, for the pooler end-to-end test.

PgBouncer reaches the embedded server on its Unix socket (in the data dir), so it runs as the
owner of that directory: as root that is `pgserver`, the user the embedded server runs as
(PgBouncer refuses to run as root). Trust authentication: nothing leaves loopback.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

# Where Debian installs it; /usr/sbin is not on every user's PATH.
DEBIAN_PATH = Path("/usr/sbin/pgbouncer")
# Server connections per database and user: fewer than a process's pool, so that client
# connections take turns on them, as behind a managed pooler.
SERVER_CONNECTIONS = 3
START_LIMIT = 30.0


def on_ci() -> bool:
    """True on CI (`.ci/run` sets CI=1), where a missing PgBouncer fails the run."""
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def pgbouncer_binary() -> str:
    """The pgbouncer executable; skips the test where it is missing, fails it on CI."""
    found = shutil.which("pgbouncer") or (str(DEBIAN_PATH) if DEBIAN_PATH.is_file() else None)
    if found is not None:
        return found
    message = "pgbouncer is not installed (`apt-get install pgbouncer`; ./scripts/test installs it as root)"
    if on_ci():
        pytest.fail(message)
    pytest.skip(message)


def free_port() -> int:
    """A loopback port free right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def config(socket_dir: Path, work: Path, port: int) -> str:
    """pgbouncer.ini: every database of the embedded server, in transaction mode."""
    return f"""[databases]
* = host={socket_dir} port=5432

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {work}/users.txt
pool_mode = transaction
default_pool_size = {SERVER_CONNECTIONS}
max_client_conn = 500
logfile = {work}/pgbouncer.log
pidfile = {work}/pgbouncer.pid
"""


@contextmanager
def running_pgbouncer(socket_dir: Path, user: str) -> Iterator[int]:
    """PgBouncer in front of the server whose socket is in `socket_dir`; yields its port."""
    binary = pgbouncer_binary()
    owner = pwd.getpwuid(socket_dir.stat().st_uid)
    work = Path(tempfile.mkdtemp(prefix="pgbouncer-"))
    try:
        os.chown(work, owner.pw_uid, owner.pw_gid)
        port = free_port()
        (work / "users.txt").write_text(f'"{user}" ""\n', encoding="utf-8")
        (work / "pgbouncer.ini").write_text(config(socket_dir, work, port), encoding="utf-8")
        as_owner = ["-u", owner.pw_name] if os.geteuid() == 0 else []
        process = subprocess.Popen([binary, "--quiet", *as_owner, str(work / "pgbouncer.ini")])
        try:
            _wait_listening(port, process, work)
            yield port
        finally:
            process.terminate()
            process.wait(timeout=START_LIMIT)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _wait_listening(port: int, process: subprocess.Popen[bytes], work: Path) -> None:
    deadline = time.monotonic() + START_LIMIT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = work / "pgbouncer.log"
            shown = log.read_text(encoding="utf-8") if log.exists() else ""
            raise AssertionError(f"pgbouncer exited with {process.returncode}: {shown[-2000:]}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"pgbouncer did not listen on port {port} within {START_LIMIT:g} s")
