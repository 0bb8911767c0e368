"""The exceptions article-mcp raises, grouped by what a caller does about them.

    ArticleMcpError                  what a caller does
    ├── InvalidInputError            fix the request: the message names the field and the rule
    ├── NotFoundError                ask for something that exists
    ├── ConflictError                look at the current state, then ask again
    │   └── VersionConflictError         the article moved past `expected` to `current`
    ├── ConfigError                  fix the setting and restart
    ├── UnavailableError             try again later
    │   ├── DatabaseUnavailableError     the database cannot be reached
    │   └── SemanticUnavailableError     semantic search cannot run now (`reason`): use full text
    ├── ProviderError                the embedding provider refused or failed; `kind` says which
    │   ├── TransientProviderError       retry later (a body cut off, a provider bug): an attempt
    │   │   └── ProviderUnreachableError     the provider is down (connection, timeout, 5xx): the
    │   │                                    circuit opens; not an attempt
    │   ├── RateLimitedError             retry after `retry_after` seconds (429); not an attempt
    │   └── PermanentProviderError       retrying will not help (400, 401/403, unknown model, dimension)
    └── LexicalIndexError            nothing to retry: the BM25 statistics are out of step with the chunks

Driver errors (asyncpg, httpx) are translated at the module that talks to the driver and
raised `from` the original. Messages are written for a person and never carry a connection
string, a secret or SQL; `describe` is how any exception, ours or not, is shown to one.
Callers branch on the class or on a typed attribute (`kind`, `reason`), never on the text.
"""

from __future__ import annotations

from typing import ClassVar, Literal

ProviderErrorKind = Literal["transient", "rate_limited", "permanent"]
# Why the semantic leg of a search cannot run: switched off, no vectors yet, or the provider failed.
SemanticUnavailableReason = Literal["disabled", "not_embedded", "provider_failed"]


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


class VersionConflictError(ConflictError):
    """A write was made against a version the article has moved on from."""

    def __init__(self, message: str, *, current: int, expected: int) -> None:
        self.current = current
        self.expected = expected
        super().__init__(message)


class ConfigError(ArticleMcpError):
    """A setting is invalid."""

    label = "configuration error"


class TokenRefusedError(ArticleMcpError):
    """A token was recognised but refused (revoked, expired): its name is known, never the token.

    A token verifier raises it so that the refusal is logged with the token's name; a verifier
    that does not know a token returns None instead, and the next one is asked.
    """

    label = "token refused"

    def __init__(self, token_name: str, reason: str) -> None:
        self.token_name = token_name
        self.reason = reason
        super().__init__(f"token {token_name!r}: {reason}")


class InsufficientScopeError(TokenRefusedError):
    """A valid token that grants none of this server's scopes: 403, asking for `needed`."""

    label = "insufficient scope"

    def __init__(self, token_name: str, needed: str) -> None:
        self.needed = needed
        super().__init__(token_name, f"none of the scopes this server maps (needs at least {needed!r})")


class UnavailableError(ArticleMcpError):
    """A service article-mcp depends on is unavailable."""

    label = "unavailable"


class DatabaseUnavailableError(UnavailableError):
    """The database cannot be reached."""


class SemanticUnavailableError(UnavailableError):
    """Why the semantic leg cannot run now (a sentence for the search's `notice`)."""

    def __init__(self, reason: SemanticUnavailableReason, message: str) -> None:
        self.reason = reason
        super().__init__(message)


class ProviderError(ArticleMcpError):
    """The embedding provider failed."""

    label = "embedding provider error"

    kind: ClassVar[ProviderErrorKind]


class TransientProviderError(ProviderError):
    """The embedding provider failed in a way that may pass: it will be retried."""

    kind = "transient"


class ProviderUnreachableError(TransientProviderError):
    """The embedding provider cannot be reached or fails as a whole (connection, timeout, 5xx).

    An outage is not a property of a task: workers stop sending until a probe gets an answer,
    and the tasks wait without spending attempts.
    """


class RateLimitedError(ProviderError):
    """The embedding provider asked us to slow down."""

    kind = "rate_limited"

    def __init__(self, message: str | None = None, *, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(message)


class PermanentProviderError(ProviderError):
    """The embedding provider refused the request; retrying will not help."""

    kind = "permanent"


class LexicalIndexError(ArticleMcpError):
    """The lexical index is out of step with the chunks; rebuild it."""


def describe(exc: BaseException) -> str:
    """An exception as one line for a person.

    Ours read `label: message` (`not found: task 7 does not exist`), so the kind of failure
    shows; any other is its text, or its type's name when it has none (`TimeoutError()`).
    """
    if isinstance(exc, ArticleMcpError):
        return f"{exc.label}: {exc.message}"
    return str(exc).strip() or type(exc).__name__
