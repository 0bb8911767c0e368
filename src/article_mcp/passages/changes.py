"""The passages as a reader that keeps a copy of them sees them: all at once, then what changed.

Every statement that inserts, rewrites or deletes passages logs their ids with its transaction
id (a trigger, migration 0011), so whichever process wrote them, a reader learns of them. A
reader loads everything in one snapshot and remembers that snapshot's xmin, its *horizon*:
every transaction below it had finished, so its writes were in the load. Afterwards it polls
the changes at or above its horizon, reads the current state of the passages they name and
moves its horizon to the poll's. Changes seen before come again while a transaction older than
them is still open; their sequence numbers let the reader skip them. What a change did is
read from the passage itself, not from the log, so applying a state twice does no harm.

Rows are trimmed after a while (`trim`, from the maintenance loops); a reader whose horizon is
older than the last trimmed transaction may have missed some and must load again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg

from article_mcp.db.pool import Connection
from article_mcp.db.sql import Queries

QUERIES = Queries("article_mcp.passages", "changes.sql")

# How long changes are kept: far longer than any reader waits between polls.
RETENTION_SECONDS = 600.0
# Lexemes fetched at a time when loading everything.
POSTINGS_BATCH = 256


@dataclass(frozen=True, slots=True)
class PassageState:
    """A passage as it is now: gone (`present` false), or its article, length and postings."""

    chunk_id: int
    present: bool
    article_id: int = 0
    length: int = 0
    lexemes: Sequence[str] = ()
    tfs: Sequence[int] = ()


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Every passage and posting at one moment, and that moment's horizon. The postings are
    streamed, a lexeme at a time, so that a large corpus is never held twice in memory."""

    horizon: int
    passages: Sequence[asyncpg.Record]  # id, article_id, lexeme_count
    postings: AsyncIterator[asyncpg.Record]  # lexeme, chunk_ids, tfs


@dataclass(frozen=True, slots=True)
class Poll:
    """The changes logged at or above a horizon, and the poll's own horizon."""

    horizon: int
    trimmed: int
    seqs: Sequence[int]
    chunk_ids: Sequence[int]


@asynccontextmanager
async def snapshot(conn: Connection) -> AsyncIterator[Snapshot]:
    """Everything, read in one snapshot (a repeatable-read, read-only transaction, open while
    the context is)."""
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        horizon = int(await conn.fetchval(QUERIES["horizon"]))
        passages = await conn.fetch(QUERIES["all_passages"])
        yield Snapshot(
            horizon, passages, aiter(conn.cursor(QUERIES["all_postings"], prefetch=POSTINGS_BATCH))
        )


async def poll(conn: Connection, since: int) -> Poll:
    """The changes of transactions at or above `since`."""
    row = await conn.fetchrow(QUERIES["poll"], str(since))
    assert row is not None  # the statement always returns its one row
    return Poll(int(row["horizon"]), int(row["trimmed"]), row["seqs"], row["chunk_ids"])


async def states(conn: Connection, chunk_ids: Sequence[int]) -> list[PassageState]:
    """The current state of each passage named."""
    rows = await conn.fetch(QUERIES["passage_states"], list(chunk_ids))
    return [
        PassageState(r["id"], True, r["article_id"], r["lexeme_count"], r["lexemes"], r["tfs"])
        if r["present"]
        else PassageState(r["id"], False)
        for r in rows
    ]


async def trim(conn: Connection, retention_seconds: float = RETENTION_SECONDS) -> int:
    """Remove changes older than the retention; return how many went."""
    return int(await conn.fetchval(QUERIES["trim"], retention_seconds) or 0)
