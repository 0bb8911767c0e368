"""The in-memory BM25 index of one process, kept in step with every commit of every process.

`load` reads all passages and postings in one snapshot. Before each search, `catch_up` polls
the passage change log (passages/changes.py) above the index's horizon and applies the
current state of the passages it names: a search sees every passage committed before it
began, whichever process wrote it, as the SQL full text does. Until the index is loaded (or
after the log was trimmed past its horizon) `ready` is false and full text runs in SQL.

`maintain` is the background loop of a serving process: it loads the index, polls now and
then so that an idle process never falls behind the log's retention, and trims the log.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import anyio
import numpy as np
import structlog

from article_mcp.db.pool import Connection, Database, pooled_connection
from article_mcp.errors import describe
from article_mcp.passages import changes
from article_mcp.search.bm25_index import Bm25Index, Term
from article_mcp.search.fusion import ChunkHit

log = structlog.get_logger(__name__)

# How often the background loop polls (an idle process keeps up) and trims the log.
POLL_SECONDS = 30.0
TRIM_SECONDS = 60.0


class StaleIndexError(Exception):
    """The change log was trimmed past the index's horizon: it must be loaded again."""


class Bm25Mirror:
    """A Bm25Index and how far it has read the database."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._index: Bm25Index | None = None
        self._horizon = 0
        self._seen: frozenset[int] = frozenset()
        self._lock = anyio.Lock()

    @property
    def ready(self) -> bool:
        """True once loaded, until found stale."""
        return self._index is not None

    @property
    def index(self) -> Bm25Index | None:
        return self._index

    async def load(self) -> None:
        """Read every passage and posting (seconds at 100k passages) and start from there."""
        started = time.perf_counter()
        index = Bm25Index()
        async with pooled_connection(self._db) as conn, changes.snapshot(conn) as snapshot:
            passages = snapshot.passages
            index.load_passages(
                [r["id"] for r in passages],
                [r["article_id"] for r in passages],
                [r["lexeme_count"] for r in passages],
            )
            async for row in snapshot.postings:
                index.add_postings(row["lexeme"], row["chunk_ids"], row["tfs"])
        async with self._lock:
            self._index, self._horizon, self._seen = index, snapshot.horizon, frozenset()
        log.info(
            "fulltext_index_loaded",
            passages=index.passages,
            postings=index.postings,
            megabytes=round(index.nbytes / 2**20, 1),
            seconds=round(time.perf_counter() - started, 2),
        )

    async def catch_up(self, conn: Connection) -> Bm25Index:
        """Apply what was committed since the last poll; the index, current as of now.

        Raises StaleIndexError (and stops being ready) when the log no longer holds every
        change the index needs.
        """
        async with self._lock:
            index = self._index
            if index is None:
                raise StaleIndexError("the full-text index is not loaded")
            polled = await changes.poll(conn, self._horizon)
            if polled.trimmed >= self._horizon:
                self._index = None
                raise StaleIndexError("the passage change log was trimmed past the index")
            unseen = {c for s, c in zip(polled.seqs, polled.chunk_ids, strict=True) if s not in self._seen}
            if unseen:
                index.apply(await changes.states(conn, sorted(unseen)))
            # What this poll saw is all a later poll can see again (its horizon is no lower).
            self._horizon, self._seen = polled.horizon, frozenset(polled.seqs)
            return index

    async def top(
        self,
        conn: Connection,
        queries: Sequence[Sequence[Term]],
        n: int,
        *,
        k1: float,
        b: float,
        articles: Sequence[int] | None,
    ) -> list[list[ChunkHit]]:
        """The `n` best passages for each query's terms, after catching up."""
        index = await self.catch_up(conn)
        allowed = None if articles is None else np.asarray(articles, dtype=np.int64)
        return [index.top(terms, n, k1=k1, b=b, articles=allowed) for terms in queries]

    async def maintain(self) -> None:
        """Load, then keep up and trim the log, until cancelled; failures (a database away)
        are logged and tried again, never raised."""
        last_trim = 0.0
        while True:
            try:
                if self._index is None:
                    await self.load()
                async with pooled_connection(self._db) as conn:
                    await self.catch_up(conn)
                    if time.monotonic() - last_trim >= TRIM_SECONDS:
                        await changes.trim(conn)
                        last_trim = time.monotonic()
            except StaleIndexError:
                continue  # load again at once
            except Exception as exc:  # the server outlives its index: SQL answers meanwhile
                log.warning("fulltext_index_waiting", error=describe(exc))
            await anyio.sleep(POLL_SECONDS)
