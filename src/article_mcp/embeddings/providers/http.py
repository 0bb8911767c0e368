"""What the HTTP providers (Ollama, OpenAI-compatible servers) share: one client with the
configured timeouts, the rate limiter, and the translation of every failure into a class.

    connection refused, DNS, reset, timeout, HTTP 5xx               ProviderUnreachableError
    HTTP 408/409/425                                                TransientProviderError
    HTTP 429                                                        RateLimitedError(retry_after)
    HTTP 400, 401/403, 404 (unknown model), other 4xx               PermanentProviderError
    a body that is not JSON                                         TransientProviderError
    JSON of another shape, wrong vector count or length             PermanentProviderError

A body that is not JSON counts as transient: it is what a proxy's error page or an answer cut
off mid-way looks like, and retries are bounded (the message stays on the failed task). JSON
of another shape means the URL points at some other service, which no retry fixes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import httpx

from article_mcp.config import InstructionPrefixes, Settings, redact_url
from article_mcp.embeddings.providers.base import EmbeddingBatch, Purpose, with_prefix
from article_mcp.embeddings.providers.ratelimit import Limiter, RateLimiter
from article_mcp.embeddings.providers.responses import error_detail, retry_after_seconds, scrub
from article_mcp.errors import (
    InvalidInputError,
    PermanentProviderError,
    ProviderError,
    ProviderUnreachableError,
    RateLimitedError,
    TransientProviderError,
    describe,
)
from article_mcp.passages.tokens import count_tokens

# Statuses below 500 that still mean "try again": request timeout, conflict, too early.
TRANSIENT_STATUSES = frozenset({408, 409, 425})


class HttpProvider(ABC):
    """An embedding provider behind one JSON endpoint."""

    name: ClassVar[str]
    # How messages name the server: "Ollama", "the OpenAI-compatible server".
    service: ClassVar[str]

    def __init__(
        self,
        settings: Settings,
        *,
        model: str | None,
        base_url: str,
        path: str,
        max_batch_size: int,
        headers: Mapping[str, str] | None = None,
        secret: str | None = None,
        limiter: Limiter | None = None,
    ) -> None:
        self._model = model or settings.embedding_model_name
        self._prefixes = settings.instruction_prefixes(self._model)
        self._max_batch_size = max_batch_size
        self._secret = secret
        self.base_url = base_url.rstrip("/")
        self.url = self.base_url + path
        self.where = f"{self.service} at {redact_url(self.base_url)}"
        self._read_timeout = settings.embedding_request_timeout / 1000
        self._connect_timeout = settings.embedding_connect_timeout / 1000
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(self._read_timeout, connect=self._connect_timeout),
            headers=dict(headers or {}),
        )
        # A shared limiter when the caller has a database; this process's own otherwise.
        self.limiter: Limiter = limiter or RateLimiter(
            settings.embedding_requests_per_minute, settings.embedding_tokens_per_minute
        )

    @property
    def model(self) -> str:
        """The model the vectors come from."""
        return self._model

    @property
    def prefixes(self) -> InstructionPrefixes:
        """The instructions put before queries and passages."""
        return self._prefixes

    @property
    def max_batch_size(self) -> int:
        """The most texts one `embed` call accepts."""
        return self._max_batch_size

    async def embed(self, texts: Sequence[str], *, purpose: Purpose = "document") -> EmbeddingBatch:
        """Embed up to `max_batch_size` texts in one request; the tokens the server reports,
        else the estimate of what was sent."""
        if not texts:
            return EmbeddingBatch(vectors=[])
        if len(texts) > self._max_batch_size:
            raise InvalidInputError("texts", f"at most {self._max_batch_size} per call to {self.name}")
        sent = with_prefix(texts, self._prefixes, purpose)
        if not self.limiter.unlimited:
            await self.limiter.acquire(sum(map(count_tokens, sent)))
        body = await self._post(self._payload(sent))
        vectors, tokens = self._parse(body, len(sent))
        if tokens is None:
            return EmbeddingBatch(vectors, sum(map(count_tokens, sent)), "estimated")
        return EmbeddingBatch(vectors, tokens, "reported")

    async def aclose(self) -> None:
        """Close the connections."""
        await self._client.aclose()

    @abstractmethod
    def _payload(self, texts: Sequence[str]) -> dict[str, Any]:
        """The JSON body of one request."""

    @abstractmethod
    def _parse(self, body: Any, count: int) -> tuple[list[list[float]], int | None]:
        """The vectors in a successful answer, and the tokens it reports (None: no usage)."""

    def _refused(self, status: int, detail: str) -> ProviderError:
        """The error for a 4xx answer other than 429; providers add their own advice."""
        if status in (401, 403):
            return PermanentProviderError(f"{self.where} refused the credentials (HTTP {status}): {detail}")
        return PermanentProviderError(f"{self.where} refused the request (HTTP {status}): {detail}")

    def _rate_limited(self, response: httpx.Response, detail: str) -> ProviderError:
        retry_after = retry_after_seconds(response.headers)
        wait = f"; retry after {retry_after:g} s" if retry_after is not None else ""
        return RateLimitedError(
            f"{self.where} is rate limiting (HTTP 429){wait}: {detail}", retry_after=retry_after
        )

    async def _post(self, payload: dict[str, Any]) -> Any:
        try:
            response = await self._client.post(self.url, json=payload)
        except httpx.TimeoutException as exc:
            raise ProviderUnreachableError(self._timeout_message(exc)) from exc
        except httpx.HTTPError as exc:
            reason = scrub(describe(exc), self._secret)
            raise ProviderUnreachableError(f"cannot reach {self.where}: {reason}") from exc
        if response.is_error:
            raise self._status_error(response)
        try:
            return response.json()
        except ValueError as exc:
            raise TransientProviderError(
                f"{self.where} answered HTTP {response.status_code} with a body that is not JSON"
                f" (is the base URL right?): {scrub(response.text[:120], self._secret)!r}"
            ) from exc

    def _timeout_message(self, exc: httpx.TimeoutException) -> str:
        if isinstance(exc, httpx.ConnectTimeout):
            return f"{self.where} did not accept a connection within {self._connect_timeout:g} s"
        return (
            f"{self.where} did not answer within {self._read_timeout:g} s"
            " (EMBEDDING_REQUEST_TIMEOUT, in milliseconds)"
        )

    def _status_error(self, response: httpx.Response) -> ProviderError:
        status = response.status_code
        detail = error_detail(response, secret=self._secret)
        if status == 429:
            return self._rate_limited(response, detail)
        if status >= 500:
            return ProviderUnreachableError(f"{self.where} failed (HTTP {status}): {detail}")
        if status in TRANSIENT_STATUSES:
            return TransientProviderError(f"{self.where} failed (HTTP {status}): {detail}")
        return self._refused(status, detail)
