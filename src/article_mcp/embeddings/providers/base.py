"""The protocol every embedding provider implements.

A provider turns texts into vectors with one call to its model. It never touches the
database. Failures are raised as `ProviderError` subclasses (see `article_mcp.errors`):
transient, rate-limited (with `retry_after`) or permanent, each with a message an operator
can act on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class EmbeddingBatch:
    """The vectors of one call, in input order, and the tokens the provider reported (0: unknown)."""

    vectors: list[list[float]]
    tokens: int = 0


class EmbeddingProvider(Protocol):
    """Something that embeds texts: Ollama, an OpenAI-compatible server, or a local model."""

    @property
    def name(self) -> str:
        """The provider's name: `local`, `ollama` or `openai`."""
        ...

    @property
    def model(self) -> str:
        """The model the vectors come from."""
        ...

    @property
    def max_batch_size(self) -> int:
        """The most texts one `embed` call accepts."""
        ...

    async def embed(self, texts: Sequence[str]) -> EmbeddingBatch:
        """Embed up to `max_batch_size` texts in one call to the model."""
        ...

    async def aclose(self) -> None:
        """Release connections and threads."""
        ...
