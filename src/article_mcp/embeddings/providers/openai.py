"""OpenAI and OpenAI-compatible servers: `POST {OPENAI_BASE_URL}/embeddings` with a list of texts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from article_mcp.config import Settings
from article_mcp.embeddings.providers.http import HttpProvider
from article_mcp.embeddings.providers.ratelimit import Limiter
from article_mcp.embeddings.providers.responses import checked_vectors, error_code, reported_tokens
from article_mcp.errors import ConfigError, PermanentProviderError, ProviderError

# OpenAI accepts at most 2048 inputs and 300,000 tokens in one request.
MAX_INPUTS = 2048
MAX_REQUEST_TOKENS = 300_000


class OpenAIProvider(HttpProvider):
    """Embeddings from OpenAI or any server speaking its embeddings API."""

    name = "openai"
    service = "the OpenAI-compatible server"

    def __init__(
        self, settings: Settings, *, model: str | None = None, limiter: Limiter | None = None
    ) -> None:
        key = settings.openai_api_key.get_secret_value().strip() if settings.openai_api_key else ""
        if not key:
            raise ConfigError("OPENAI_API_KEY: required when EMBEDDING_PROVIDER=openai")
        # Chunks hold at most CHUNK_SIZE estimated tokens (an overestimate), so this many fit
        # the per-request token limit.
        max_batch_size = max(1, min(MAX_INPUTS, MAX_REQUEST_TOKENS // settings.chunk_size))
        super().__init__(
            settings,
            model=model,
            base_url=settings.openai_base_url,
            path="/embeddings",
            max_batch_size=max_batch_size,
            headers={"Authorization": f"Bearer {key}"},
            secret=key,
            limiter=limiter,
        )

    def _payload(self, texts: Sequence[str]) -> dict[str, Any]:
        return {"model": self.model, "input": list(texts), "encoding_format": "float"}

    def _parse(self, body: Any, count: int) -> tuple[list[list[float]], int | None]:
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            raise PermanentProviderError(
                f"{self.where} answered without `data`: does OPENAI_BASE_URL point at an"
                " OpenAI-compatible API (usually ending in /v1)?"
            )
        # Answers carry each vector's input index; order by it rather than trust the list order.
        ordered = sorted(data, key=lambda item: item.get("index", 0))
        vectors = checked_vectors([item.get("embedding") for item in ordered], count, self.where)
        usage = body.get("usage")
        tokens = usage.get("total_tokens", usage.get("prompt_tokens")) if isinstance(usage, dict) else None
        return vectors, reported_tokens(tokens)

    def _refused(self, status: int, detail: str) -> ProviderError:
        if status == 401:
            return PermanentProviderError(f"{self.where} rejected OPENAI_API_KEY (HTTP 401): {detail}")
        if status == 404:
            return PermanentProviderError(
                f"{self.where} has no model {self.model} (HTTP 404): {detail}; check EMBEDDING_MODEL"
                " and OPENAI_BASE_URL"
            )
        return super()._refused(status, detail)

    def _rate_limited(self, response: httpx.Response, detail: str) -> ProviderError:
        if error_code(response) == "insufficient_quota":
            # OpenAI answers 429 when the account has no credit: waiting will not help.
            return PermanentProviderError(f"{self.where} says the account has no quota left: {detail}")
        return super()._rate_limited(response, detail)
