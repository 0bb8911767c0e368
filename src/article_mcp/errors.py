"""The exceptions article-mcp raises, grouped by what a caller does about them.

    ArticleMcpError
    ├── InvalidInputError      the request is wrong: fix it and ask again
    ├── NotFoundError          the thing asked for does not exist
    ├── ConflictError          the request clashes with current state
    ├── ConfigError            a setting is wrong: fix the environment and restart
    ├── UnavailableError       a service we depend on cannot be reached now
    │   └── DatabaseUnavailableError
    └── ProviderError          the embedding provider refused or failed
        ├── TransientProviderError   retry later (connection, timeout, 5xx)
        ├── RateLimitedError         retry after `retry_after` seconds (429); not an attempt
        └── PermanentProviderError   retrying will not help (400, 401/403, unknown model, wrong dimension)

Driver errors (asyncpg, httpx) are translated at the module that talks to the driver and
raised `from` the original. Messages are written for a person and never carry a connection
string, a secret or SQL.
"""

from __future__ import annotations

from typing import ClassVar, Literal

ProviderErrorKind = Literal["transient", "rate_limited", "permanent"]


class ArticleMcpError(Exception):
    """Something went wrong in article-mcp."""

    # How a person is told what kind of failure this is: `not found: slug: ...`.
    label: ClassVar[str] = "error"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())

    @property
    def message(self) -> str:
        """The text shown to a person."""
        return str(self.args[0])


class InvalidInputError(ArticleMcpError):
    """The input breaks a rule."""

    label = "invalid input"

    def __init__(self, field: str, rule: str) -> None:
        self.field = field
        self.rule = rule
        super().__init__(f"{field}: {rule}")


class NotFoundError(ArticleMcpError):
    """Nothing was found."""

    label = "not found"


class ConflictError(ArticleMcpError):
    """The request conflicts with the current state."""

    label = "conflict"


class ConfigError(ArticleMcpError):
    """A setting is invalid."""

    label = "configuration error"


class UnavailableError(ArticleMcpError):
    """A service article-mcp depends on is unavailable."""

    label = "unavailable"


class DatabaseUnavailableError(UnavailableError):
    """The database cannot be reached."""


class ProviderError(ArticleMcpError):
    """The embedding provider failed."""

    label = "embedding provider error"

    kind: ClassVar[ProviderErrorKind]


class TransientProviderError(ProviderError):
    """The embedding provider failed in a way that may pass: it will be retried."""

    kind = "transient"


class RateLimitedError(ProviderError):
    """The embedding provider asked us to slow down."""

    kind = "rate_limited"

    def __init__(self, message: str | None = None, *, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class PermanentProviderError(ProviderError):
    """The embedding provider refused the request; retrying will not help."""

    kind = "permanent"
