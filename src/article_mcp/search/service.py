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
from article_mcp.queue import tasks
from article_mcp.search.fusion import Candidate, ChunkHit, Ranking, Vector, diversify, fuse, rank_articles
from article_mcp.search.models import Leg, MatchedBy, Passage, SearchHit, SearchRequest, SearchResponse
from article_mcp.search.query_vectors import QueryEmbedder

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
        async with pooled_connection(self._db, transaction=True) as conn:
            await conn.execute(QUERIES["tune_search"], str(self._settings.hnsw_ef_search))
            rankings = await self._semantic(conn, vectors, request, depth) if vectors else []
            if request.mode != "semantic":
                rankings += await self._fulltext(conn, queries, request, depth)
            chosen = await self._choose(conn, rankings, request)
            results = await self._hits(conn, chosen, request.passages)
        searched: list[Leg] = sorted({r.leg for r in rankings})
        log.debug("search", mode=request.mode, searched=searched, results=len(results), fallback=bool(notice))
        return SearchResponse(
            mode=request.mode,
            searched=searched,
            fallback=notice is not None,
            notice=notice,
            model=self._model.name if vectors and self._model else None,
            results=results,
        )

    async def _vectors_or_notice(self, queries: Sequence[str], mode: str) -> tuple[list[Vector], str | None]:
        """The query vectors, or why there are none: a notice for hybrid, an error for semantic."""
        if mode == "fulltext":
            return [], None
        try:
            return await self._query_vectors(queries), None
        except SemanticUnavailableError as exc:
            if mode == "hybrid":
                return [], f"{exc}: results come from full text alone"
            if exc.reason == "disabled":
                raise InvalidInputError("mode", f"{DISABLED}; use fulltext or hybrid") from exc
            raise UnavailableError(f"semantic search is unavailable: {exc}; use mode=fulltext") from exc

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

    async def _semantic(
        self, conn: asyncpg.Connection, vectors: Sequence[Vector], request: SearchRequest, depth: int
    ) -> list[Ranking]:
        assert self._model is not None
        assert self._dims is not None
        sql = semantic_sql(self._model.id, self._dims)
        rankings = []
        for vector in vectors:
            rows = await conn.fetch(
                sql, vector, depth * request.passages, request.folder or None, request.tags
            )
            rankings.append(_ranking("semantic", rows, depth, request.passages))
        return rankings

    async def _fulltext(
        self, conn: asyncpg.Connection, queries: Sequence[str], request: SearchRequest, depth: int
    ) -> list[Ranking]:
        settings = self._settings
        rankings = []
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
            rankings.append(_ranking("fulltext", rows, depth, request.passages))
        return rankings

    # -- fusion and results -----------------------------------------------------------------

    async def _choose(
        self, conn: asyncpg.Connection, rankings: Sequence[Ranking], request: SearchRequest
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
            vectors = await self._article_vectors(conn, candidates)
            return diversify(candidates, vectors, k=request.k, diversity=request.diversity)
        return candidates[: request.k]

    async def _article_vectors(
        self, conn: asyncpg.Connection, candidates: Sequence[Candidate]
    ) -> dict[int, Vector]:
        """The unit vector of each candidate's best passage, where the model has one."""
        if self._model is None:
            return {}
        best = {c.passages(1)[0][0]: c.article_id for c in candidates}
        rows = await conn.fetch(QUERIES["passage_vectors"], list(best), self._model.id)
        vectors = {}
        for row in rows:
            vector = np.asarray(row["embedding"].to_numpy(), dtype=np.float32)
            vectors[best[row["chunk_id"]]] = vector / (float(np.linalg.norm(vector)) or 1.0)
        return vectors

    async def _hits(
        self, conn: asyncpg.Connection, chosen: Sequence[Candidate], passages: int
    ) -> list[SearchHit]:
        if not chosen:
            return []
        article_ids = [c.article_id for c in chosen]
        shown = {c.article_id: c.passages(passages) for c in chosen}
        articles = {r["id"]: r for r in await conn.fetch(QUERIES["articles_shown"], article_ids)}
        chunk_ids = [chunk_id for found in shown.values() for chunk_id, _ in found]
        chunks = {r["id"]: r for r in await conn.fetch(QUERIES["passages_shown"], chunk_ids)}
        statuses = await self._statuses(conn, article_ids)
        return [
            _hit(c, articles[c.article_id], [(chunks[i], how) for i, how in shown[c.article_id]], statuses)
            for c in chosen
            # an article deleted between ranking and showing is left out
            if c.article_id in articles and all(i in chunks for i, _ in shown[c.article_id])
        ]

    async def _statuses(self, conn: asyncpg.Connection, article_ids: list[int]) -> dict[int, EmbeddingStatus]:
        if self._model is None:
            return {}
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


def _ranking(leg: Leg, rows: Sequence[asyncpg.Record], depth: int, passages: int) -> Ranking:
    hits = (ChunkHit(r["article_id"], r["chunk_id"], float(r["score"])) for r in rows)
    return rank_articles(leg, hits, depth=depth, passages=passages)


def _hit(
    candidate: Candidate,
    article: asyncpg.Record,
    passages: Sequence[tuple[asyncpg.Record, MatchedBy]],
    statuses: dict[int, EmbeddingStatus],
) -> SearchHit:
    return SearchHit(
        slug=article["slug"],
        title=article["title"],
        folder=article["folder"],
        tags=list(article["tags"]),
        version=article["version"],
        updated_at=article["updated_at"],
        score=candidate.score,
        matched_by=candidate.matched_by,
        semantic_score=candidate.best.get("semantic"),
        fulltext_score=candidate.best.get("fulltext"),
        embedding_status=statuses.get(candidate.article_id, "disabled"),
        passages=[
            Passage(
                text=chunk["content"],
                heading_path=list(chunk["heading_path"]),
                chunk_index=chunk["chunk_index"],
                matched_by=how,
            )
            for chunk, how in passages
        ],
    )
