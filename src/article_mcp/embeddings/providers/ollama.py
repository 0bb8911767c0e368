"""Ollama: `POST /api/embed` with a list of texts (Ollama 0.3.4 or later)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from article_mcp.config import Settings
from article_mcp.embeddings.providers.http import HttpProvider
from article_mcp.embeddings.providers.ratelimit import Limiter
from article_mcp.embeddings.providers.responses import checked_vectors, reported_tokens
from article_mcp.errors import PermanentProviderError, ProviderError

# Ollama takes any number of inputs; this bounds the size of one request and its answer.
MAX_BATCH_SIZE = 512


class OllamaProvider(HttpProvider):
    """Embeddings from an Ollama server (OLLAMA_BASE_URL), model EMBEDDING_MODEL."""

    name = "ollama"
    service = "Ollama"

    def __init__(
        self, settings: Settings, *, model: str | None = None, limiter: Limiter | None = None
    ) -> None:
        super().__init__(
            settings,
            model=model,
            base_url=settings.ollama_base_url,
            path="/api/embed",
            max_batch_size=MAX_BATCH_SIZE,
            limiter=limiter,
        )

    def _payload(self, texts: Sequence[str]) -> dict[str, Any]:
        return {"model": self.model, "input": list(texts)}

    def _parse(self, body: Any, count: int) -> tuple[list[list[float]], int | None]:
        if not isinstance(body, dict) or "embeddings" not in body:
            raise PermanentProviderError(
                f"{self.where} answered without `embeddings`: is OLLAMA_BASE_URL an Ollama server"
                " (0.3.4 or later)?"
            )
        vectors = checked_vectors(body["embeddings"], count, self.where)
        tokens = body.get("prompt_eval_count")
        return vectors, reported_tokens(tokens)

    def _refused(self, status: int, detail: str) -> ProviderError:
        if status == 404 and "model" in detail.lower():
            return PermanentProviderError(
                f"{self.where} has no model {self.model}: run `ollama pull {self.model}` ({detail})"
            )
        if status == 404:
            return PermanentProviderError(
                f"{self.where} has no /api/embed endpoint (HTTP 404): check OLLAMA_BASE_URL, or upgrade"
                " Ollama to 0.3.4 or later"
            )
        if status == 400 and "embed" in detail.lower():
            return PermanentProviderError(
                f"{self.where} cannot embed with model {self.model}: {detail}; choose an embedding model"
                " such as nomic-embed-text"
            )
        return super()._refused(status, detail)
