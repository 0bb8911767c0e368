"""A real HTTP server on 127.0.0.1 that speaks the Ollama and OpenAI embedding wire formats.

    POST /api/embed       Ollama: {"model", "input": [..]} -> {"embeddings", "prompt_eval_count"}
    GET  /api/tags        Ollama: the models it has
    POST /v1/embeddings   OpenAI: {"model", "input": [..]} -> {"data": [{"index", "embedding"}],
                                  "usage": {"prompt_tokens", "total_tokens"}}

The usage it reports is one token per whitespace-separated word of what it received (prefixes
included) plus one per input, as a tokenizer's start token would add (`fake_tokens`), and
every token reported is added up in `tokens_reported`. `server.report_usage = False` answers
as a compatible server that reports none.

Vectors are derived from the text's hash (`fake_vector`), so a test can tell which text a
vector belongs to. Every request is recorded (`calls`, `call_count`, `input_count`), with the
time it arrived (`Call.at`, `time.monotonic()`). Faults are
scripted per request, first in first out, whatever the endpoint:

    server.fail(503, times=2)               HTTP errors in the endpoint's own error format
    server.rate_limit(retry_after="2")      429 with Retry-After
    server.slow(seconds=1.0)                a late answer
    server.malformed()                      200 with a body that is not JSON
    server.wrong_length(7)                  vectors of another length
    server.models = {"nomic-embed-text"}    any other model is unknown (404)
    server.dimensions = 32                  the model "changed": every later vector has 32 values
    server.model_dimensions = {"m": 48}     model "m" answers 48 values (others: `dimensions`)
    server.down = True                      an outage: every request is cut off unanswered
    server.poison = "word"                  any request with a text containing it gets HTTP 500
    server.latency = 0.05                   every answer takes this long (a model's time per call)

It runs in a thread, so it serves async tests, sync tests and `article-mcp` subprocesses alike
(`server.env("ollama")` gives the variables a subprocess needs). Use the `fake_server` fixture
(import it into a test module or conftest) or `with FakeEmbeddingServer() as server:`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from article_mcp.config import ProviderName

DEFAULT_DIMENSIONS = 16
DEFAULT_API_KEY = "sk-test-0123456789abcdef"


def fake_tokens(text: str) -> int:
    """The tokens the fake server reports for one input."""
    return len(text.split()) + 1


def fake_vector(text: str, dimensions: int = DEFAULT_DIMENSIONS) -> list[float]:
    """The unit vector the fake server returns for `text`: a function of its sha256."""
    raw: list[float] = []
    counter = 0
    while len(raw) < dimensions:
        digest = hashlib.sha256(f"{counter}:{text}".encode()).digest()
        raw.extend(value / 2**31 - 1.0 for value in struct.unpack(">8I", digest))
        counter += 1
    vector = raw[:dimensions]
    norm = sum(v * v for v in vector) ** 0.5 or 1.0
    return [v / norm for v in vector]


@dataclass(frozen=True)
class Call:
    """One request the server received."""

    path: str
    model: str | None
    inputs: list[str]
    authorization: str | None
    # When it arrived, by time.monotonic(): what rate-limit tests count windows of.
    at: float = 0.0


@dataclass(frozen=True)
class Fault:
    """What the server does instead of (or before) a normal answer to one request."""

    status: int = 200
    message: str = ""
    code: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    raw_body: bytes | None = None
    vector_length: int | None = None


class FakeEmbeddingServer:
    """An Ollama- and OpenAI-compatible embedding server with scriptable faults."""

    def __init__(
        self, *, dimensions: int = DEFAULT_DIMENSIONS, api_key: str | None = DEFAULT_API_KEY, port: int = 0
    ) -> None:
        self.dimensions = dimensions
        # Models whose vectors have a length of their own (two models on one server).
        self.model_dimensions: dict[str, int] = {}
        self.api_key = api_key
        # None: every model name is known.
        self.models: set[str] | None = None
        # True: the server is "down", each request's connection closed without an answer.
        self.down = False
        # A text the "model" crashes on: requests that contain it get HTTP 500.
        self.poison: str | None = None
        # False: answers carry no usage (`prompt_eval_count`, `usage`), as some servers do.
        self.report_usage = True
        self.tokens_reported = 0
        # Seconds every answer takes, faults aside: a model's fixed time per call (benchmarks).
        self.latency = 0.0
        self.calls: list[Call] = []
        self._faults: list[Fault] = []
        # Consulted when nothing is scripted: a fault for this request, or None (soak tests).
        self.chaos: Callable[[], Fault | None] | None = None
        self._lock = threading.Lock()
        self._http = ThreadingHTTPServer(("127.0.0.1", port), _handler_for(self))
        self._http.daemon_threads = True
        self._thread = threading.Thread(
            target=self._http.serve_forever, args=(0.05,), name="fake-embeddings", daemon=True
        )

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> FakeEmbeddingServer:
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeEmbeddingServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- addresses and settings ------------------------------------------------------------

    @property
    def url(self) -> str:
        """The server's root URL: OLLAMA_BASE_URL."""
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def openai_url(self) -> str:
        """OPENAI_BASE_URL for this server."""
        return f"{self.url}/v1"

    def settings(self, provider: ProviderName, **overrides: Any) -> dict[str, Any]:
        """Settings fields pointing `provider` at this server (for `make_settings(**...)`)."""
        values: dict[str, Any] = {"embedding_provider": provider}
        if provider == "ollama":
            values["ollama_base_url"] = self.url
        elif provider == "openai":
            values["openai_base_url"] = self.openai_url
            values["openai_api_key"] = self.api_key or "sk-unused"
        return {**values, **overrides}

    def env(self, provider: ProviderName, **overrides: Any) -> dict[str, str]:
        """The same as environment variables, for an `article-mcp` subprocess."""
        return {name.upper(): str(value) for name, value in self.settings(provider, **overrides).items()}

    # --- what happened ---------------------------------------------------------------------

    @property
    def call_count(self) -> int:
        """Requests received so far (faulty ones included)."""
        with self._lock:
            return len(self.calls)

    @property
    def input_count(self) -> int:
        """Texts received so far, over all requests."""
        with self._lock:
            return sum(len(call.inputs) for call in self.calls)

    def texts(self) -> list[str]:
        """Every text received, in order."""
        with self._lock:
            return [text for call in self.calls for text in call.inputs]

    def reset(self) -> None:
        """Forget the calls and any faults not yet used."""
        with self._lock:
            self.calls.clear()
            self._faults.clear()

    # --- scripting faults ------------------------------------------------------------------

    def script(self, fault: Fault, times: int = 1) -> None:
        """Answer the next `times` requests with `fault`."""
        with self._lock:
            self._faults.extend([fault] * times)

    def fail(self, status: int, *, times: int = 1, message: str = "", code: str | None = None) -> None:
        """HTTP `status` for the next requests, with an error body in the endpoint's format."""
        self.script(Fault(status=status, message=message or f"scripted failure {status}", code=code), times)

    def rate_limit(
        self, *, retry_after: str | None = "1", times: int = 1, headers: dict[str, str] | None = None
    ) -> None:
        """429 for the next requests, with `Retry-After: retry_after` (None: no header)."""
        sent = dict(headers or {})
        if retry_after is not None:
            sent["Retry-After"] = retry_after
        self.script(
            Fault(status=429, message="rate limit reached", code="rate_limit_exceeded", headers=sent), times
        )

    def slow(self, seconds: float, *, times: int = 1) -> None:
        """Answer the next requests normally, after `seconds`."""
        self.script(Fault(delay=seconds), times)

    def malformed(self, *, times: int = 1, body: bytes = b'{"embeddings": [[0.1, 0.2') -> None:
        """200 with a body that is not JSON."""
        self.script(Fault(raw_body=body), times)

    def wrong_length(self, length: int, *, times: int = 1) -> None:
        """Vectors of `length` values for the next requests."""
        self.script(Fault(vector_length=length), times)

    # --- serving ---------------------------------------------------------------------------

    def _next_fault(self) -> Fault | None:
        with self._lock:
            if self._faults:
                return self._faults.pop(0)
        return self.chaos() if self.chaos is not None else None

    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    def _count_tokens(self, tokens: int) -> None:
        with self._lock:
            self.tokens_reported += tokens


