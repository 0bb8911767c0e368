"""The protocol every embedding provider implements.

A provider turns texts into vectors with one call to its model. It never touches the
database. Failures are raised as `ProviderError` subclasses (see `article_mcp.errors`):
transient, rate-limited (with `retry_after`) or permanent, each with a message an operator
can act on.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from article_mcp.config import InstructionPrefixes

# What a text is embedded as: a passage to be found, or a search query.
Purpose = Literal["document", "query"]
# Where a token figure comes from: the provider's answer, the model's own tokenizer here, or
# the model-independent estimate (passages/tokens.py) for a server that reports none.
UsageSource = Literal["reported", "counted", "estimated"]
_CERTAINTY: dict[UsageSource, int] = {"estimated": 0, "counted": 1, "reported": 2}


@dataclass(frozen=True, slots=True)
class EmbeddingBatch:
    """The vectors of one call, in input order, and the tokens it used (and how they are known)."""

    vectors: list[list[float]]
    tokens: int = 0
    usage_source: UsageSource = "counted"


def least_certain(sources: Iterable[UsageSource]) -> UsageSource:
    """The weakest of several calls' token sources: what their sum can claim to be."""
    return min(sources, key=_CERTAINTY.__getitem__, default="counted")


def with_prefix(texts: Sequence[str], prefixes: InstructionPrefixes, purpose: Purpose) -> list[str]:
    """The texts as the model gets them: its instruction for `purpose` put before each."""
    prefix = (prefixes.query if purpose == "query" else prefixes.document).text
    return [prefix + text for text in texts] if prefix else list(texts)


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
    def prefixes(self) -> InstructionPrefixes:
        """The instructions put before queries and passages: part of the model's identity."""
        ...

    @property
    def max_batch_size(self) -> int:
        """The most texts one `embed` call accepts."""
        ...

    async def embed(self, texts: Sequence[str], *, purpose: Purpose = "document") -> EmbeddingBatch:
        """Embed up to `max_batch_size` texts in one call to the model, each with the prefix
        for `purpose`."""
        ...

    async def aclose(self) -> None:
        """Release connections and threads."""
        ...
