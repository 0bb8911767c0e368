"""Completions (`completion/complete`) for the arguments a client fills in by hand: `slug` and
`folder`, in any resource template or prompt that takes them, drawn from the database.

Values start with what the client has typed (slugs are lowercase, so the typed text is
lowercased; folders match whatever the case), in order, at most `COMPLETION_LIMIT` of them;
`total` says how many match in all and `hasMore` whether some were left out, as the protocol
asks. Any other argument gets no suggestions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mcp.server.context import ServerRequestContext
from mcp_types import CompleteRequestParams, CompleteResult, Completion

from article_mcp.articles.reads import ArticleReads

# The protocol's ceiling on the values of one completion.
COMPLETION_LIMIT = 100


class ArgumentCompletions:
    """Completes `slug` and `folder` arguments from the articles."""

    def __init__(self, reads: ArticleReads) -> None:
        self._reads = reads

    async def complete(self, ctx: ServerRequestContext[Any], params: CompleteRequestParams) -> CompleteResult:
        """The values for the argument being typed (the reference and earlier arguments do not
        narrow them: a slug is a slug in every template)."""
        return CompleteResult(completion=await self.values(params.argument.name, params.argument.value))

    async def values(self, argument: str, typed: str) -> Completion:
        """The completion of `argument` from what has been typed of it."""
        if argument == "slug":
            slugs, total = await self._reads.slugs_starting(typed.lower(), limit=COMPLETION_LIMIT)
            return _completion(slugs, total)
        if argument == "folder":
            return await self._folders(typed)
        return Completion(values=[], total=0, has_more=False)

    async def _folders(self, typed: str) -> Completion:
        listed = await self._reads.folders()
        wanted = typed.casefold()
        matching = [f.folder for f in listed.folders if f.folder.casefold().startswith(wanted)]
        return _completion(matching[:COMPLETION_LIMIT], len(matching))


def _completion(values: Sequence[str], total: int) -> Completion:
    return Completion(values=list(values), total=total, has_more=total > len(values))
