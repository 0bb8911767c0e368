"""The Ollama and OpenAI providers against a real HTTP server on loopback speaking their wire
formats: batching, token usage, and every class of failure."""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from article_mcp.config import ProviderName
from article_mcp.embeddings.batching import embed_texts
from article_mcp.embeddings.providers import create_provider
from article_mcp.embeddings.providers.http import HttpProvider
from article_mcp.embeddings.providers.ratelimit import RateLimiter
from article_mcp.errors import (
    ConfigError,
    PermanentProviderError,
    ProviderError,
    RateLimitedError,
    TransientProviderError,
)
from tests.conftest import make_settings
from tests.support.fake_providers import DEFAULT_API_KEY, FakeEmbeddingServer, Fault, fake_tokens, fake_vector

pytestmark = pytest.mark.anyio

HTTP_PROVIDERS: list[ProviderName] = ["ollama", "openai"]


@pytest.fixture
def server(fake_server: FakeEmbeddingServer) -> FakeEmbeddingServer:
    return fake_server


MakeProvider = Callable[..., HttpProvider]


@pytest.fixture
async def make_provider(server: FakeEmbeddingServer) -> AsyncIterator[MakeProvider]:
    """Build HTTP providers pointed at the fake server (settings overridable); closed after the test."""
    made: list[HttpProvider] = []

    def make(name: ProviderName, **overrides: Any) -> HttpProvider:
        provider = create_provider(make_settings(**server.settings(name, **overrides)))
        assert isinstance(provider, HttpProvider)
        made.append(provider)
        return provider

    yield make
    for provider in made:
        await provider.aclose()


@pytest.fixture(params=HTTP_PROVIDERS)
def provider(request: pytest.FixtureRequest, make_provider: MakeProvider) -> HttpProvider:
    return make_provider(request.param)


async def failure(provider: HttpProvider, texts: list[str] | None = None) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        await provider.embed(texts or ["some text"])
    message = caught.value.message
    assert DEFAULT_API_KEY not in message
    assert provider.base_url.split("@")[-1].split("//")[-1] in message, "the message names the server"
    return caught.value


async def test_a_batch_is_one_request_with_vectors_in_input_order(
    provider: HttpProvider, server: FakeEmbeddingServer
) -> None:
    texts = ["first text", "second, longer text", "третий", "first text"]
    sent = [provider.prefixes.document.text + t for t in texts]
    batch = await provider.embed(texts)
    assert batch.vectors == [pytest.approx(fake_vector(t)) for t in sent]
    assert batch.tokens == sum(map(fake_tokens, sent)) == server.tokens_reported
    assert batch.usage_source == "reported"
    assert server.call_count == 1
    [call] = server.calls
    assert call.inputs == sent
    assert call.model == {"ollama": "nomic-embed-text", "openai": "text-embedding-3-small"}[provider.name]


async def test_openai_sends_the_key_as_a_bearer_token(
    make_provider: MakeProvider, server: FakeEmbeddingServer
) -> None:
    await make_provider("openai", embedding_model="my-model").embed(["x"])
    assert server.calls[0].authorization == f"Bearer {DEFAULT_API_KEY}"
    assert server.calls[0].model == "my-model"
    assert server.calls[0].path == "/v1/embeddings"


async def test_embed_texts_uses_as_few_calls_as_the_batch_sizes_allow(
    make_provider: MakeProvider, server: FakeEmbeddingServer
) -> None:
    texts = [f"text number {n}" for n in range(10)]
    provider = make_provider("ollama", embedding_model="all-minilm")
    batch = await embed_texts(provider, texts, batch_size=4)
    assert [len(call.inputs) for call in server.calls] == [4, 4, 2]
    assert batch.vectors == [pytest.approx(fake_vector(t)) for t in texts]
    assert batch.tokens == 40 == server.tokens_reported and batch.usage_source == "reported"
    server.reset()
    # The provider's own limit binds when it is the smaller: OpenAI's tokens per request.
    openai = make_provider("openai", chunk_size=8192)
    assert openai.max_batch_size == 36
    batch = await embed_texts(openai, [f"t{n}" for n in range(80)], batch_size=100)
    assert [len(call.inputs) for call in server.calls] == [36, 36, 8]
    assert len(batch.vectors) == 80
    assert await embed_texts(openai, [], batch_size=10) == batch.__class__(vectors=[], tokens=0)


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408])
async def test_server_errors_are_transient(
    provider: HttpProvider, server: FakeEmbeddingServer, status: int
) -> None:
    server.fail(status)
    error = await failure(provider)
    assert isinstance(error, TransientProviderError)
    assert f"HTTP {status}" in error.message
    # No hidden retries: the queue decides when to try again.
    assert server.call_count == 1
    assert len((await provider.embed(["again"])).vectors) == 1


async def test_a_429_is_rate_limited_with_retry_after_in_seconds(
    provider: HttpProvider, server: FakeEmbeddingServer
) -> None:
    server.rate_limit(retry_after="3")
    error = await failure(provider)
    assert isinstance(error, RateLimitedError)
    assert error.retry_after == 3.0
    assert "retry after 3 s" in error.message


async def test_a_429_is_rate_limited_with_retry_after_as_a_date(
    provider: HttpProvider, server: FakeEmbeddingServer
) -> None:
    server.rate_limit(retry_after=format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True))
    error = await failure(provider)
    assert isinstance(error, RateLimitedError)
    assert error.retry_after is not None and 60 < error.retry_after <= 120


async def test_a_429_without_retry_after_leaves_the_wait_to_the_queue(
    provider: HttpProvider, server: FakeEmbeddingServer
) -> None:
    server.rate_limit(retry_after=None)
    error = await failure(provider)
    assert isinstance(error, RateLimitedError) and error.retry_after is None