def _handler_for(server: FakeEmbeddingServer) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        fake = server

    return Handler


class _Handler(BaseHTTPRequestHandler):
    fake: FakeEmbeddingServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read `calls`, not logs."""

    def do_GET(self) -> None:
        if self.path != "/api/tags":
            self._send(404, b"404 page not found", "text/plain")
            return
        names = sorted(self.fake.models or {"nomic-embed-text"})
        self._json(200, {"models": [{"name": f"{n}:latest", "model": f"{n}:latest"} for n in names]})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            request = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            request = {}
        inputs = request.get("input", [])
        inputs = [inputs] if isinstance(inputs, str) else list(inputs)
        openai = self.path == "/v1/embeddings"
        if not openai and self.path != "/api/embed":
            self._send(404, b"404 page not found", "text/plain")
            return
        authorization = self.headers.get("Authorization")
        self.fake._record(Call(self.path, request.get("model"), inputs, authorization, time.monotonic()))
        if self.fake.down:
            self.close_connection = True
            return
        poison = self.fake.poison
        if poison is not None and any(poison in text for text in inputs):
            self._error(openai, 500, "the model crashed on this input", None, {})
            return
        fault = self.fake._next_fault() or Fault()
        if fault.delay or self.fake.latency:
            time.sleep(fault.delay or self.fake.latency)
        if fault.raw_body is not None:
            self._send(fault.status, fault.raw_body, "application/json")
        elif fault.status >= 400:
            self._error(openai, fault.status, fault.message, fault.code, fault.headers)
        elif (problem := self._refusal(openai, request.get("model"))) is not None:
            self._error(openai, *problem)
        else:
            model = request.get("model")
            dimensions = self.fake.model_dimensions.get(str(model), self.fake.dimensions)
            self._answer(openai, model, inputs, fault.vector_length or dimensions)

    def _refusal(self, openai: bool, model: Any) -> tuple[int, str, str | None, dict[str, str]] | None:
        key = self.fake.api_key
        if openai and key is not None and self.headers.get("Authorization") != f"Bearer {key}":
            given = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
            return 401, f"Incorrect API key provided: {given}.", "invalid_api_key", {}
        if self.fake.models is not None and model not in self.fake.models:
            if openai:
                return 404, f"The model `{model}` does not exist", "model_not_found", {}
            return 404, f'model "{model}" not found, try pulling it first', None, {}
        return None

    def _answer(self, openai: bool, model: Any, inputs: list[str], dimensions: int) -> None:
        vectors = [fake_vector(text, dimensions) for text in inputs]
        tokens = sum(map(fake_tokens, inputs))
        if openai:
            data = [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)]
            # Answered in reverse: clients must order by `index`, as the API allows.
            body: dict[str, Any] = {"object": "list", "data": data[::-1], "model": model}
            usage: dict[str, Any] = {"usage": {"prompt_tokens": tokens, "total_tokens": tokens}}
        else:
            body = {"model": model, "embeddings": vectors, "total_duration": 1_000_000}
            usage = {"prompt_eval_count": tokens}
        if self.fake.report_usage:
            body.update(usage)
            self.fake._count_tokens(tokens)
        self._json(200, body)

    def _error(
        self, openai: bool, status: int, message: str, code: str | None, headers: dict[str, str]
    ) -> None:
        body = (
            {"error": {"message": message, "type": "invalid_request_error", "code": code}}
            if openai
            else {"error": message}
        )
        self._json(status, body, headers)

    def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(body).encode(), "application/json", headers)

    def _send(
        self, status: int, payload: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        # The client may have given up waiting (a timeout test): nothing to answer then.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(payload)


@pytest.fixture
def fake_server() -> Iterator[FakeEmbeddingServer]:
    """A running fake embedding server, stopped after the test."""
    with FakeEmbeddingServer() as server:
        yield server
