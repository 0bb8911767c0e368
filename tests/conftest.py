"""Shared fixtures: one embedded PostgreSQL per test session, a migrated template database,
and a fresh database cloned from it for each test that asks."""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import anyio
import asyncpg
import pytest

from article_mcp.config import Settings
from article_mcp.db.embedded import EmbeddedServer
from article_mcp.db.migrate import migrate_to_latest
from article_mcp.db.pool import Database, create_pool

TEMPLATE = "article_mcp_template"

# Fixtures shared by many test folders, kept in light modules of their own.
pytest_plugins = ["tests.support.fake_providers"]


def pytest_configure(config: pytest.Config) -> None:
    """Tests see only the settings they ask for, never the developer's environment."""
    for name in Settings.model_fields:
        os.environ.pop(name.upper(), None)


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


def with_database(dsn: str, name: str) -> str:
    """The same server address, pointing at another database."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The admin DSN of the session's embedded server."""
    server = EmbeddedServer.acquire(tmp_path_factory.mktemp("embedded-pg"))
    yield server.dsn
    server.release()


@pytest.fixture(scope="session")
async def template_dsn(pg_server: str) -> str:
    """A database migrated to the latest schema, cloned by each test."""
    admin = await asyncpg.connect(pg_server)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}"')
        await admin.execute(f'CREATE DATABASE "{TEMPLATE}"')
    finally:
        await admin.close()
    dsn = with_database(pg_server, TEMPLATE)
    await migrate_to_latest(dsn)
    return dsn


async def create_database(pg_server: str, template: str | None) -> str:
    """A new empty (or cloned) database; returns its DSN."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(pg_server)
    try:
        clause = f' TEMPLATE "{template}" STRATEGY FILE_COPY' if template else ""
        await admin.execute(f'CREATE DATABASE "{name}"{clause}')
    finally:
        await admin.close()
    return with_database(pg_server, name)


async def drop_database(pg_server: str, dsn: str) -> None:
    name = urlsplit(dsn).path.lstrip("/")
    admin = await asyncpg.connect(pg_server)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def database_url(pg_server: str, template_dsn: str) -> AsyncIterator[str]:
    """A fresh, migrated database for one test."""
    dsn = await create_database(pg_server, TEMPLATE)
    yield dsn
    await drop_database(pg_server, dsn)


@pytest.fixture
async def empty_database_url(pg_server: str) -> AsyncIterator[str]:
    """A fresh database with no schema at all."""
    dsn = await create_database(pg_server, None)
    yield dsn
    await drop_database(pg_server, dsn)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """An open pool on the test's database."""
    pool = await create_pool(database_url, min_size=1, max_size=8)
    try:
        yield Database(pool=pool, dsn=database_url)
    finally:
        await pool.close()


def make_settings(database_url: str | None = None, **overrides: Any) -> Settings:
    """Settings for a test: no .env file, the given database, defaults otherwise."""
    return Settings(_env_file=None, database_url=database_url, **overrides)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Default settings pointed at the test's database."""
    return make_settings(database_url, article_mcp_data_dir=tmp_path / "data")


def cli_env(**variables: str | Path) -> dict[str, str]:
    """The environment for an `article-mcp` subprocess: ours, plus the given settings."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in Settings.model_fields}
    env.update({k: str(v) for k, v in variables.items()})
    return env


ARTICLE_MCP = [sys.executable, "-m", "article_mcp"]


@dataclass(frozen=True)
class CliResult:
    """What an `article-mcp` subprocess did."""

    returncode: int
    stdout: str
    stderr: str


async def run_cli(*args: str, env: dict[str, str], limit: float = 180) -> CliResult:
    """Run `article-mcp ARGS` as a subprocess and collect its output."""
    with anyio.fail_after(limit):
        done = await anyio.run_process([*ARTICLE_MCP, *args], env=env, check=False)
    return CliResult(done.returncode, done.stdout.decode(), done.stderr.decode())
