"""Every test here carries the `e2e` marker (`-m "not e2e"` leaves them out). And the Node
packages the end-to-end tests use (tests/e2e/node): the official TypeScript MCP SDK and
conformance suite, with the Node 22 the suite needs. Installed from the lock file by the
tests themselves when missing, so nothing is skipped."""

from __future__ import annotations

import shutil
from pathlib import Path

import anyio
import pytest

E2E_DIR = Path(__file__).parent
NODE_DIR = E2E_DIR / "node"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests of this folder before `-m` selects (the hook sees the whole session)."""
    for item in items:
        if item.path.is_relative_to(E2E_DIR):
            item.add_marker(pytest.mark.e2e)


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
