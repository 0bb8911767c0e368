"""Search by meaning and by words: `semantic`, `fulltext` (BM25) and `hybrid` (both, fused).

`SearchService.search(SearchRequest) -> SearchResponse` is the whole surface. Each phrasing
of the query runs through the legs the mode asks for; each leg ranks passages, which are
grouped into articles (best passage first) and fused: hybrid by reciprocal rank fusion,
a single leg by best score. Results are articles with their best passages, why they
matched, and their embedding status.

Only vectors of the active model are searched, through its partial HNSW index: the model
active in the database when the search starts (active_model.py), whatever the settings name,
used for the whole search. When
semantic search is off, nothing is embedded yet, or the provider fails or is too slow for
the query's vector, `hybrid` answers from full text alone and says so (`fallback`, `notice`);
`semantic` raises, since it has nothing else to offer. The service calls the provider for
query vectors only, remembered briefly (see query_vectors.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import asyncpg
import numpy as np
import structlog

from article_mcp.articles.models import EmbeddingStatus
from article_mcp.articles.rules import check_folder, check_query, check_tags
from article_mcp.config import Settings
from article_mcp.db.pool import Database, pooled_connection
from article_mcp.db.sql import Queries
from article_mcp.embeddings.providers.base import EmbeddingProvider
from article_mcp.embeddings.registry import ModelRecord
from article_mcp.errors import InvalidInputError, ProviderError, SemanticUnavailableError, UnavailableError
from article_mcp.passages.tokens import fit_tokens
from article_mcp.queue import tasks
from article_mcp.search.active_model import DISABLED, ActiveModels, QueryVectors
from article_mcp.search.bm25_index import Term
from article_mcp.search.bm25_mirror import Bm25Mirror, StaleIndexError
from article_mcp.search.concurrent import both
from article_mcp.search.fusion import Candidate, ChunkHit, Ranking, Vector, diversify, fuse, rank_articles
from article_mcp.search.models import Leg, SearchHit, SearchRequest, SearchResponse
from article_mcp.search.results import ranking, search_hit

QUERIES = Queries("article_mcp.search", "service.sql")
log = structlog.get_logger(__name__)

# Each leg ranks this many articles per result asked for (at least MIN_DEPTH): fusion needs
# articles that one leg ranks a little lower than the other.
DEPTH_PER_RESULT = 3
MIN_DEPTH = 30


class SearchService:
    """Searches the articles of one database with its active embedding model (or none).

    `provider` embeds for `model`, the configured one; the provider of another active model is
    built from its registry row when a search first needs it (closed by `aclose`).
    """

    def __init__(
        self,
        settings: Settings,
        db: Database,
        provider: EmbeddingProvider | None,
        model: ModelRecord | None,
    ) -> None:
        self._settings = settings
        self._db = db
        self._models = ActiveModels(settings, db, provider, model)
        self._mirror = Bm25Mirror(db) if settings.fulltext_index == "memory" else None

    @property
    def fulltext_index(self) -> Bm25Mirror | None:
        """The in-memory BM25 index (FULLTEXT_INDEX=memory), loaded by `keep_fulltext_current`."""
        return self._mirror

    async def keep_fulltext_current(self) -> None:
        """Load the in-memory BM25 index and keep it current, until cancelled (a serving
        process runs this in the background; full text runs in SQL until it is loaded)."""
        if self._mirror is not None:
            await self._mirror.maintain()

    async def aclose(self) -> None:
        """Close the providers built for models other than the configured one."""
        await self._models.aclose()

    async def warm_up(self) -> None:
        """Get the provider ready for query vectors, so the first search need not wait for it.

        A local model takes seconds to load, longer than SEARCH_EMBED_TIMEOUT allows a query:
        call this once at start-up (in the background). Failures are logged, not raised.
        """
        try:
            model = await self._models.current()
            if model is not None:
                await self._models.embedder(model).warm_up()
        except (ProviderError, SemanticUnavailableError) as exc:
            log.warning("search_warm_up_failed", error=str(exc))

    async def search(self, request: SearchRequest) -> SearchResponse:
        """Run one search; raises InvalidInputError for a bad request."""
        request = validated(request)
        queries = list(dict.fromkeys([request.query, *request.multi_query]))
        depth = max(request.k * DEPTH_PER_RESULT, MIN_DEPTH)
        # The query vectors are made before a connection is held (a provider may take seconds),
        # for the model the latest search read. Then one read of the active model, on the
        # connection the semantic leg and the results use one statement after another (a
        # pooled connection costs a reset query when it goes back): every part of this search
        # uses that model alone, its own vectors made now if it is another (a switch since).
        # The full-text leg runs at the same time on a connection of its own.
        guess = await self._models.last()
        early = await self._settled(guess, queries, request.mode)
        async with pooled_connection(self._db) as conn:
            model = await self._models.current(conn)
            found, notice = (
                early() if model == guess else await self._vectors_or_notice(model, queries, request.mode)
            )
            semantic, fulltext = await both(
                lambda: self._semantic(conn, found, request, depth),
                lambda: self._fulltext(queries, request, depth) if request.mode != "semantic" else _nothing(),
            )
            rankings = semantic + fulltext
            chosen = await self._choose(conn, model, rankings, request)
            results = await self._hits(conn, model, chosen, request.passages)
        searched: list[Leg] = sorted({r.leg for r in rankings})
        fallback = request.mode == "hybrid" and found is None
        if found is not None and request.mode == "hybrid":
            notice = _join(notice, _uncovered(found.model, results))
        log.debug("search", mode=request.mode, searched=searched, results=len(results), fallback=fallback)
        return SearchResponse(
            mode=request.mode,
            searched=searched,
            fallback=fallback,
            notice=notice,
            model=found.model.name if found is not None else None,
            results=results,
        )

    async def _settled(
        self, model: ModelRecord | None, queries: Sequence[str], mode: str
    ) -> Callable[[], tuple[QueryVectors | None, str | None]]:
        """`_vectors_or_notice`, its outcome kept: returned by the call, or raised by it."""
        try:
            outcome = await self._vectors_or_notice(model, queries, mode)
        except (InvalidInputError, UnavailableError) as exc:
            error = exc

            def fail() -> tuple[QueryVectors | None, str | None]:
                raise error

            return fail
        return lambda: outcome

    async def _vectors_or_notice(
        self, model: ModelRecord | None, queries: Sequence[str], mode: str
    ) -> tuple[QueryVectors | None, str | None]:
        """The query vectors, or why there are none: a notice for hybrid, an error for semantic.

        A phrasing longer than the model's window (CHUNK_SIZE, the budget passages are cut to)
        is embedded from its leading words, and the notice says so.
        """
        if mode == "fulltext":
            return None, None
        window = self._settings.chunk_size
        fitted = [fit_tokens(q, window) for q in queries]
        try:
            found = await self._models.embed(model, fitted)
        except SemanticUnavailableError as exc:
            if mode == "hybrid":
                return None, f"{exc}: results come from full text alone"
            if exc.reason == "disabled":
                raise InvalidInputError("mode", f"{DISABLED}; use fulltext or hybrid") from exc
            raise UnavailableError(f"semantic search is unavailable: {exc}; use mode=fulltext") from exc
        cut = sum(f != q for f, q in zip(fitted, queries, strict=True))
        notice = (
            f"{cut} of {len(queries)} query phrasings exceed the embedding model's window of about "
            f"{window} tokens: semantic search embedded their leading words, full text all of them"
            if cut
            else None
        )
        return found, notice

    # -- the legs ---------------------------------------------------------------------------

    async def _semantic(
        self, conn: asyncpg.Connection, found: QueryVectors | None, request: SearchRequest, depth: int
    ) -> list[Ranking]:
        if found is None:
            return []
        limit, ef_search = depth * request.passages, self._settings.hnsw_ef_search
        if not request.folder and not request.tags:
            # every folder and tag: one statement per phrasing, its settings in it
            everywhere = semantic_sql_everywhere(found.model.id, found.dimensions, ef_search, limit)
            return [
                ranking("semantic", await conn.fetch(everywhere, vector), depth, request.passages)
                for vector in found.vectors
            ]
        sql = semantic_sql(found.model.id, found.dimensions)
        rankings = []
        async with conn.transaction():
            await conn.execute(QUERIES["tune_semantic"], str(ef_search))
            for vector in found.vectors:
                rows = await conn.fetch(sql, vector, limit, request.folder or None, request.tags)
                rankings.append(ranking("semantic", rows, depth, request.passages))
        return rankings

    async def _fulltext(self, queries: Sequence[str], request: SearchRequest, depth: int) -> list[Ranking]:
        n = depth * request.passages
        found: list[list[ChunkHit]] | None = None
        if self._mirror is not None and self._mirror.ready:
            try:
                found = await self._fulltext_in_memory(self._mirror, queries, request, n)
            except StaleIndexError as exc:
                log.info("fulltext_index_stale", reason=str(exc))
        if found is None:
            found = await self._fulltext_in_sql(queries, request, n)
        return [rank_articles("fulltext", hits, depth=depth, passages=request.passages) for hits in found]

    async def _fulltext_in_memory(
        self, mirror: Bm25Mirror, queries: Sequence[str], request: SearchRequest, n: int
    ) -> list[list[ChunkHit]]:
        settings = self._settings
        folder = request.folder or None  # the SQL takes NULL for every folder
        async with pooled_connection(self._db) as conn:
            row = await conn.fetchrow(
                QUERIES["fulltext_terms"], settings.text_search_config, list(queries), folder, request.tags
            )
            assert row is not None  # an aggregate: always one row
            terms: list[list[Term]] = [[] for _ in queries]
            for number, lexeme, count in zip(row["queries"], row["lexemes"], row["counts"], strict=True):
                terms[number - 1].append(Term(lexeme, count))
            return await mirror.top(
                conn, terms, n, k1=settings.bm25_k1, b=settings.bm25_b, articles=row["articles"]
            )

    async def _fulltext_in_sql(
        self, queries: Sequence[str], request: SearchRequest, n: int
    ) -> list[list[ChunkHit]]:
        settings = self._settings
        found = []
        async with pooled_connection(self._db, transaction=True) as conn:
            await conn.execute(QUERIES["tune_fulltext"])
            for query in queries:
                rows = await conn.fetch(
                    QUERIES["fulltext_chunks"],
                    settings.text_search_config,
                    query,
                    settings.bm25_k1,
                    settings.bm25_b,
                    n,
                    request.folder or None,  # the SQL takes NULL for every folder
                    request.tags,
                )
                found.append([ChunkHit(r["article_id"], r["chunk_id"], float(r["score"])) for r in rows])
        return found

    # -- fusion and results -----------------------------------------------------------------

    async def _choose(
        self,
        conn: asyncpg.Connection,
        model: ModelRecord | None,
        rankings: Sequence[Ranking],
        request: SearchRequest,
    ) -> list[Candidate]:
        weights: dict[Leg, float] = {
            "semantic": self._settings.search_semantic_weight,
            "fulltext": self._settings.search_fulltext_weight,
        }
        rrf_k = self._settings.search_rrf_k if request.mode == "hybrid" else None
        candidates = fuse(rankings, rrf_k=rrf_k, weights=weights)
        if request.min_score is not None:
            candidates = [c for c in candidates if c.score >= request.min_score]
        if request.diversity > 0:
            vectors = await _article_vectors(conn, model, candidates)
            return diversify(candidates, vectors, k=request.k, diversity=request.diversity)
        return candidates[: request.k]

    async def _hits(
        self, conn: asyncpg.Connection, model: ModelRecord | None, chosen: Sequence[Candidate], passages: int
    ) -> list[SearchHit]:
        if not chosen:
            return []
        article_ids = [c.article_id for c in chosen]
        shown = {c.article_id: c.passages(passages) for c in chosen}
        chunk_ids = [chunk_id for found in shown.values() for chunk_id, _ in found]
        rows = await conn.fetch(QUERIES["passages_shown"], chunk_ids)
        statuses = await _statuses(conn, model, article_ids)
        articles = {r["article_id"]: r for r in rows}
        chunks = {r["id"]: r for r in rows}
        return [
            search_hit(
                c, articles[c.article_id], [(chunks[i], how) for i, how in shown[c.article_id]], statuses
            )
            for c in chosen
            # an article deleted between ranking and showing is left out
            if c.article_id in articles and all(i in chunks for i, _ in shown[c.article_id])
        ]


async def _article_vectors(
    conn: asyncpg.Connection, model: ModelRecord | None, candidates: Sequence[Candidate]
) -> dict[int, Vector]:
    """The unit vector of each candidate's best passage, where the model has one."""
    if model is None:
        return {}
    best = {c.passages(1)[0][0]: c.article_id for c in candidates}
    rows = await conn.fetch(QUERIES["passage_vectors"], list(best), model.id)
    vectors = {}
    for row in rows:
        vector = np.asarray(row["embedding"].to_numpy(), dtype=np.float32)
        vectors[best[row["chunk_id"]]] = vector / (float(np.linalg.norm(vector)) or 1.0)
    return vectors


