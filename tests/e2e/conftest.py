"""The Node packages the end-to-end tests use (tests/e2e/node): the official TypeScript MCP
SDK and conformance suite, with the Node 22 the suite needs. Installed from the lock file
by the tests themselves when missing, so nothing is skipped."""

from __future__ import annotations

import shutil
from pathlib import Path

import anyio
import pytest

NODE_DIR = Path(__file__).parent / "node"


@pytest.fixture(scope="session")
async def node_dir() -> Path:
    """tests/e2e/node with its packages installed (`npm ci`)."""
    npm = shutil.which("npm")
    assert npm, "npm (Node.js) is needed by the TypeScript client and conformance tests"
    installed = NODE_DIR / "node_modules" / ".package-lock.json"
    lock = NODE_DIR / "package-lock.json"
    if not installed.is_file() or installed.stat().st_mtime < lock.stat().st_mtime:
        with anyio.fail_after(600):
            await anyio.run_process([npm, "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR)
    return NODE_DIR


@pytest.fixture(scope="session")
def node(node_dir: Path) -> str:
    """Node 22, as installed among the packages."""
    return str(node_dir / "node_modules" / ".bin" / "node")
