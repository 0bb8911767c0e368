"""`Settings`: every variable article-mcp reads, its default, its meaning and its rules.

The class is the one table of them: config_reference.py renders the settings page and
.env.example from it, so it is long by design; the rules it calls sit in checks.py and the
instruction prefixes it resolves in prefixes.py.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal, get_args, get_origin

import platformdirs
from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from article_mcp.config.checks import check_token_strength, describe_validation_error
from article_mcp.config.prefixes import PREFIX_FAMILIES, InstructionPrefixes, chosen
from article_mcp.errors import ConfigError

ProviderName = Literal["local", "ollama", "openai"]
LogFormat = Literal["console", "json"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
# How DATABASE_URL hands out server connections: for a whole session (PostgreSQL itself, or a
# pooler in session mode), or per transaction (PgBouncer and most managed poolers).
PoolMode = Literal["session", "transaction"]
FulltextIndex = Literal["memory", "sql"]

PositiveInt = Annotated[int, Field(gt=0)]
# An http(s) URL kept exactly as written (an issuer is compared with `iss` character by character).
WebUrl = Annotated[str, Field(pattern=r"^https?://[^\s/?#]+[^\s]*$")]
# An OAuth scope token (RFC 6749 section 3.3): printable ASCII but space, quote and backslash.
OAuthScope = Annotated[str, Field(pattern=r"^[\x21\x23-\x5b\x5d-\x7e]+$")]
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
    database_url: SecretStr | None = Field(
        None, description="PostgreSQL to use, as a `postgresql://` URL; unset runs the embedded server"
    )
    article_mcp_data_dir: Path = Field(
        default_factory=default_data_dir, description="where the embedded database lives"
    )
    database_pool_size: int = Field(10, ge=2, le=100, description="database connections per process")
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
    semantic_search_enabled: bool = Field(
        True,
        description="`false`: nothing is embedded and `semantic_search` answers from full text; "
        "articles still work",
    )
    embedding_provider: ProviderName = Field("local", description="who embeds the passages")
    embedding_model: str | None = Field(
        None,
        description="the model; unset: the provider's default ("
        + ", ".join(f"`{model}` for {name}" for name, model in DEFAULT_MODELS.items())
        + "); for `local` also a sentence-transformers model directory",
    )
    ollama_base_url: str = Field("http://localhost:11434", description="the Ollama server")
    openai_api_key: SecretStr | None = Field(None, description="required with `EMBEDDING_PROVIDER=openai`")
    openai_base_url: str = Field("https://api.openai.com/v1", description="any OpenAI-compatible server")
    embedding_request_timeout: PositiveInt = Field(60_000, description="ms to wait for the provider's answer")
    embedding_connect_timeout: PositiveInt = Field(
        5_000, description="ms to open a connection to the provider"
    )
    embedding_requests_per_minute: NonNegativeInt = Field(
        0,
        description="requests to the provider in any minute, one budget shared by every process"
        " on the database (0: none)",
    )
    embedding_tokens_per_minute: NonNegativeInt = Field(
        0,
        description="estimated tokens sent to the provider in any minute, shared like the request"
        " limit (0: none)",
    )
    embedding_provider_batch_size: int = Field(64, gt=0, le=2048, description="chunks per provider call")
    embedding_query_prefix: str | None = Field(
        default=None,
        description="The instruction put before each search query sent to the model; unset: the"
        " model family's documented one (see `instruction_prefixes`), empty: none.",
    )
    embedding_document_prefix: str | None = Field(
        default=None,
        description="The instruction put before each passage sent to the model; unset: the model"
        " family's documented one, empty: none.",
    )
    embedding_price_per_million_tokens: float | None = Field(
        default=None,
        ge=0,
        description="What a million tokens of the configured model cost, recorded with the model"
        " (for the costs shown and `embeddings plan`'s estimate); unset: the price recorded before"
        " (none: no cost is shown).",
    )
    embedding_daily_token_budget: NonNegativeInt = Field(
        default=0,
        description="Tokens the workers may send to the provider per UTC day; once reached they"
        " hold the queue until midnight UTC (writes go on). 0: no budget.",
    )

    # Queue and workers
    embedding_queue_enabled: bool = Field(
        True, description="`false`: each write embeds right after its commit (the rollback mode)"
    )
    embedding_worker_interval: PositiveInt = Field(
        5_000, description="ms between polls of the queue when no notification arrives"
    )
    embedding_max_retries: NonNegativeInt = Field(
        3,
        description="retries of a transient failure of the task itself before it fails "
        "(an unreachable provider spends none)",
    )
    embedding_retry_backoff_base: PositiveInt = Field(
        1_000, description="ms before the first retry; doubles with each attempt, with jitter"
    )
    embedding_batch_size: int = Field(
        1, gt=0, le=1000, description="tasks (articles) a worker claims at once"
    )
    embedding_cleanup_interval: PositiveInt = Field(24, description="hours between cleanups")
    embedding_cleanup_retention_days: PositiveInt = Field(
        30, description="days finished tasks, audit rows and metrics are kept"
    )
    embedding_worker_timeout: PositiveInt = Field(
        300_000,
        description="ms one batch may take (provider calls included) before it is given back as a "
        "transient failure; also caps the lease",
    )
    # The heartbeat renews it, so only a crashed worker's tasks wait for it to run out.
    embedding_lease_seconds: float = Field(
        30.0,
        gt=0,
        le=3600,
        description="seconds of lease on claimed tasks, renewed by the heartbeat; a crashed worker's "
        "tasks are reclaimed after it (the shorter of this and `EMBEDDING_WORKER_TIMEOUT`)",
    )
    # A Retry-After dated 2099 must not stop the work for decades.
    embedding_retry_after_max_seconds: float = Field(
        3600.0,
        gt=0,
        description="seconds a provider's `Retry-After` is honoured for at most "
        "(a probe may end the wait sooner)",
    )
    embedding_backoff_max_seconds: float = Field(
        300.0,
        gt=0,
        description="seconds where growing waits stop growing: transient retries, and probes of a "
        "provider that is down",
    )
    embedding_concurrent_workers: int = Field(
        1, ge=0, le=64, description="workers in each `serve` or `worker` process (0: `serve` runs none)"
    )
    # Blue/green model switches (embeddings/lifecycle.py)
    embedding_auto_activate: bool = Field(
        False,
        description="`true`: a building model becomes the active one by itself once it covers every"
        " article (see Switching models)",
    )
    embedding_retired_grace_hours: float = Field(
        24.0,
        ge=0,
        description="hours a retired model stays current (writes still embed for it, so a rollback is"
        " instant) and may not be pruned",
    )

    # Chunking
    chunk_size: int = Field(
        240,
        ge=32,
        le=8192,
        description="most estimated tokens embedded for one chunk, title and headings included; "
        "after a change, `article-mcp db reindex`",
    )
    chunk_overlap: NonNegativeInt = Field(
        32, description="estimated tokens neighbouring chunks of a section share; below `CHUNK_SIZE`"
    )

    # Search
    text_search_config: str = Field(
        "english",
        pattern=r"^[a-z_]+$",
        description="PostgreSQL text search configuration (stemming, stop words)",
    )
    # Measured by scripts/bench_hnsw.py (BENCHMARKS.md, "HNSW build parameters"): at 100k
    # synthetic vectors, m 24 reaches recall@10 0.95 at ef_search 128 where m 16 needs 256,
    # for a query a quarter faster; building costs 1.5-2x m 16's, and ef_construction above 64
    # bought nothing measurable. Real model vectors need far less (ef_search 10-24 at 13k).
    hnsw_m: int = Field(
        24,
        ge=2,
        le=100,
        description="HNSW graph degree (when a model's index is built): higher needs a smaller"
        " `HNSW_EF_SEARCH` for the same recall, and costs build time and index size",
    )
    hnsw_ef_construction: int = Field(
        64,
        ge=4,
        le=1000,
        description="HNSW build-time candidate list (when a model's index is built; at least twice"
        " `HNSW_M`): higher builds more slowly, for little recall beyond 64",
    )
    hnsw_ef_search: int = Field(
        128,
        ge=1,
        le=1000,
        description="HNSW search-time candidate list: higher is more exact and slower; 128 reaches"
        " recall@10 0.95 at 100k passages with the default `HNSW_M`",
    )
    bm25_k1: float = Field(1.2, ge=0, description="BM25 term-frequency saturation")
    bm25_b: float = Field(0.75, ge=0, le=1, description="BM25 length normalisation (0: none, 1: full)")
    fulltext_index: FulltextIndex = Field(
        "memory",
        description="where full text is scored: memory (each serving process holds the postings,"
        " loaded at start and kept in step with every commit; SQL answers until it is loaded)"
        " or sql (PostgreSQL sums the postings of each query; no memory held)",
    )
    # Tuned on Cranfield (BENCHMARKS.md, "Retrieval quality"): 10 beats the customary 60.
    search_rrf_k: PositiveInt = Field(10, description="reciprocal rank fusion constant of hybrid search")
    search_semantic_weight: float = Field(
        1.0, ge=0, description="weight of the semantic ranking in hybrid fusion"
    )
    search_fulltext_weight: float = Field(
        1.0, ge=0, description="weight of the full-text ranking in hybrid fusion"
    )
    search_query_cache_ttl: NonNegativeInt = Field(300, description="seconds a query's vector is remembered")
    search_query_cache_size: int = Field(
        256, ge=0, le=100_000, description="query vectors remembered at most (0: no cache)"
    )
    search_embed_timeout: PositiveInt = Field(
        10_000,
        description="ms a search waits for its query's vector before hybrid falls back to full text",
    )

    # Articles
    article_max_bytes: PositiveInt = Field(1_000_000, description="largest article content, in UTF-8 bytes")
    article_history_max_versions: NonNegativeInt = Field(
        0, description="versions kept per article, the newest; each write prunes older ones (0: keep all)"
    )

    # Server
    http_host: str = Field("127.0.0.1", description="bind address of `serve --transport http`")
    http_port: int = Field(8000, ge=1, le=65535, description="port of `serve --transport http`")
    auth_token: SecretStr | None = Field(
        None,
        description="bearer token for HTTP; refused unless strong (about 128 bits estimated, "
        "8 or more distinct characters); required to bind a non-loopback address",
    )
    http_max_sessions: int = Field(
        100,
        ge=1,
        le=100_000,
        description="MCP sessions open at once over HTTP (streamable HTTP sessions, and SSE streams); "
        "past it, `503`",
    )
    # DNS-rebinding protection refuses any other Host header.
    http_allowed_hosts: str = Field(
        "",
        description="extra `Host` names the HTTP server answers to (comma-separated), beyond "
        "loopback and `HTTP_HOST`",
    )
    http_public_url: Annotated[str, Field(pattern=r"^https?://[^/?#\s]+(/[^?#\s]*)?$")] | None = Field(
        default=None,
        description="The server's address as its users reach it (scheme, host, port, any path "
        "prefix), for the absolute URLs it hands out: share links and the OAuth resource. Unset: "
        "http://HTTP_HOST:HTTP_PORT.",
    )
    http_rate_limit_per_minute: NonNegativeInt = Field(
        0,
        description="Requests a minute each authenticated caller (access token, AUTH_TOKEN, OAuth "
        "client) may make over HTTP, at most that many at once; past it, 429 with Retry-After "
        "(0: no limit).",
    )

    # OAuth: the server as a resource server (server/oauth.py)
    oauth_issuer: WebUrl | None = Field(
        default=None,
        description="The OAuth authorization server whose access tokens (JWTs) this server accepts: "
        "their `iss` must be exactly this. Set with OAUTH_JWKS_URL to turn OAuth on.",
    )
    oauth_jwks_url: WebUrl | None = Field(
        default=None, description="Where the issuer publishes its signing keys (a JWK Set)."
    )
    oauth_audience: str | None = Field(
        default=None,
        description="The `aud` a token must carry; unset: this server's MCP URL "
        "(HTTP_PUBLIC_URL + /mcp), the resource the MCP authorization spec binds tokens to.",
    )
    oauth_read_scope: OAuthScope = Field(
        default="articles:read", description="The OAuth scope that grants the read scope."
    )
    oauth_write_scope: OAuthScope = Field(
        default="articles:write", description="The OAuth scope that grants the write scope."
    )
    oauth_admin_scope: OAuthScope = Field(
        default="articles:admin", description="The OAuth scope that grants the admin scope."
    )
    log_level: LogLevel = Field("INFO", description="the least severe level logged")
    log_format: LogFormat = Field("console", description="how logs are written; always to stderr")

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
        if self.hnsw_ef_construction < 2 * self.hnsw_m:
            # pgvector refuses such an index: say so at start, not when a model's index is built
            raise ValueError("HNSW_EF_CONSTRUCTION: must be at least twice HNSW_M")
        if self.embedding_provider == "openai" and self.semantic_search_enabled:
            key = self.openai_api_key.get_secret_value() if self.openai_api_key else ""
            if not key.strip():
                raise ValueError("OPENAI_API_KEY: required when EMBEDDING_PROVIDER=openai")
        if self.auth_token is not None:
            check_token_strength(self.auth_token.get_secret_value())
        if (self.oauth_issuer is None) != (self.oauth_jwks_url is None):
            raise ValueError("OAUTH_ISSUER and OAUTH_JWKS_URL: set both to turn OAuth on, or neither")
        return self

    @property
    def embedding_model_name(self) -> str:
        """The model to embed with: EMBEDDING_MODEL, or the provider's default."""
        return self.embedding_model or DEFAULT_MODELS[self.embedding_provider]

    def instruction_prefixes(self, model: str | None = None) -> InstructionPrefixes:
        """The prefixes in effect for `model` (EMBEDDING_MODEL by default) and why: a setting,
        even empty, wins over the model family's documented instruction."""
        name = model or self.embedding_model_name
        family = next((f for f in PREFIX_FAMILIES if f.pattern.search(name.lower())), None)
        default = f"the default of the {family.name} family" if family else f"no instruction known for {name}"
        return InstructionPrefixes(
            query=chosen(
                self.embedding_query_prefix, family.query if family else "", default, "EMBEDDING_QUERY_PREFIX"
            ),
            document=chosen(
                self.embedding_document_prefix,
                family.document if family else "",
                default,
                "EMBEDDING_DOCUMENT_PREFIX",
            ),
        )

    @property
    def embedding_lease_ms(self) -> int:
        """The lease of claimed tasks: EMBEDDING_LEASE_SECONDS, or EMBEDDING_WORKER_TIMEOUT where
        that is shorter (a deployment that shortened the old lease keeps its short lease)."""
        return min(round(self.embedding_lease_seconds * 1000), self.embedding_worker_timeout)

    @property
    def public_url(self) -> str:
        """HTTP_PUBLIC_URL without a trailing slash, or the bind address's URL."""
        if self.http_public_url is not None:
            return self.http_public_url.rstrip("/")
        host = f"[{self.http_host}]" if ":" in self.http_host else self.http_host
        return f"http://{host}:{self.http_port}"

    @property
    def oauth_enabled(self) -> bool:
        """True when bearer JWTs from OAUTH_ISSUER are accepted."""
        return self.oauth_issuer is not None

    @property
    def embedded_database(self) -> bool:
        """True when article-mcp runs its own PostgreSQL (no DATABASE_URL)."""
        return self.database_url is None


def load_settings(**overrides: object) -> Settings:
    """Read the settings, or raise ConfigError with one line naming the variable and the rule."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc)) from None
