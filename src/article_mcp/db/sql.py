"""Named SQL queries, kept in `.sql` files beside the module that owns the tables.

A file holds blocks like:

    -- name: claim_tasks
    -- Claim up to $2 pending tasks for worker $1.
    SELECT ...;

The first comment line names the query, the next comment lines describe it, and the SQL
runs to the next `-- name:` line. Files are parsed once, at import of the owning module.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources

_NAME_LINE = re.compile(r"^--\s*name:\s*(?P<name>[a-z_][a-z0-9_]*)\s*$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Query:
    """One named query: its SQL and the description written above it."""

    name: str
    description: str
    sql: str


def parse_queries(text: str) -> dict[str, Query]:
    """Split the text of a `.sql` file into its named queries."""
    matches = list(_NAME_LINE.finditer(text))
    queries: dict[str, Query] = {}
    for match, following in zip(matches, [*matches[1:], None], strict=True):
        block = text[match.end() : following.start() if following else len(text)]
        description, sql = _split_description(block)
        name = match.group("name")
        if name in queries:
            raise ValueError(f"query {name!r} is defined twice")
        if not sql:
            raise ValueError(f"query {name!r} has no SQL")
        queries[name] = Query(name=name, description=description, sql=sql)
    return queries


def _split_description(block: str) -> tuple[str, str]:
    lines = block.strip("\n").splitlines()
    description = []
    while lines and lines[0].startswith("--"):
        description.append(lines.pop(0).removeprefix("--").strip())
    return " ".join(description), "\n".join(lines).strip()


class Queries(Mapping[str, str]):
    """The SQL of a `.sql` file, by query name."""

    def __init__(self, package: str, filename: str) -> None:
        text = resources.files(package).joinpath(filename).read_text(encoding="utf-8")
        self._queries = parse_queries(text)

    def __getitem__(self, name: str) -> str:
        return self._queries[name].sql

    def __iter__(self) -> Iterator[str]:
        return iter(self._queries)

    def __len__(self) -> int:
        return len(self._queries)

    def describe(self, name: str) -> str:
        """The description written above the query."""
        return self._queries[name].description
