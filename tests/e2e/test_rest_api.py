"""The REST API on `article-mcp serve --transport http` as a subprocess: the curl of the issue,
queued and synchronous, and schemathesis against /openapi.json (no 500, every answer as its
schema says)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import anyio
import httpx
import pytest

from tests.e2e.test_serve import http_server, server_env
from tests.support.fake_providers import FakeEmbeddingServer
from tests.support.worker_runs import wait_until

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

TOKEN = "t0ken-for-the-e2e-rest-tests-Xq9Z"
SCHEMATHESIS_CONFIG = Path(__file__).parent / "schemathesis.toml"
# Bounded: about a minute on a shared machine, and the same cases every run.
MAX_EXAMPLES = 25
SEED = "20261201"
# The issue's command, as written, with this server's port (-i shows the status and headers).
CURL = (
    'curl -H "Authorization: Bearer $AUTH_TOKEN" http://localhost:$PORT/api/articles '
    '-X POST -H "Content-Type: application/json" -d \'{"title":"Test","content":"Test content"}\' -i'
)


@pytest.mark.parametrize("queued", [True, False], ids=["queued", "synchronous"])
async def test_the_curl_of_the_issue_creates_an_article(
    database_url: str, tmp_path: Path, fake_server: FakeEmbeddingServer, queued: bool
) -> None:
    env = server_env(
        database_url,
        tmp_path,
        AUTH_TOKEN=TOKEN,
        SEMANTIC_SEARCH_ENABLED="true",
        EMBEDDING_QUEUE_ENABLED=str(queued).lower(),
        **fake_server.env("ollama"),
    )
    async with http_server(env) as server:
        port = server.base.rsplit(":", 1)[1]
        with anyio.fail_after(60):
            done = await anyio.run_process(["bash", "-c", CURL], env={**env, "PORT": port})
        head, _, body = done.stdout.decode().replace("\r\n", "\n").partition("\n\n")
        assert head.startswith("HTTP/1.1 201"), head
        assert "location: /api/articles/test" in head.lower()
        created = json.loads(body)
        assert created["slug"] == "test" and created["embedding_task_id"] is not None
        # Synchronous: embedded before the answer. Queued: at once, so a worker may be done already.
        assert created["embedding_status"] in (("pending", "ready") if queued else ("ready",))
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with httpx.AsyncClient(base_url=server.base, headers=headers) as api:

            async def embedded() -> bool:
                return bool((await api.get("/api/articles/test")).json()["embedding_status"] == "ready")

            await wait_until(embedded)
            found = (
                await api.get("/api/search", params={"query": "test content", "mode": "semantic"})
            ).json()
            assert [hit["slug"] for hit in found["results"]] == ["test"]


async def test_schemathesis_finds_no_server_error_and_no_answer_off_its_schema(
    database_url: str, tmp_path: Path
) -> None:
    env = server_env(database_url, tmp_path, AUTH_TOKEN=TOKEN)
    async with http_server(env) as server:
        command = [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "--config-file",
            str(SCHEMATHESIS_CONFIG),
            "run",
            f"{server.base}/openapi.json",
            "--header",
            f"Authorization: Bearer {TOKEN}",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--seed",
            SEED,
            "--generation-database",
            "none",
        ]
        with anyio.fail_after(600):
            done = await anyio.run_process(command, cwd=tmp_path, check=False)
        report = done.stdout.decode() + done.stderr.decode()
        assert done.returncode == 0, report
        # Every operation of the document was run, however many it has.
        async with httpx.AsyncClient() as client:
            document = (await client.get(f"{server.base}/openapi.json")).json()
        operations = sum(len(methods) for methods in document["paths"].values())
        assert f"Tested: {operations}" in report, report
    server_errors = [line for line in server.stderr if '"level": "error"' in line or "Traceback" in line]
    assert not server_errors, "\n".join(server_errors)
