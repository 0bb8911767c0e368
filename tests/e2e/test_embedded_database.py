"""The out-of-the-box path: no DATABASE_URL, the embedded server in the data dir."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ARTICLE_MCP, cli_env

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def test_migrate_and_verify_on_the_embedded_database(tmp_path: Path) -> None:
    env = cli_env(ARTICLE_MCP_DATA_DIR=tmp_path / "data")
    for command in (["db", "migrate"], ["db", "verify"]):
        result = subprocess.run(
            [*ARTICLE_MCP, *command], env=env, capture_output=True, text=True, timeout=180
        )
        assert result.returncode == 0, result.stderr
    assert (tmp_path / "data" / "pg18" / "PG_VERSION").read_text().strip() == "18"
    # The last process stopped the server: no postmaster is left behind.
    assert not (tmp_path / "data" / "pg18" / "postmaster.pid").exists()


def test_the_wheel_ships_the_migrations(tmp_path: Path) -> None:
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if build.returncode != 0 and "hatchling" in build.stderr:
        build = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(tmp_path), str(ROOT)],
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert build.returncode == 0, build.stderr
    wheel = next(tmp_path.glob("article_mcp-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "article_mcp/migrations/0001_schema.sql" in names

    target = tmp_path / "venv"
    venv.create(target, with_pip=True)
    python = target / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr
    probe = (
        "from importlib import resources\n"
        "d = resources.files('article_mcp') / 'migrations'\n"
        "files = sorted(p.name for p in d.iterdir())\n"
        "assert all('-- migrate:up' in (d / f).read_text() for f in files)\n"
        "print(' '.join(files))\n"
    )
    found = subprocess.run(
        [str(python), "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    assert found.returncode == 0, found.stderr
    assert "0001_schema.sql" in found.stdout.split()