async def _statuses(
    conn: asyncpg.Connection, model: ModelRecord | None, article_ids: list[int]
) -> dict[int, EmbeddingStatus]:
    if model is None:
        return {}
    found = await tasks.embedding_statuses(conn, article_ids, model.id)
    return {article_id: status.status for article_id, status in found.items()}


def semantic_sql(model_id: int, dims: int) -> str:
    """The semantic query for one model, filtered by folder $3 and tags $4, the $2 nearest: to
    run after tune_semantic, in its transaction."""
    return _semantic_template(model_id, dims, QUERIES["semantic_filters"], "$2")


def semantic_sql_everywhere(model_id: int, dims: int, ef_search: int, limit: int) -> str:
    """The semantic query for one model over every folder and tag, the `limit` nearest: to run
    alone, its index settings in it (semantic_everywhere in service.sql)."""
    settings = QUERIES["semantic_everywhere"].replace("{ef_search}", str(int(ef_search)))
    return _semantic_template(model_id, dims, settings, str(int(limit)))


def _semantic_template(model_id: int, dims: int, filters: str, limit: str) -> str:
    """semantic_chunks filled in. The model's partial HNSW index is matched only on a literal
    predicate and cast, so its integers are written into the SQL, as are the settings' and a
    limit's: they come from the model's record, the settings and a validated request's k and
    passages, and int() guarantees they are plain integers."""
    return (
        QUERIES["semantic_chunks"]
        .replace("{filters}", filters)
        .replace("{limit}", limit)
        .replace("{dims}", str(int(dims)))
        .replace("{model_id}", str(int(model_id)))
    )


def validated(request: SearchRequest) -> SearchRequest:
    """The request with its text checked and trimmed; '' as folder means every folder."""
    return request.model_copy(
        update={
            "query": check_query(request.query),
            "multi_query": [check_query(q, "multi_query") for q in request.multi_query],
            "folder": check_folder(request.folder),
            "tags": check_tags(request.tags),
        }
    )


def _uncovered(model: ModelRecord, results: Sequence[SearchHit]) -> str | None:
    """Say so when results lack the searched model's vectors: full text alone found them (a
    model activated with --force, or an article written since and not embedded yet)."""
    lacking = sum(hit.embedding_status != "ready" for hit in results)
    if not lacking:
        return None
    return (
        f"{lacking} of {len(results)} results are not fully embedded with model {model.name} yet:"
        " full text found them, meaning only what is embedded"
    )


def _join(*notices: str | None) -> str | None:
    return "; ".join(n for n in notices if n) or None


async def _nothing() -> list[Ranking]:
    return []
