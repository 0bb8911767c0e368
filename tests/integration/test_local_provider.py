"""The local provider with the real bundled all-MiniLM-L6-v2: a query about an article ranks
it first, the model loads once, and the base install works without the [local] extra."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import anyio
import numpy as np
import pytest

from article_mcp.embeddings.batching import embed_texts
from article_mcp.embeddings.providers import create_provider, local
from article_mcp.embeddings.providers.local import LocalProvider
from article_mcp.errors import ConfigError, PermanentProviderError
from article_mcp.passages.chunking import chunk_article
from tests.conftest import make_settings

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

try:
    import sentence_transformers  # noqa: F401
except ImportError:  # pragma: no cover - CI installs the extra
    pytest.skip("the [local] extra is not installed", allow_module_level=True)

ARTICLES = {
    "Sourdough bread at home": """
# Starter
Feed the starter with equal weights of flour and water until it doubles within hours.

# Dough
Mix flour, water and salt, fold the dough every half hour, then let it rise overnight in the fridge.

# Baking
Bake in a preheated Dutch oven; remove the lid after twenty minutes for a dark crust.
""",
    "Structured concurrency with anyio": """
# Task groups
A task group owns the tasks started in it; leaving the block waits for all of them.

# Cancellation
Cancel scopes cancel everything inside them; shield a scope to finish cleanup.

```python
async with anyio.create_task_group() as tg:
    tg.start_soon(worker)
```
""",
    "Wing aerodynamics": """
# Lift
A wing produces lift by turning the airflow downward; lift grows with the angle of attack until stall.

# Boundary layer
The boundary layer separates from the upper surface at high angles, and the wing stalls.
""",
    "Growing tomatoes": """
# Planting
Plant tomatoes deep in sunny beds after the last frost and water them at the roots.

# Pests
Watch for hornworms and blight; remove infected leaves early.
""",
}

QUERIES = {
    "why did my loaf not rise in the oven": "Sourdough bread at home",
    "how do I wait for background jobs and cancel them in Python": "Structured concurrency with anyio",
    "what happens to an airplane wing at a high angle of attack": "Wing aerodynamics",
    "my vegetable plants have spots on their leaves": "Growing tomatoes",
}


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def provider() -> AsyncIterator[LocalProvider]:
    made = create_provider(make_settings(embedding_provider="local"))
    assert isinstance(made, LocalProvider)
    yield made
    await made.aclose()


async def test_a_query_about_an_article_ranks_it_first(provider: LocalProvider) -> None:
    titles, texts = [], []
    for title, content in ARTICLES.items():
        for chunk in chunk_article(title, content, max_tokens=240, overlap=32):
            titles.append(title)
            texts.append(chunk.embed_text)
    chunks = await embed_texts(provider, texts, batch_size=4)
    queries = await embed_texts(provider, list(QUERIES), batch_size=64)
    vectors = np.asarray(chunks.vectors)
    assert vectors.shape == (len(texts), 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4), "unit vectors"
    for query, vector in zip(QUERIES, queries.vectors, strict=True):
        scores = vectors @ np.asarray(vector)
        best: dict[str, float] = {}
        for title, score in zip(titles, scores, strict=True):
            best[title] = max(best.get(title, -1.0), float(score))
        ranking = sorted(best, key=best.__getitem__, reverse=True)
        assert ranking[0] == QUERIES[query], f"{query!r} ranked {ranking}"


async def test_the_model_loads_once_under_concurrent_use(monkeypatch: pytest.MonkeyPatch) -> None:
    loads: list[str] = []
    real_load = local.load_model

    def counting_load(name: str) -> Any:
        loads.append(name)
        return real_load(name)

    monkeypatch.setattr(local, "load_model", counting_load)
    provider = LocalProvider(make_settings(embedding_provider="local"))
    results: list[int] = []

    async def embed(text: str) -> None:
        results.append(len((await provider.embed([text])).vectors[0]))

    async with anyio.create_task_group() as tg:
        for n in range(4):
            tg.start_soon(embed, f"text {n}")
    assert loads == ["all-MiniLM-L6-v2"]
    assert results == [384] * 4
    await provider.aclose()


async def test_same_text_same_vector(provider: LocalProvider) -> None:
    first = await provider.embed(["deterministic text", "other"])
    second = await provider.embed(["deterministic text"])
    assert np.allclose(first.vectors[0], second.vectors[0], atol=1e-5)


async def test_tokens_are_counted_with_the_models_own_tokenizer(provider: LocalProvider) -> None:
    model = await provider.loaded()
    texts = ["hello world", "a longer sentence about sourdough starters"]
    batch = await provider.embed(texts)
    # WordPiece ids of each text, with its [CLS] and [SEP]: what the model read.
    expected = sum(len(model.tokenizer(text)["input_ids"]) for text in texts)
    assert batch.usage_source == "counted" and batch.tokens == expected
    assert (await provider.embed(["hello world"])).tokens == 4


async def test_a_model_path_that_does_not_exist_is_permanent(tmp_path: Any) -> None:
    provider = create_provider(
        make_settings(embedding_provider="local", embedding_model=str(tmp_path / "none"))
    )
    with pytest.raises(PermanentProviderError, match="cannot load the local model"):
        await provider.embed(["x"])
    await provider.aclose()


def test_without_the_extra_the_local_provider_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)
    with pytest.raises(ConfigError, match=r"pip install 'article-mcp\[local\]'"):
        create_provider(make_settings(embedding_provider="local"))


def test_the_base_install_never_imports_the_model_libraries() -> None:
    code = (
        "import sys\n"
        "import article_mcp.embeddings.providers, article_mcp.embeddings.batching\n"
        "import article_mcp.embeddings.registry, article_mcp.passages.chunking\n"
        "from article_mcp.cli import main\n"
        "heavy = {'sentence_transformers', 'torch', 'transformers'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
