"""The shared page's rendering: whatever an article holds, the page has no script, no event
handler and no script URL, and only the one stylesheet its policy allows."""

from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser

from hypothesis import given
from hypothesis import strategies as st

from article_mcp.access.shares import SharedArticle
from article_mcp.server.share_page import CONTENT_SECURITY_POLICY, render_page

# Pieces an attacker would put in an article, and markdown to put them in.
HOSTILE = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    '<img src=x onerror="alert(1)">',
    "<svg onload=alert(1)>",
    "<iframe src=javascript:alert(1)>",
    "<style>body{display:none}</style>",
    '<a href="javascript:alert(1)">x</a>',
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](vbscript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD4=)",
    "![x](javascript:alert(1))",
    '[x](https://ok.example "t\\" onclick=\\"alert(1)")',
    "<!-- comment -->",
    "<div onclick='alert(1)'>",
    "&lt;script&gt;",
    "`<script>`",
    "```html\n<script>alert(1)</script>\n```",
]
MARKDOWN = ["# ", "## ", "> ", "- ", "1. ", "*", "**", "\n", "\n\n", "| a | b |\n|---|---|\n| ", " text "]


class Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))
        self._in_style = tag == "style"

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)
            self._in_style = False


SAFE_URL = re.compile(r"(https?://|mailto:|#|/|[a-z0-9._-]+($|[/?#]))", re.IGNORECASE)


@given(st.lists(st.sampled_from(HOSTILE + MARKDOWN), max_size=12), st.sampled_from(HOSTILE))
def test_nothing_in_an_article_becomes_active_on_the_page(parts: list[str], title: str) -> None:
    page = render_page(SharedArticle(slug="s", title=title, content="".join(parts), version=1))
    parsed = Collect()
    parsed.feed(page)
    tags = [tag for tag, _ in parsed.tags]
    assert not {"script", "iframe", "svg", "object", "embed", "div", "form"} & set(tags)
    assert tags.count("style") == 1
    for tag, attrs in parsed.tags:
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name)
            if name in ("href", "src"):
                assert value is not None and SAFE_URL.match(value), (tag, name, value)


def test_the_policy_allows_exactly_the_page_s_stylesheet_and_no_script() -> None:
    parsed = Collect()
    parsed.feed(render_page(SharedArticle(slug="s", title="t", content="x", version=1)))
    digest = base64.b64encode(hashlib.sha256(parsed.styles[0].encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in CONTENT_SECURITY_POLICY
    assert "default-src 'none'" in CONTENT_SECURITY_POLICY
    assert "script-src" not in CONTENT_SECURITY_POLICY
