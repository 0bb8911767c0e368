"""`GET /s/{token}`: a shared article, read-only, to anyone holding the link.

As HTML rendered from the markdown with markdown-it-py, raw HTML off (a `<script>` in an
article is text on the page, and `javascript:` links are not links), under a
Content-Security-Policy that would stop a script even if one got through; or, with
`?format=md`, the markdown itself as `text/markdown`. An unknown, revoked or expired link, or
one whose article is gone, answers the same 404, so a link reveals nothing.
"""

from __future__ import annotations

import base64
import hashlib
import html

from markdown_it import MarkdownIt
from mdit_py_plugins.front_matter import front_matter_plugin
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from article_mcp.access.shares import SharedArticle, ShareLinks
from article_mcp.db.pool import Database

SHARE_PREFIX = "/s/"

# Raw HTML off: markdown-it escapes it, and its link check drops javascript:, vbscript: and
# file: links (and data: ones but for images).
_MARKDOWN = (
    MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"]).use(front_matter_plugin)
)

_STYLE = (
    "body{max-width:46rem;margin:2rem auto;padding:0 1rem;font:16px/1.6 system-ui,sans-serif;color:#222}"
    "pre{overflow:auto;background:#f5f5f5;padding:.75rem}code{font-family:ui-monospace,monospace}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .5rem}"
    "img{max-width:100%}footer{margin-top:3rem;color:#777;font-size:.85rem}"
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()

# Nothing runs, nothing is framed, nothing is sent anywhere; the one stylesheet is allowed by
# its hash, images from https (an article's pictures).
CONTENT_SECURITY_POLICY = (
    f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; img-src https: data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    # The link is the secret: never sent on to the sites an article links to.
    "Referrer-Policy": "no-referrer",
    # A revoked link must stop working at once, not live on in a cache.
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
}
FORMATS = ("html", "md")


def share_url(base: str, token: str) -> str:
    """The absolute URL of the link with this token, under the server's public URL."""
    return f"{base.rstrip('/')}{SHARE_PREFIX}{token}"


def render_page(article: SharedArticle) -> str:
    """The article as a standalone HTML page (its markdown rendered, all of it escaped)."""
    title = html.escape(article.title)
    body = _MARKDOWN.render(article.content)
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title><style>{_STYLE}</style></head>\n"
        f"<body><main><h1>{title}</h1>\n{body}</main>"
        f"<footer>Version {article.version}, shared read-only.</footer></body></html>\n"
    )


def share_routes(db: Database) -> list[Route]:
    """The route of shared pages, reading links from `db`."""
    links = ShareLinks(db)

    async def shared_page(request: Request) -> Response:
        wanted = request.query_params.get("format", "html")
        if wanted not in FORMATS:
            return PlainTextResponse("format: must be html or md\n", status_code=400, headers=HEADERS)
        article = await links.resolve(request.path_params["token"])
        if article is None:
            return PlainTextResponse("not found\n", status_code=404, headers=HEADERS)
        if wanted == "md":
            return Response(article.content, media_type="text/markdown; charset=utf-8", headers=HEADERS)
        return Response(render_page(article), media_type="text/html; charset=utf-8", headers=HEADERS)

    return [Route(SHARE_PREFIX + "{token}", shared_page, methods=["GET"])]
