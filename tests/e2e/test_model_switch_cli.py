"""`article-mcp embeddings plan|build|activate|prune` as an operator runs them: the configured
model registers as building beside the active one, activation is refused below full coverage
(with the count) unless forced, a retired model is pruned only after its grace period."""

from __future__ import annotations

import json
from typing import Any

import pytest

from article_mcp.articles.service import ArticleService
from article_mcp.db.pool import Database
from tests.conftest import CliResult, cli_env, make_settings, run_cli
from tests.support.fake_providers import FakeEmbeddingServer, fake_server

__all__ = ["fake_server"]

pytestmark = pytest.mark.anyio


async def embeddings(
    db: Database, server: FakeEmbeddingServer, model: str, *args: str, **env: str
) -> CliResult:
    variables = {**server.env("ollama", embedding_model=model), **env}
    return await run_cli("embeddings", *args, env=cli_env(DATABASE_URL=db.dsn, **variables))


async def as_json(result: CliResult) -> Any:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


async def test_plan_build_activate_and_prune(db: Database, fake_server: FakeEmbeddingServer) -> None:
    service = ArticleService(make_settings(db.dsn, semantic_search_enabled=False), db, None)
    for i in range(3):
        await service.create(f"Article {i}", f"# Part {i}\n\nSome text about topic {i}.\n")

    # The first model registers active; its build queues every article at low priority.
    built = await as_json(await embeddings(db, fake_server, "old", "build", "old", "--json"))
    assert built["articles"] == 3
    priorities = await db.pool.fetch("SELECT DISTINCT priority::text FROM embedding_tasks")
    assert [r["priority"] for r in priorities] == ["low"]

    plan = await as_json(
        await embeddings(
            db, fake_server, "new", "plan", "ollama/new", "--json", EMBEDDING_PRICE_PER_MILLION_TOKENS="2.5"
        )
    )
    assert (plan["state"], plan["articles"], plan["passages"], plan["counted_by"]) == (
        "building",
        3,
        3,
        "estimate",
    )
    assert plan["tokens"] > 0 and plan["cost"] == pytest.approx(plan["tokens"] / 1e6 * 2.5)
    assert fake_server.call_count == 0, "a plan sends nothing to the provider"

    refused = await embeddings(db, fake_server, "new", "activate", "new")
    assert refused.returncode == 4 and "no vectors yet for 3 articles" in refused.stderr
    forced = await embeddings(db, fake_server, "new", "activate", "new", "--force")
    assert forced.returncode == 0, forced.stderr
    assert "3 articles lack its vectors" in forced.stdout and "activate ollama/old" in forced.stdout

    status = await as_json(await embeddings(db, fake_server, "new", "status", "--json"))
    assert status["active_model"] == "ollama/new"
    assert {m["name"]: m["state"] for m in status["models"]} == {"old": "retired", "new": "active"}

    early = await embeddings(db, fake_server, "new", "prune", "old", "--yes")
    assert early.returncode == 4 and "EMBEDDING_RETIRED_GRACE_HOURS" in early.stderr
    # Rolled back with no grace: the model it retires may be pruned at once.
    back = await embeddings(
        db, fake_server, "new", "activate", "old", "--force", EMBEDDING_RETIRED_GRACE_HOURS="0"
    )
    assert back.returncode == 0, back.stderr
    pruned = await as_json(await embeddings(db, fake_server, "new", "prune", "new", "--yes", "--json"))
    assert pruned["model"] == "ollama/new" and pruned["vectors"] == 0

    unknown = await embeddings(db, fake_server, "new", "activate", "nope")
    assert (
        unknown.returncode == 2 and "MODEL" in unknown.stderr and "not a registered model" in unknown.stderr
    )
