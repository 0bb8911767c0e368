"""`db verify`: does the database hold every table, index and extension the migrations make?"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import asyncpg

from article_mcp.db.migrate import load_migrations, migration_state
from article_mcp.db.sql import Queries

QUERIES = Queries("article_mcp.db", "verify.sql")

_CREATED = re.compile(
    r"CREATE\s+(?:UNIQUE\s+)?(?P<kind>TABLE|INDEX)\s+(?:IF\s+NOT\s+EXISTS\s+)?(?P<name>[a-z_][a-z0-9_]*)",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class SchemaReport:
    """What `db verify` found."""

    current_version: int
    latest_version: int
    vector_version: str | None
    missing: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing is missing and every migration is applied."""
        return not self.missing


def expected_relations() -> dict[str, str]:
    """Every table and index the migrations create, by name, with its kind."""
    expected: dict[str, str] = {"schema_migrations": "table"}
    for migration in load_migrations():
        for match in _CREATED.finditer(migration.up):
            expected[match["name"].lower()] = match["kind"].lower()
    return expected


async def verify_schema(conn: asyncpg.Connection) -> SchemaReport:
    """Compare the database with what the migrations make."""
    state = await migration_state(conn)
    expected = expected_relations()
    present = {row["relname"] for row in await conn.fetch(QUERIES["existing_relations"], list(expected))}
    missing = [f"{kind} {name}" for name, kind in sorted(expected.items()) if name not in present]
    vector_version = await conn.fetchval(QUERIES["vector_extension_version"])
    if vector_version is None:
        missing.insert(0, "extension vector")
    latest = max((m.version for m in state.available), default=0)
    missing.extend(f"migration {m.version:04d}_{m.name}" for m in state.pending)
    return SchemaReport(
        current_version=state.current, latest_version=latest, vector_version=vector_version, missing=missing
    )
