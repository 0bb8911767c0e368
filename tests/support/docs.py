"""The documentation as the tests read it: the README front page, the MkDocs pages under
docs/, and the fenced blocks and `article-mcp` commands they show."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
SHELLS = ("bash", "sh")

# A fence may be indented, inside a list item; its closing fence has the same indent.
_FENCE = re.compile(r"^(?P<indent>[ ]*)```(?P<language>[\w-]*)\n(?P<body>.*?)^(?P=indent)```", re.M | re.S)


def pages() -> list[Path]:
    """The README and every docs page."""
    return [README, *sorted(DOCS.rglob("*.md"))]


def blocks(text: str, *languages: str) -> list[str]:
    """The bodies of the fenced blocks of `text` in any of `languages`, dedented."""
    return [
        textwrap.dedent(match["body"]) for match in _FENCE.finditer(text) if match["language"] in languages
    ]


def page_blocks(*languages: str) -> list[str]:
    """The fenced blocks in `languages` of every page."""
    return [block for page in pages() for block in blocks(page.read_text(encoding="utf-8"), *languages)]


def commands(text: str) -> list[str]:
    """Each `article-mcp ...` command in the shell blocks of `text`, without its comment,
    pipe or redirection, from `article-mcp` on (so `.venv/bin/article-mcp demo` counts)."""
    found = []
    for block in blocks(text, *SHELLS):
        for line in block.splitlines():
            start = line.find("article-mcp ")
            if start >= 0 and not line.lstrip().startswith("#"):
                command = line[start:].split("#", 1)[0].split("|", 1)[0].split(" 2>", 1)[0]
                found.append(command.strip())
    return found


def page_commands() -> list[str]:
    """The `article-mcp` commands of every page, each once, sorted."""
    return sorted({command for page in pages() for command in commands(page.read_text(encoding="utf-8"))})
