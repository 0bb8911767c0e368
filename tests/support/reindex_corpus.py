"""Articles written under the default settings, for the reindex tests."""

from __future__ import annotations

from article_mcp.articles.service import ArticleService
from article_mcp.config import Settings
from article_mcp.db.pool import Database
from tests.support.queue_states import add_model

SENTENCE = "The wing number {n} meets a shock wave at speed {i}."
LONG = "\n\n".join(
    f"## Section {n}\n\n" + " ".join(SENTENCE.format(n=n, i=i) for i in range(12)) for n in range(4)
)
SHORT = "Heat flows through the boundary layer."


async def write_corpus(db: Database, settings: Settings) -> dict[str, int]:
    """A long article (more passages at a smaller chunk size), a short one (one passage at any
    size), and a no_rag one; their write-time tasks are dropped. Returns ids by slug."""
    async with db.pool.acquire() as conn:
        model = await add_model(conn, settings.embedding_model_name, settings.embedding_provider)
    service = ArticleService(settings, db, model)
    ids = {}
    for title, content, no_rag in (("Long", LONG, False), ("Short", SHORT, False), ("Private", LONG, True)):
        slug = (await service.create(title, content, no_rag=no_rag)).slug
        ids[slug] = await db.pool.fetchval("SELECT id FROM articles WHERE slug = $1", slug)
    await db.pool.execute("DELETE FROM embedding_tasks")
    return ids
