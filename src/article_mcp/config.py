"""Settings: every variable article-mcp reads, its default and its rules.

Built once at the entry point (`load_settings`) and passed down; nothing else reads the
environment. Variable names are those of the deployment guide, so operators keep them.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal, get_args, get_origin
from urllib.parse import urlsplit

import platformdirs
from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from article_mcp.errors import ConfigError

ProviderName = Literal["local", "ollama", "openai"]
LogFormat = Literal["console", "json"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
# How DATABASE_URL hands out server connections: for a whole session (PostgreSQL itself, or a
# pooler in session mode), or per transaction (PgBouncer and most managed poolers).
PoolMode = Literal["session", "transaction"]

PositiveInt = Annotated[int, Field(gt=0)]
NonNegativeInt = Annotated[int, Field(ge=0)]

DEFAULT_MODELS: dict[ProviderName, str] = {
    "local": "all-MiniLM-L6-v2",
    "ollama": "nomic-embed-text",
    "openai": "text-embedding-3-small",
}


def literal_choices(annotation: object) -> tuple[str, ...]:
    """The values a Literal setting allows (LOG_LEVEL's levels); () for any other type."""
    return get_args(annotation) if get_origin(annotation) is Literal else ()


def default_data_dir() -> Path:
    """Where the embedded database lives when ARTICLE_MCP_DATA_DIR is not set.

    As root, the embedded server opens read/execute for all on every folder above its data
    dir, so root gets a system folder whose parents are already open (not /root).
    """
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return Path("/var/lib/article-mcp")
    return Path(platformdirs.user_data_dir("article-mcp", appauthor=False))


class Settings(BaseSettings):
    """Every setting of article-mcp, read from the environment and an optional `.env`."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True, case_sensitive=False
    )

    # Database
    database_url: SecretStr | None = None
    article_mcp_data_dir: Path = Field(default_factory=default_data_dir)
    database_pool_size: Annotated[int, Field(ge=2, le=100)] = 10
    database_pool_mode: PoolMode = Field(
        default="session",
        description="how the server at DATABASE_URL hands out connections: `session` (PostgreSQL "
        "itself, or a pooler in session mode) or `transaction` (a pooler such as PgBouncer in "
        "transaction mode: no statement cache, no session state, LISTEN only on DATABASE_DIRECT_URL)",
    )
    database_direct_url: SecretStr | None = Field(
        default=None,
        description="with DATABASE_POOL_MODE=transaction: the same database reached without the "
        "pooler, for LISTEN (workers woken at once, resource-updated notifications) and migrations; "
        "unset, workers poll every EMBEDDING_WORKER_INTERVAL",
    )

    # Embedding provider
    semantic_search_enabled: bool = True
    embedding_provider: ProviderName = "local"
    embedding_model: str | None = None
    ollama_base_url: str = "http://localhost:11434"
    openai_api_key: SecretStr | None = None
    openai_base_url: str = "https://api.openai.com/v1"
    embedding_request_timeout: PositiveInt = 60_000
    embedding_connect_timeout: PositiveInt = 5_000
    embedding_requests_per_minute: NonNegativeInt = 0
    embedding_tokens_per_minute: NonNegativeInt = 0
    embedding_provider_batch_size: Annotated[int, Field(gt=0, le=2048)] = 64

    # Queue and workers
    embedding_queue_enabled: bool = True
    embedding_worker_interval: PositiveInt = 5_000
    embedding_max_retries: NonNegativeInt = 3
    embedding_retry_backoff_base: PositiveInt = 1_000
    embedding_batch_size: Annotated[int, Field(gt=0, le=1000)] = 1
    embedding_cleanup_interval: PositiveInt = 24
    embedding_cleanup_retention_days: PositiveInt = 30
    # How long (ms) one batch may take, provider calls included; also the longest a lease may be.
    embedding_worker_timeout: PositiveInt = 300_000
    # A claimed task's lease, renewed by the heartbeat: a crashed worker's tasks come back after it.
    embedding_lease_seconds: Annotated[float, Field(gt=0, le=3600)] = 30.0
    # The longest wait a provider's Retry-After is honoured for (a date in 2099 included).
    embedding_retry_after_max_seconds: Annotated[float, Field(gt=0)] = 3600.0
    # Where growing waits stop growing: transient retries, and probes of a provider that is down.
    embedding_backoff_max_seconds: Annotated[float, Field(gt=0)] = 300.0
    embedding_concurrent_workers: Annotated[int, Field(ge=0, le=64)] = 1

    # Chunking
    chunk_size: Annotated[int, Field(ge=32, le=8192)] = 240
    chunk_overlap: NonNegativeInt = 32

    # Search
    text_search_config: Annotated[str, Field(pattern=r"^[a-z_]+$")] = "english"
    hnsw_m: Annotated[int, Field(ge=2, le=100)] = 16
    hnsw_ef_construction: Annotated[int, Field(ge=4, le=1000)] = 64
    # recall@10 >= 0.95 against exact search at 100k passages (BENCHMARKS.md, "Search latency").
    hnsw_ef_search: Annotated[int, Field(ge=1, le=1000)] = 200
    bm25_k1: Annotated[float, Field(ge=0)] = 1.2
    bm25_b: Annotated[float, Field(ge=0, le=1)] = 0.75
    # Tuned on Cranfield (BENCHMARKS.md, "Retrieval quality"): 10 beats the customary 60.
    search_rrf_k: PositiveInt = 10
    # Weights of the two legs in hybrid's reciprocal rank fusion.
    search_semantic_weight: Annotated[float, Field(ge=0)] = 1.0
    search_fulltext_weight: Annotated[float, Field(ge=0)] = 1.0
    # Query vectors are remembered this many seconds, this many at most (0: no cache).
    search_query_cache_ttl: NonNegativeInt = 300
    search_query_cache_size: Annotated[int, Field(ge=0, le=100_000)] = 256
    # How long (ms) a search waits for a query's vector before hybrid falls back to full text.
    search_embed_timeout: PositiveInt = 10_000

    # Articles
    article_max_bytes: PositiveInt = 1_000_000
    # Versions kept per article, the newest; older ones are pruned at each write (0: all).
    article_history_max_versions: NonNegativeInt = 0

    # Server
    http_host: str = "127.0.0.1"
    http_port: Annotated[int, Field(ge=1, le=65535)] = 8000
    auth_token: SecretStr | None = None
    # MCP sessions open at once over HTTP (streamable HTTP sessions and SSE streams, each).
    http_max_sessions: Annotated[int, Field(ge=1, le=100_000)] = 100
    # Extra Host names the HTTP server answers to (comma-separated), beyond loopback and
    # HTTP_HOST: DNS-rebinding protection refuses any other Host header.
    http_allowed_hosts: str = ""
    log_level: LogLevel = "INFO"
    log_format: LogFormat = "console"

    @field_validator("*", mode="before")
    @classmethod
    def _canonical_choice(cls, value: object, info: ValidationInfo) -> object:
        """A choice in any case (LOG_LEVEL=warning) becomes its canonical spelling, so the
        code sees only that; anything else goes on unchanged, for the Literal's own error."""
        if not isinstance(value, str) or info.field_name is None:
            return value
        choices = literal_choices(cls.model_fields[info.field_name].annotation)
        return next((choice for choice in choices if choice.casefold() == value.casefold()), value)

    @model_validator(mode="after")
    def _check_combinations(self) -> Settings:
        if self.chunk_overlap >= self.chunk_size:
            raise ValueError("CHUNK_OVERLAP: must be smaller than CHUNK_SIZE")
        if self.embedding_provider == "openai" and self.semantic_search_enabled:
            key = self.openai_api_key.get_secret_value() if self.openai_api_key else ""
            if not key.strip():
                raise ValueError("OPENAI_API_KEY: required when EMBEDDING_PROVIDER=openai")
        if self.auth_token is not None:
            _check_token_strength(self.auth_token.get_secret_value())
        return self

    @property
    def embedding_model_name(self) -> str:
        """The model to embed with: EMBEDDING_MODEL, or the provider's default."""
        return self.embedding_model or DEFAULT_MODELS[self.embedding_provider]

    @property
    def embedding_lease_ms(self) -> int:
        """The lease of claimed tasks: EMBEDDING_LEASE_SECONDS, or EMBEDDING_WORKER_TIMEOUT where
        that is shorter (a deployment that shortened the old lease keeps its short lease)."""
        return min(round(self.embedding_lease_seconds * 1000), self.embedding_worker_timeout)

    @property
    def embedded_database(self) -> bool:
        """True when article-mcp runs its own PostgreSQL (no DATABASE_URL)."""
        return self.database_url is None


TOKEN_MIN_BITS = 128
TOKEN_MIN_DISTINCT = 8
# The alphabet a token draws from, estimated from the classes of character it uses.
_TOKEN_CLASSES: tuple[tuple[Callable[[str], bool], int], ...] = (
    (lambda c: "a" <= c <= "z", 26),
    (lambda c: "A" <= c <= "Z", 26),
    (lambda c: "0" <= c <= "9", 10),
    (lambda c: c.isascii() and not c.isalnum(), 33),
    (lambda c: not c.isascii(), 100),
)


def token_bits(token: str) -> float:
    """Estimated entropy: length x log2(the alphabet of the character classes it uses)."""
    alphabet = sum(size for member, size in _TOKEN_CLASSES if any(member(c) for c in token))
    return len(token) * math.log2(alphabet) if alphabet else 0.0


def _check_token_strength(token: str) -> None:
    """Refuse a guessable AUTH_TOKEN, saying what is needed (never echoing the token)."""
    bits = token_bits(token)
    if bits < TOKEN_MIN_BITS or len(set(token)) < TOKEN_MIN_DISTINCT:
        raise ValueError(
            f"AUTH_TOKEN: too weak (estimated {bits:.0f} bits, from {len(set(token))} distinct "
            f"characters); needs at least {TOKEN_MIN_BITS} bits and {TOKEN_MIN_DISTINCT} distinct "
            "characters, e.g. 32 random letters and digits: "
            "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )


def load_settings(**overrides: object) -> Settings:
    """Read the settings, or raise ConfigError with one line naming the variable and the rule."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc)) from None


SECRET_SETTINGS = frozenset({"DATABASE_URL", "DATABASE_DIRECT_URL", "OPENAI_API_KEY", "AUTH_TOKEN"})


def describe_validation_error(exc: ValidationError) -> str:
    """One line per broken rule, each starting with the variable's name; secrets never shown."""
    lines = []
    for error in exc.errors():
        message = str(error["msg"]).removeprefix("Value error, ")
        if not error["loc"]:
            lines.append(message)
            continue
        name = str(error["loc"][0]).upper()
        shown = "" if name in SECRET_SETTINGS else f" (got {error.get('input')!r})"
        lines.append(f"{name}: {message[:1].lower()}{message[1:]}{shown}")
    return "; ".join(lines)


def redact_url(url: str) -> str:
    """The URL with any password replaced, fit for logs and messages."""
    password = urlsplit(url).password
    if password:
        url = url.replace(f":{password}@", ":***@", 1)
    return re.sub(r"(?i)([?&]password)=[^&]*", r"\1=***", url)
