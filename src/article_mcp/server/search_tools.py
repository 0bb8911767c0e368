"""The semantic_search tool, whose parameters are SearchRequest's fields.

MCPServer builds a tool's input schema from the function's signature; `parameters_from` gives
the tool one flat parameter per field of the request model, so the model declares each
parameter once (type, bounds, default, description) and the schema cannot drift from it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, Field
from pydantic.fields import FieldInfo

from article_mcp.search.models import SearchRequest, SearchResponse
from article_mcp.search.service import SearchService

ToolMethod = TypeVar("ToolMethod", bound=Callable[..., Any])
# Annotated applied at run time to a field's type and constraints (mypy reads `Annotated[...]`
# only as a static type).
_ANNOTATED: Any = Annotated


def parameters_from(model: type[BaseModel]) -> Callable[[ToolMethod], ToolMethod]:
    """Give a tool method that takes `**arguments` the model's fields as its parameters.

    MCPServer builds a tool's input schema from the function's signature, so the tool gets
    one flat parameter per field, with the field's type, bounds, default and description:
    the model declares them once and the schema cannot drift from it.
    """

    def decorate(method: ToolMethod) -> ToolMethod:
        own = inspect.signature(method, eval_str=True)
        kept = [p for p in own.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
        fields = [_parameter(name, field) for name, field in model.model_fields.items()]
        method.__signature__ = own.replace(parameters=[*kept, *fields])  # type: ignore[attr-defined]
        return method

    return decorate


def _parameter(name: str, field: FieldInfo) -> inspect.Parameter:
    # The schema shows a default only when the parameter has a value: call a default factory.
    default = inspect.Parameter.empty if field.is_required() else field.get_default(call_default_factory=True)
    annotation = _ANNOTATED[(field.annotation, *field.metadata, Field(description=field.description))]
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)


class SearchTools:
    """The search tool, bound to one SearchService."""

    def __init__(self, search: SearchService) -> None:
        self._search = search

    @parameters_from(SearchRequest)
    async def semantic_search(self, **arguments: Any) -> SearchResponse:
        """Find articles by meaning: passages closest to the query, grouped by article, best first.

        hybrid (default) also finds exact words and articles written moments ago (not embedded
        yet: embedding_status 'pending'); if semantic search is off or the embedding provider
        is down it answers from full text and says so in `notice`. no_rag articles never appear.
        """
        return await self._search.search(SearchRequest(**arguments))
