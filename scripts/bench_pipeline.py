"""Chunks per second through the embedding pipeline next to the model's own `encode`.

Both sides embed the same chunks with the same local model in the same run:

- encode:   `SentenceTransformer.encode` on the chunk texts, as one would call it by hand;
- pipeline: `chunk_article` on the articles, then `embed_texts` through the local provider
            (batches of EMBEDDING_PROVIDER_BATCH_SIZE, a worker thread per call, vectors back
            as lists), that is everything article-mcp adds around the model.

Rounds alternate between the two so that load from elsewhere on the machine hits both alike;
the best round of each is reported. The pipeline should stay within 10 % of `encode`.

    .venv/bin/python scripts/bench_pipeline.py [--docs 200] [--rounds 3] [--batch-size 64]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import anyio

from article_mcp.config import Settings
from article_mcp.embeddings.batching import embed_texts
from article_mcp.embeddings.providers.local import ENCODE_BATCH_SIZE, LocalProvider
from article_mcp.logs import configure_logging
from article_mcp.passages.chunking import chunk_article

CRANFIELD = Path(__file__).resolve().parents[1] / "data" / "cranfield" / "docs.jsonl"


def load_articles(limit: int) -> list[tuple[str, str]]:
    """Cranfield abstracts as articles (title, text); a built-in sample when absent."""
    if CRANFIELD.exists():
        docs = [json.loads(line) for line in CRANFIELD.read_text(encoding="utf-8").splitlines()]
        return [(d["title"], d["text"]) for d in docs if d["text"].strip()][:limit]
    sentence = "The boundary layer on a swept wing thickens towards the tip and separates at high lift. "
    return [(f"Article {n}", f"# Part {n}\n\n" + sentence * (10 + n % 30)) for n in range(limit)]


def chunk_texts(articles: list[tuple[str, str]], settings: Settings) -> list[str]:
    """What the provider embeds for every chunk of the articles, at the configured sizes."""
    size, overlap = settings.chunk_size, settings.chunk_overlap
    return [
        chunk.embed_text
        for title, content in articles
        for chunk in chunk_article(title, content, max_tokens=size, overlap=overlap)
    ]


def encode_by_hand(model: Any, texts: list[str]) -> float:
    """Seconds for the model's own encode on the texts."""
    started = time.perf_counter()
    model.encode(
        texts,
        batch_size=ENCODE_BATCH_SIZE,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    return time.perf_counter() - started


async def through_pipeline(
    provider: LocalProvider, articles: list[tuple[str, str]], settings: Settings, batch_size: int
) -> tuple[float, int]:
    """Seconds to chunk the articles and embed every chunk through the provider."""
    started = time.perf_counter()
    texts = chunk_texts(articles, settings)
    batch = await embed_texts(provider, texts, batch_size)
    elapsed = time.perf_counter() - started
    assert len(batch.vectors) == len(texts)
    return elapsed, len(texts)


async def main() -> None:
    """Run the rounds and print the markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=200, help="articles to chunk and embed")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per side")
    parser.add_argument("--batch-size", type=int, default=64, help="EMBEDDING_PROVIDER_BATCH_SIZE")
    args = parser.parse_args()
    configure_logging("WARNING", "console")

    settings = Settings(_env_file=None, embedding_provider="local")  # type: ignore[call-arg]
    articles = load_articles(args.docs)
    texts = chunk_texts(articles, settings)
    provider = LocalProvider(settings)
    model = await provider.loaded()
    encode_by_hand(model, texts[:64])  # warm-up: first calls allocate

    encode_times, pipeline_times = [], []
    for _ in range(args.rounds):
        encode_times.append(encode_by_hand(model, texts))
        elapsed, count = await through_pipeline(provider, articles, settings, args.batch_size)
        assert count == len(texts)
        pipeline_times.append(elapsed)
    await provider.aclose()

    encode_rate = len(texts) / min(encode_times)
    pipeline_rate = len(texts) / min(pipeline_times)
    print(f"{len(articles)} articles, {len(texts)} chunks, best of {args.rounds} rounds\n")
    print("| path | seconds | chunks/s |")
    print("| --- | ---: | ---: |")
    print(f"| model `encode` | {min(encode_times):.2f} | {encode_rate:.1f} |")
    print(f"| pipeline (chunk + embed_texts, local) | {min(pipeline_times):.2f} | {pipeline_rate:.1f} |")
    print(f"\npipeline / encode throughput: {pipeline_rate / encode_rate:.3f}")


if __name__ == "__main__":
    anyio.run(main)
