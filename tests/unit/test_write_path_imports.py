"""The write path cannot call an embedding provider by accident: it never imports one."""

from __future__ import annotations

import subprocess
import sys


def test_the_article_service_imports_no_provider() -> None:
    probe = (
        "import sys, article_mcp.articles; "
        "print(sorted(m for m in sys.modules if m.startswith(('article_mcp.providers', 'article_mcp.worker', "
        "'article_mcp.pipeline', 'httpx', 'sentence_transformers'))))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
