"""Bare articles spread over folders, for tests that write passages themselves."""

from __future__ import annotations

import asyncpg

INSERT = (
    "INSERT INTO articles (slug, title, content, content_hash, folder)"
    " SELECT 'a-' || n, 'A ' || n, '', '', 'f' || (n % $2)"
    " FROM generate_series(1, $1) AS n RETURNING id"
)


async def add_articles_in_folders(conn: asyncpg.Connection, count: int, folders: int = 5) -> list[int]:
    """`count` empty articles in folders f0 .. f<folders - 1>, round robin; their ids."""
    return [r["id"] for r in await conn.fetch(INSERT, count, folders)]
