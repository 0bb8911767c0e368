"""An article's version as its entity tag: `ETag: "3"` on what a read or write returns, and
`If-Match: "3"` on a write, which the service checks as `expected_version`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, Response

# One strong entity tag as ETag gave it ("3"), the bare version (3), or `*` (no check).
_IF_MATCH = r'^("[0-9]{1,10}"|[0-9]{1,10}|[*])$'

# Not nullable: a header is there or not, and `*` (the default) means no check.
IfMatch = Annotated[
    str,
    Header(
        alias="If-Match",
        pattern=_IF_MATCH,
        description='The ETag you read (like "3"): if the article has changed since, nothing is '
        "written and the answer is 412 with the current version. Omit it (or *) to write regardless.",
    ),
]


def etag(version: int) -> str:
    return f'"{version}"'


def expected_version(if_match: str) -> int | None:
    """The version an If-Match header (already matched against its pattern) asks for."""
    if if_match == "*":
        return None
    return int(if_match.strip('"'))


def tag_response(response: Response, version: int | None) -> None:
    """Give the response the entity tag of this version (none for a purged article)."""
    if version is not None:
        response.headers["ETag"] = etag(version)