async def test_an_exhausted_openai_quota_is_permanent(
    make_provider: MakeProvider, server: FakeEmbeddingServer
) -> None:
    provider = make_provider("openai")
    server.fail(429, message="You exceeded your current quota", code="insufficient_quota")
    error = await failure(provider)
    assert isinstance(error, PermanentProviderError)
    assert "no quota left" in error.message


@pytest.mark.parametrize(
    ("status", "words"), [(400, "refused the request"), (403, "refused the credentials")]
)
async def test_client_errors_are_permanent(
    provider: HttpProvider, server: FakeEmbeddingServer, status: int, words: str
) -> None:
    server.fail(status, message="scripted refusal")
    error = await failure(provider)
    assert isinstance(error, PermanentProviderError)
    assert words in error.message and "scripted refusal" in error.message


async def test_a_wrong_api_key_is_permanent_and_never_shown(make_provider: MakeProvider) -> None:
    wrong = "sk-wrong-key-987654321"
    provider = make_provider("openai", openai_api_key=wrong)
    error = await failure(provider)
    assert isinstance(error, PermanentProviderError)
    assert "rejected OPENAI_API_KEY (HTTP 401)" in error.message
    assert wrong not in error.message and "987654321" not in error.message


async def test_an_unknown_model_says_what_to_do(provider: HttpProvider, server: FakeEmbeddingServer) -> None:
    server.models = {"some-other-model"}
    error = await failure(provider)
    assert isinstance(error, PermanentProviderError)
    if provider.name == "ollama":
        assert "has no model nomic-embed-text: run `ollama pull nomic-embed-text`" in error.message
    else:
        assert "has no model text-embedding-3-small (HTTP 404)" in error.message
        assert "EMBEDDING_MODEL" in error.message


async def test_an_ollama_url_without_the_embed_endpoint_is_permanent(
    make_provider: MakeProvider, server: FakeEmbeddingServer
) -> None:
    provider = make_provider("ollama", ollama_base_url=server.url + "/nope")
    error = await failure(provider)
    assert isinstance(error, PermanentProviderError)
    assert "no /api/embed endpoint" in error.message and "OLLAMA_BASE_URL" in error.message


async def test_malformed_json_is_transient(provider: HttpProvider, server: FakeEmbeddingServer) -> None:
    server.malformed()
    error = await failure(provider)
    assert isinstance(error, TransientProviderError)
    assert "not JSON" in error.message


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (
            {
                "embeddings": [[0.1, 0.2], [0.3]],
                "data": [{"index": 0, "embedding": [0.1, 0.2]}, {"index": 1}],
            },
            "",
        ),
        ({"hello": "world"}, "answered without"),
        ({"embeddings": [[0.1]], "data": [{"index": 0, "embedding": [0.1]}]}, "1 vectors for 2 texts"),
    ],
)
async def test_json_of_the_wrong_shape_is_permanent(
    provider: HttpProvider, server: FakeEmbeddingServer, body: dict[str, Any], words: str
) -> None:
    server.script(Fault(raw_body=json.dumps(body).encode()))
    error = await failure(provider, ["one", "two"])
    assert isinstance(error, PermanentProviderError)
    assert words in error.message


async def test_vectors_of_another_length_come_back_as_they_are(
    provider: HttpProvider, server: FakeEmbeddingServer
) -> None:
    # The provider cannot know the recorded dimension; the model registry rejects the change.
    server.wrong_length(7)
    batch = await provider.embed(["a", "b"])
    assert [len(v) for v in batch.vectors] == [7, 7]


@pytest.mark.parametrize("name", HTTP_PROVIDERS)
async def test_a_slow_answer_times_out_as_transient(
    make_provider: MakeProvider, server: FakeEmbeddingServer, name: ProviderName
) -> None:
    provider = make_provider(name, embedding_request_timeout=200)
    server.slow(2.0)
    error = await failure(provider)
    assert isinstance(error, TransientProviderError)
    assert "did not answer within 0.2 s" in error.message


async def test_an_unreachable_server_is_transient(make_provider: MakeProvider) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    provider = make_provider("ollama", ollama_base_url=f"http://user:hunter2@127.0.0.1:{port}")
    error = await failure(provider)
    assert isinstance(error, TransientProviderError)
    assert "cannot reach Ollama at" in error.message and "hunter2" not in error.message


async def test_openai_without_a_key_is_a_configuration_error() -> None:
    settings = make_settings(embedding_provider="openai", semantic_search_enabled=False)
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        create_provider(settings)


@pytest.mark.parametrize("name", HTTP_PROVIDERS)
async def test_the_rate_limiter_paces_requests_by_count_and_estimated_tokens(
    name: ProviderName, make_provider: MakeProvider, server: FakeEmbeddingServer
) -> None:
    # No prefix, so the estimate is of the texts alone (a prefix is counted: it is sent).
    provider = make_provider(name, embedding_document_prefix="")
    now = [0.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    # 6 requests and 600 tokens a minute: bursts of one request and 30 tokens, then one
    # request every 12 s and 9.5 tokens a second.
    provider.limiter = RateLimiter(6, 600, clock=lambda: now[0], sleep=sleep)
    await provider.embed(["one two three"])  # 3 estimated tokens
    await provider.embed(["four five"])  # the request bucket is empty: one more in 12 s
    # 250 tokens: 220 over the refilled bucket, 23 s at 9.5 a second (longer than request pacing).
    await provider.embed(["a " * 250])
    assert slept == pytest.approx([12.0, 220 / 9.5])
    assert server.call_count == 3
