"""The migration runner: numbered SQL files, each with an up and a down part.

Applied versions are recorded in `schema_migrations`. Each file runs in its own transaction,
so a failing file leaves the schema at the version before it, and that transaction first
takes a transaction-level advisory lock and reads what is applied: two processes migrating
at once never apply a file twice. A session lock besides, held for the whole run, makes the
second process wait and then find nothing left to do; behind a pooler in transaction mode
(DATABASE_POOL_MODE=transaction, no DATABASE_DIRECT_URL) there is no session to hold it in
(it would be taken on one server connection and released on another), so there runs take
turns file by file, still safely.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import asyncpg

from article_mcp.config import PoolMode
from article_mcp.db.pool import connect
from article_mcp.db.sql import Queries
from article_mcp.errors import ConflictError, InvalidInputError

QUERIES = Queries("article_mcp.db", "migrate.sql")

_FILE_NAME = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")
_UP = "-- migrate:up"
_DOWN = "-- migrate:down"


@dataclass(frozen=True, slots=True)
class Migration:
    """One migration file."""

    version: int
    name: str
    up: str
    down: str


@dataclass(frozen=True, slots=True)
class MigrationState:
    """Which migrations exist and which are applied."""

    available: list[Migration]
    applied: list[int]

    @property
    def current(self) -> int:
        """The highest applied version, 0 when none."""
        return max(self.applied, default=0)

    @property
    def pending(self) -> list[Migration]:
        """Migrations not yet applied, in order."""
        return [m for m in self.available if m.version not in self.applied]


def migrations_dir() -> Traversable:
    """The shipped migrations: inside the wheel, or beside `src/` in a source checkout."""
    shipped = resources.files("article_mcp").joinpath("migrations")
    if shipped.is_dir():
        return shipped
    return Path(__file__).resolve().parents[3] / "migrations"


def load_migrations(directory: Traversable | None = None) -> list[Migration]:
    """Every migration file, ordered by version."""
    directory = directory or migrations_dir()
    migrations = []
    for entry in directory.iterdir():
        match = _FILE_NAME.match(entry.name)
        if match:
            migrations.append(_parse(int(match["version"]), match["name"], entry.read_text("utf-8")))
    migrations.sort(key=lambda m: m.version)
    versions = [m.version for m in migrations]
    if len(set(versions)) != len(versions):
        raise ConflictError("two migration files share a version number")
    return migrations


def _parse(version: int, name: str, text: str) -> Migration:
    if text.count(_UP) != 1 or text.count(_DOWN) != 1 or text.index(_UP) > text.index(_DOWN):
        raise ConflictError(f"migration {version:04d}_{name}: needs one '{_UP}' then one '{_DOWN}' line")
    up, down = text.split(_UP, 1)[1].split(_DOWN, 1)
    return Migration(version=version, name=name, up=up.strip(), down=down.strip())


async def migration_state(conn: asyncpg.Connection) -> MigrationState:
    """What is available and what the database has applied."""
    await conn.execute(QUERIES["create_migrations_table"])
    applied = [row["version"] for row in await conn.fetch(QUERIES["applied_versions"])]
    return MigrationState(available=load_migrations(), applied=applied)


async def migrate_to_latest(dsn: str, *, mode: PoolMode = "session") -> list[Migration]:
    """Apply every pending migration; return those applied by this call."""
    return await migrate(dsn, target=None, mode=mode)


async def migrate(dsn: str, *, target: int | None, mode: PoolMode = "session") -> list[Migration]:
    """Apply pending migrations up to `target` (all when None)."""

    def next_up(state: MigrationState) -> Migration | None:
        return next((m for m in state.pending if target is None or m.version <= target), None)

    return await _run_steps(dsn, mode, next_up, up=True)


async def rollback(dsn: str, *, target: int, mode: PoolMode = "session") -> list[Migration]:
    """Undo applied migrations above `target`, newest first; return those undone."""
    if target < 0:
        raise InvalidInputError("--to", "must be 0 or a migration version")

    def next_down(state: MigrationState) -> Migration | None:
        by_version = {m.version: m for m in state.available}
        newest = max((v for v in state.applied if v > target), default=None)
        return None if newest is None else by_version[newest]

    return await _run_steps(dsn, mode, next_down, up=False)


async def _run_steps(
    dsn: str, mode: PoolMode, pick: Callable[[MigrationState], Migration | None], *, up: bool
) -> list[Migration]:
    """Apply (or undo) one migration per transaction, each picked under the lock from the
    state it finds, until `pick` finds none; returns them in order."""
    conn = await connect(dsn, mode=mode)
    done: list[Migration] = []
    try:
        if mode == "session":
            await conn.execute(QUERIES["lock_session"])
        while (migration := await _step(conn, pick, up=up)) is not None:
            done.append(migration)
        return done
    finally:
        await conn.close()


async def _step(
    conn: asyncpg.Connection, pick: Callable[[MigrationState], Migration | None], *, up: bool
) -> Migration | None:
    """One migration in a transaction of its own, under the lock; None when none is left."""
    async with conn.transaction():
        await conn.execute(QUERIES["lock"])
        migration = pick(await migration_state(conn))
        if migration is None:
            return None
        if up:
            await conn.execute(migration.up)
            await conn.execute(QUERIES["record_version"], migration.version, migration.name)
        else:
            await conn.execute(migration.down)
            await conn.execute(QUERIES["forget_version"], migration.version)
        return migration
