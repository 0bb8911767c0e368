"""The container and compose files deploy what docs/deploy.md says: a non-root image serving
HTTP with a health check and no secret in it; PostgreSQL, Ollama, migrations once, a server
without workers and a worker service that scales. `docker-compose config` (Debian's
docker-compose, no daemon needed) validates the compose file as compose itself reads it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import dockerfile
import pytest
import yaml

from article_mcp.cli.main import build_parser
from article_mcp.config import DEFAULT_MODELS, SECRET_SETTINGS
from tests.support.docs import ROOT

INSTRUCTIONS = dockerfile.parse_file(str(ROOT / "Dockerfile"))
RUNTIME = INSTRUCTIONS[max(i for i, step in enumerate(INSTRUCTIONS) if step.cmd == "FROM") :]
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES: dict[str, Any] = COMPOSE["services"]
SECRETS = {*SECRET_SETTINGS, "POSTGRES_PASSWORD"}


def instruction(name: str) -> dockerfile.Command:
    (found,) = [step for step in RUNTIME if step.cmd == name]
    return found


def test_the_wheel_is_built_in_a_stage_of_its_own_and_run_from_a_slim_image() -> None:
    stages = [step.value for step in INSTRUCTIONS if step.cmd == "FROM"]
    assert stages == [("python:3.11-slim", "AS", "build"), ("python:3.11-slim",)]
    assert any(step.cmd == "COPY" and "--from=build" in step.flags for step in RUNTIME)
    assert not any(step.cmd == "COPY" and "src" in step.value for step in RUNTIME)


def test_the_image_runs_as_an_unprivileged_user() -> None:
    assert instruction("USER").value[0] not in ("root", "0")


def test_the_image_serves_http_beyond_loopback_by_default() -> None:
    command = [*instruction("ENTRYPOINT").value, *instruction("CMD").value]
    assert command[0] == "article-mcp"
    args = build_parser().parse_args(command[1:])
    assert (args.command, args.transport, args.host) == ("serve", "http", "0.0.0.0")


def test_the_health_check_asks_health_with_python() -> None:
    check = instruction("HEALTHCHECK")
    assert check.value[:3] == ("CMD", "python", "-c")
    assert "/health" in check.value[3]
    compile(check.value[3], "HEALTHCHECK", "exec")


def test_no_secret_is_baked_into_the_image() -> None:
    for step in RUNTIME:
        if step.cmd in ("ENV", "ARG", "LABEL"):
            assert not SECRETS & {word.split("=", 1)[0] for word in step.value}, step.original


def test_the_build_context_is_an_allow_list() -> None:
    """Only what the wheel is built from is sent to the builder: never .env or .venv."""
    lines = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if not line.startswith("#")]
    assert lines[0] == "*"
    assert all(line.startswith(("!", "**/")) for line in lines[1:])


def test_compose_has_the_database_ollama_migrations_server_and_workers() -> None:
    assert set(SERVICES) == {"db", "ollama", "ollama-pull", "migrate", "server", "worker"}
    assert SERVICES["db"]["image"].startswith("pgvector/pgvector:")
    assert "pg_isready" in " ".join(SERVICES["db"]["healthcheck"]["test"])
    volumes = {
        mount.split(":", 1)[0] for service in SERVICES.values() for mount in service.get("volumes", [])
    }
    assert volumes == set(COMPOSE["volumes"]) == {"db-data", "ollama-models"}


@pytest.mark.parametrize("service", ["migrate", "server", "worker"])
def test_the_article_mcp_services_run_commands_the_cli_accepts(service: str) -> None:
    command = SERVICES[service].get("command", [*instruction("CMD").value])
    assert callable(build_parser().parse_args(command).handler)
    assert SERVICES[service]["env_file"] == ".env"
    assert SERVICES[service]["environment"]["DATABASE_URL"].endswith("@db:5432/articles")


def test_migrations_run_once_before_the_server_and_the_workers() -> None:
    assert SERVICES["migrate"]["command"] == ["db", "migrate"]
    assert SERVICES["migrate"]["restart"] == "no"
    for service in ("server", "worker"):
        assert SERVICES[service]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}


def test_the_server_runs_no_worker_and_the_workers_scale() -> None:
    assert SERVICES["server"]["environment"]["EMBEDDING_CONCURRENT_WORKERS"] == "0"
    assert SERVICES["worker"]["command"] == ["worker"]
    # --scale worker=N needs replicas that differ in nothing: no fixed name, no host port.
    assert not {"container_name", "ports"} & set(SERVICES["worker"])
    assert SERVICES["worker"]["healthcheck"] == {"disable": True}


def test_ollama_pulls_the_default_model_on_first_start() -> None:
    pull = SERVICES["ollama-pull"]
    assert pull["environment"]["MODEL"] == f"${{EMBEDDING_MODEL:-{DEFAULT_MODELS['ollama']}}}"
    assert "ollama pull" in pull["command"][0]
    assert pull["depends_on"]["ollama"] == {"condition": "service_healthy"}


def docker_compose(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("docker-compose")
    assert tool, "docker-compose is needed (Debian's package; ./scripts/test installs it as root with apt)"
    command = [tool, "--project-directory", str(project), "-f", str(ROOT / "docker-compose.yml"), *args]
    return subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)


def test_docker_compose_accepts_the_file_with_env_example_as_env(tmp_path: Path) -> None:
    env = (ROOT / ".env.example").read_text(encoding="utf-8")
    (tmp_path / ".env").write_text(env + "POSTGRES_PASSWORD=compose-check\n", encoding="utf-8")
    checked = docker_compose(tmp_path, "config", "-q")
    assert checked.returncode == 0, checked.stderr
    assert set(docker_compose(tmp_path, "config", "--services").stdout.split()) == set(SERVICES)


def test_docker_compose_refuses_to_start_without_a_database_password(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text((ROOT / ".env.example").read_text(encoding="utf-8"), encoding="utf-8")
    refused = docker_compose(tmp_path, "config", "-q")
    assert refused.returncode != 0
    assert "set POSTGRES_PASSWORD in .env" in refused.stderr
