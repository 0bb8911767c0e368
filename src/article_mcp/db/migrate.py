"""The migration runner: numbered SQL files, each with an up and a down part.

Applied versions are recorded in `schema_migrations`. A session advisory lock makes two
processes migrating at once safe: the second waits, then finds nothing left to do. Each file
runs in its own transaction, so a failing file leaves the schema at the version before it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import asyncpg

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


async def migrate_to_latest(dsn: str) -> list[Migration]:
    """Apply every pending migration; return those applied by this call."""
    return await migrate(dsn, target=None)


async def migrate(dsn: str, *, target: int | None) -> list[Migration]:
    """Apply pending migrations up to `target` (all when None)."""
    conn = await connect(dsn)
    try:
        await conn.execute(QUERIES["lock"])
        try:
            state = await migration_state(conn)
            todo = [m for m in state.pending if target is None or m.version <= target]
            for migration in todo:
                async with conn.transaction():
                    await conn.execute(migration.up)
                    await conn.execute(QUERIES["record_version"], migration.version, migration.name)
            return todo
        finally:
            await conn.execute(QUERIES["unlock"])
    finally:
        await conn.close()


async def rollback(dsn: str, *, target: int) -> list[Migration]:
    """Undo applied migrations above `target`, newest first; return those undone."""
    if target < 0:
        raise InvalidInputError("--to", "must be 0 or a migration version")
    conn = await connect(dsn)
    try:
        await conn.execute(QUERIES["lock"])
        try:
            state = await migration_state(conn)
            by_version = {m.version: m for m in state.available}
            todo = [by_version[v] for v in sorted(state.applied, reverse=True) if v > target]
            for migration in todo:
                async with conn.transaction():
                    await conn.execute(migration.down)
                    await conn.execute(QUERIES["forget_version"], migration.version)
            return todo
        finally:
            await conn.execute(QUERIES["unlock"])
    finally:
        await conn.close()
