"""Search by meaning and by words: `semantic`, `fulltext` (BM25) and `hybrid` (both, fused).

`SearchService.search(SearchRequest) -> SearchResponse` is the whole surface. Each phrasing
of the query runs through the legs the mode asks for; each leg ranks passages, which are
grouped into articles (best passage first) and fused: hybrid by reciprocal rank fusion,
a single leg by best score. Results are articles with their best passages, why they
matched, and their embedding status.

Only vectors of the active model are searched, through its partial HNSW index. When
semantic search is off, nothing is embedded yet, or the provider fails or is too slow for
the query's vector, `hybrid` answers from full text alone and says so (`fallback`, `notice`);
`semantic` raises, since it has nothing else to offer. The service calls the provider for
query vectors only, remembered briefly (see query_vectors.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
import numpy as np
import structlog

from article_mcp.articles.models import EmbeddingStatus
from article_mcp.articles.rules import check_folder, check_query, check_tags
from article_mcp.config import Settings
from article_mcp.db.pool import Database, pooled_connection
from article_mcp.db.sql import Queries
from article_mcp.embeddings import registry
from article_mcp.embeddings.providers.base import EmbeddingProvider
from article_mcp.embeddings.registry import ModelRecord
from article_mcp.errors import (
    InvalidInputError,
    PermanentProviderError,
    ProviderError,
    SemanticUnavailableError,
    UnavailableError,
)
from article_mcp.passages.tokens import fit_tokens
from article_mcp.queue import tasks
from article_mcp.search.concurrent import both
from article_mcp.search.fusion import Candidate, Ranking, Vector, diversify, fuse
from article_mcp.search.models import Leg, SearchHit, SearchRequest, SearchResponse
from article_mcp.search.query_vectors import QueryEmbedder
from article_mcp.search.results import ranking, search_hit

QUERIES = Queries("article_mcp.search", "service.sql")
log = structlog.get_logger(__name__)

# Each leg ranks this many articles per result asked for (at least MIN_DEPTH): fusion needs
# articles that one leg ranks a little lower than the other.
DEPTH_PER_RESULT = 3
MIN_DEPTH = 30

DISABLED = "semantic search is disabled on this server (SEMANTIC_SEARCH_ENABLED=false)"


class SearchService:
    """Searches the articles of one database with one embedding model (or none)."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        provider: EmbeddingProvider | None,
        model: ModelRecord | None,
    ) -> None:
        self._settings = settings
        self._db = db
        enabled = settings.semantic_search_enabled and provider is not None and model is not None
        self._model = model if enabled else None
        self._dims = model.dimensions if model is not None else None
        self._embedder = (
            QueryEmbedder(
                provider,
                ttl_s=settings.search_query_cache_ttl,
                size=settings.search_query_cache_size,
                timeout_s=settings.search_embed_timeout / 1000,
            )
            if enabled and provider is not None
            else None
        )

    async def warm_up(self) -> None:
        """Get the provider ready for query vectors, so the first search need not wait for it.

        A local model takes seconds to load, longer than SEARCH_EMBED_TIMEOUT allows a query:
        call this once at start-up (in the background). Failures are logged, not raised.
        """
        if self._embedder is None:
            return
        try:
            await self._embedder.warm_up()
        except ProviderError as exc:
            log.warning("search_warm_up_failed", error=exc.message)

    async def search(self, request: SearchRequest) -> SearchResponse:
        """Run one search; raises InvalidInputError for a bad request."""
        request = validated(request)
        queries = list(dict.fromkeys([request.query, *request.multi_query]))
        depth = max(request.k * DEPTH_PER_RESULT, MIN_DEPTH)
        vectors, notice = await self._vectors_or_notice(queries, request.mode)
        # The legs run at once, each on a connection of its own.
        semantic, fulltext = await both(
            lambda: self._semantic(vectors, request, depth),
            lambda: self._fulltext(queries, request, depth) if request.mode != "semantic" else _nothing(),
        )
        rankings = semantic + fulltext
        chosen = await self._choose(rankings, request)
        results = await self._hits(chosen, request.passages)
        searched: list[Leg] = sorted({r.leg for r in rankings})
        fallback = request.mode == "hybrid" and not vectors
        log.debug("search", mode=request.mode, searched=searched, results=len(results), fallback=fallback)
        return SearchResponse(
            mode=request.mode,
            searched=searched,
            fallback=fallback,
            notice=notice,
            model=self._model.name if vectors and self._model else None,
            results=results,
        )

    async def _vectors_or_notice(self, queries: Sequence[str], mode: str) -> tuple[list[Vector], str | None]:
        """The query vectors, or why there are none: a notice for hybrid, an error for semantic.

        A phrasing longer than the model's window (CHUNK_SIZE, the budget passages are cut to)
        is embedded from its leading words, and the notice says so.
        """
        if mode == "fulltext":
            return [], None
        window = self._settings.chunk_size
        fitted = [fit_tokens(q, window) for q in queries]
        try:
            vectors = await self._query_vectors(fitted)
        except SemanticUnavailableError as exc:
            if mode == "hybrid":
                return [], f"{exc}: results come from full text alone"
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
        return vectors, notice

    # -- the legs ---------------------------------------------------------------------------

    async def _query_vectors(self, queries: Sequence[str]) -> list[Vector]:
        if self._embedder is None or self._model is None:
            raise SemanticUnavailableError("disabled", DISABLED)
        dims = await self._dimensions()
        if dims is None:
            raise SemanticUnavailableError(
                "not_embedded", f"nothing has been embedded with model {self._model.name} yet"
            )
        try:
            vectors = await self._embedder.embed(queries)
        except ProviderError as exc:
            raise SemanticUnavailableError(
                "provider_failed", f"the embedding provider failed: {exc.message}"
            ) from exc
        if any(len(v) != dims for v in vectors):
            raise PermanentProviderError(
                f"model {self._model.name} now returns {len(vectors[0])}-dimensional vectors but its "
                f"stored embeddings have {dims}; re-embed with `article-mcp embeddings backfill`"
            )
        return vectors

    async def _dimensions(self) -> int | None:
        # The worker learns the dimension from the first vectors; until then there is no index.
        if self._dims is None and self._model is not None:
            async with pooled_connection(self._db) as conn:
                self._dims = await registry.recorded_dimensions(conn, self._model.id)
        return self._dims

    async def _semantic(self, vectors: Sequence[Vector], request: SearchRequest, depth: int) -> list[Ranking]:
        if not vectors:
            return []
        assert self._model is not None
        assert self._dims is not None
        sql = semantic_sql(self._model.id, self._dims)
        rankings = []
        async with pooled_connection(self._db, transaction=True) as conn:
            await conn.execute(QUERIES["tune_semantic"], str(self._settings.hnsw_ef_search))
            for vector in vectors:
                rows = await conn.fetch(
                    sql, vector, depth * request.passages, request.folder or None, request.tags
                )
                rankings.append(ranking("semantic", rows, depth, request.passages))
        return rankings

    async def _fulltext(self, queries: Sequence[str], request: SearchRequest, depth: int) -> list[Ranking]:
        settings = self._settings
        rankings = []
        async with pooled_connection(self._db, transaction=True) as conn:
            await conn.execute(QUERIES["tune_fulltext"])
            for query in queries:
                rows = await conn.fetch(
                    QUERIES["fulltext_chunks"],
                    settings.text_search_config,
                    query,
                    settings.bm25_k1,
                    settings.bm25_b,
                    depth * request.passages,
                    request.folder or None,  # the SQL takes NULL for every folder
                    request.tags,
                )
                rankings.append(ranking("fulltext", rows, depth, request.passages))
        return rankings

    # -- fusion and results -----------------------------------------------------------------

    async def _choose(self, rankings: Sequence[Ranking], request: SearchRequest) -> list[Candidate]:
        weights: dict[Leg, float] = {
            "semantic": self._settings.search_semantic_weight,
            "fulltext": self._settings.search_fulltext_weight,
        }
        rrf_k = self._settings.search_rrf_k if request.mode == "hybrid" else None
        candidates = fuse(rankings, rrf_k=rrf_k, weights=weights)
        if request.min_score is not None:
            candidates = [c for c in candidates if c.score >= request.min_score]
        if request.diversity > 0:
            vectors = await self._article_vectors(candidates)
            return diversify(candidates, vectors, k=request.k, diversity=request.diversity)
        return candidates[: request.k]

    async def _article_vectors(self, candidates: Sequence[Candidate]) -> dict[int, Vector]:
        """The unit vector of each candidate's best passage, where the model has one."""
        if self._model is None:
            return {}
        best = {c.passages(1)[0][0]: c.article_id for c in candidates}
        rows = await self._fetch(QUERIES["passage_vectors"], list(best), self._model.id)
        vectors = {}
        for row in rows:
            vector = np.asarray(row["embedding"].to_numpy(), dtype=np.float32)
            vectors[best[row["chunk_id"]]] = vector / (float(np.linalg.norm(vector)) or 1.0)
        return vectors

    async def _hits(self, chosen: Sequence[Candidate], passages: int) -> list[SearchHit]:
        if not chosen:
            return []
        article_ids = [c.article_id for c in chosen]
        shown = {c.article_id: c.passages(passages) for c in chosen}
        chunk_ids = [chunk_id for found in shown.values() for chunk_id, _ in found]
        rows, statuses = await both(
            lambda: self._fetch(QUERIES["passages_shown"], chunk_ids), lambda: self._statuses(article_ids)
        )
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

    async def _fetch(self, sql: str, *args: object) -> list[asyncpg.Record]:
        async with pooled_connection(self._db) as conn:
            return await conn.fetch(sql, *args)

    async def _statuses(self, article_ids: list[int]) -> dict[int, EmbeddingStatus]:
        if self._model is None:
            return {}
        async with pooled_connection(self._db) as conn:
            found = await tasks.embedding_statuses(conn, article_ids, self._model.id)
        return {article_id: status.status for article_id, status in found.items()}


def semantic_sql(model_id: int, dims: int) -> str:
    """The semantic query for one model.

    The model's partial HNSW index is matched only on a literal predicate and cast
    (search.sql), so both integers are written into the SQL; they come from the model's
    record, never from a request, and int() guarantees they are plain integers.
    """
    return (
        QUERIES["semantic_chunks"].replace("{dims}", str(int(dims))).replace("{model_id}", str(int(model_id)))
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


async def _nothing() -> list[Ranking]:
    return []
