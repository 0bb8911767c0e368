"""Random hostile arguments through every tool over the real stdio transport (issue 14).

Strings from all of Unicode (lone surrogates and controls included), integers at and past
the limits of 64 bits, floats at the extremes and values of the wrong type, under known and
unknown argument names: every request gets a response carrying its id, every error names a
field the tool has (or `arguments`), nothing crashes ("Error executing tool ..."), and what
the database holds afterwards passes the article rules.
"""

from __future__ import annotations

import json
from collections import Counter
from itertools import count
from pathlib import Path
from typing import Any

import anyio
import anyio.from_thread
import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from article_mcp.articles.rules import check_folder, check_tags, check_title
from article_mcp.articles.slugs import is_valid_slug
from tests.support.mcp_calls import TOOLS
from tests.support.stdio_wire import StdioSession, stdio_session

pytestmark = pytest.mark.anyio

EXAMPLES = 300

ANY_CHARACTER = st.characters(exclude_categories=())  # surrogates (Cs) and controls (Cc) too
LIMITS = [0, 1, -1, 2**31, 2**53 + 1, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 10**30]
EXTREME_FLOATS = [0.5, -0.0, 1e-300, 1e308, -1e308]
TRICKY_STRINGS = [
    *("", " ", "5", "yes", "true", "a/b", "..", "hybrid", "a" * 400),
    *("\x00", "a\x00b", "\ud800", "a\udfffb", "\u200b", "\u202e", "\u3164", "\ufeff", "\n"),
]

strings = st.one_of(st.text(ANY_CHARACTER, max_size=24), st.sampled_from(TRICKY_STRINGS))
scalars = st.one_of(
    strings, st.sampled_from(LIMITS), st.sampled_from(EXTREME_FLOATS), st.booleans(), st.none()
)
values = st.one_of(
    scalars,
    st.lists(scalars, max_size=4),
    st.dictionaries(st.text(ANY_CHARACTER, max_size=4), scalars, max_size=2),
)


# Values a tool would accept, so that hostile values also arrive beside valid ones (and some
# calls succeed and store an article).
PLAUSIBLE: dict[str, st.SearchStrategy[Any]] = {
    "title": st.text(st.characters(categories=["L", "N", "P", "S", "Zs"]), min_size=1, max_size=30),
    "content": st.text(max_size=80),
    "folder": st.sampled_from(["", "guides", "guides/python"]),
    "tags": st.lists(st.sampled_from(["python", "db", "how-to"]), max_size=3),
    "no_rag": st.booleans(),
    "query": st.sampled_from(["python", "note", '"exact phrase"']),
    "slug": st.sampled_from(["python", "note", "missing"]),
    "new_slug": st.sampled_from(["renamed", "python"]),
    "limit": st.integers(1, 100),
    "offset": st.integers(0, 50),
    "k": st.integers(1, 100),
    "mode": st.sampled_from(["hybrid", "semantic", "fulltext"]),
    "passages": st.integers(1, 5),
    "diversity": st.floats(0, 1),
}


def arguments_for(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """The tool's required arguments and some of its others, each mostly plausible, sometimes
    hostile; sometimes an unknown one too."""
    required = set(schema.get("required", []))

    def value(name: str) -> st.SearchStrategy[Any]:
        plausible = PLAUSIBLE.get(name, scalars)
        return st.one_of(plausible, plausible, values)

    own = st.fixed_dictionaries(
        {name: value(name) for name in schema.get("properties", {}) if name in required},
        optional={name: value(name) for name in schema.get("properties", {}) if name not in required},
    )
    unknown = st.dictionaries(st.text(ANY_CHARACTER, max_size=8), values, max_size=1)
    extra = st.one_of(st.just({}), st.just({}), unknown)
    return st.tuples(own, extra).map(lambda both: {**both[1], **both[0]})


async def test_random_arguments_through_every_tool_over_stdio(database_url: str, tmp_path: Path) -> None:
    async with stdio_session(database_url, tmp_path) as session:
        await session.request(_initialize())
        await session.notify({"jsonrpc": "2.0", "method": "notifications/initialized"})
        listed = await session.request({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        schemas = {tool["name"]: tool["inputSchema"] for tool in listed["result"]["tools"]}
        assert set(schemas) == TOOLS
        outcomes = await anyio.to_thread.run_sync(_drive, session, schemas)
        assert (await session.request({"jsonrpc": "2.0", "id": 2, "method": "ping"}))["result"] == {}
        await session.close()

    # Every kind of answer came up, so the run tried more than one way in.
    assert {"ok", "tool error", "protocol error"} <= set(outcomes), outcomes
    stored = await _database_holds_only_what_the_rules_allow(database_url)
    print(f"hostile input: {outcomes.total()} calls, {dict(outcomes)}, {stored} articles stored")


def _drive(session: StdioSession, schemas: dict[str, dict[str, Any]]) -> Counter[str]:
    """Run hypothesis in this worker thread; each call goes through the session's event loop."""
    ids = count(100)
    outcomes: Counter[str] = Counter()
    calls = st.sampled_from(sorted(schemas)).flatmap(
        lambda tool: st.tuples(st.just(tool), arguments_for(schemas[tool]))
    )

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(calls)
    def one_call(call: tuple[str, dict[str, Any]]) -> None:
        tool, arguments = call
        request_id = next(ids)
        line = json.dumps(
            {
                "jsonrpc": "2.0",
                "id": request_id,
                "method": "tools/call",
                "params": {"name": tool, "arguments": arguments},
            }
        )
        reply = anyio.from_thread.run(session.send_line, line.encode())
        assert reply.get("id") == request_id, (line[:300], reply)
        outcomes[_check_reply(reply, tool, arguments, schemas[tool])] += 1

    one_call()
    return outcomes


def _check_reply(reply: dict[str, Any], tool: str, arguments: dict[str, Any], schema: dict[str, Any]) -> str:
    where = (tool, repr(arguments)[:300], reply)
    if "error" in reply:
        assert reply["error"]["code"] in (-32602, -32600), where
        assert "params.arguments" in reply["error"]["message"], where
        return "protocol error"
    result = reply["result"]
    if not result.get("isError"):
        return "ok"
    text = result["content"][0]["text"]
    assert "Error executing tool" not in text, where
    label, _, rest = text.partition(": ")
    assert label in ("invalid input", "not found", "conflict"), where
    if label == "invalid input":
        field = rest.split(":", 1)[0].split("[", 1)[0].split(".", 1)[0]
        assert field in {*schema.get("properties", {}), "arguments"}, where
    return "tool error"


async def _database_holds_only_what_the_rules_allow(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch("SELECT slug, title, folder, tags FROM articles")
    finally:
        await conn.close()
    for row in rows:
        assert is_valid_slug(row["slug"]), row
        assert check_title(row["title"]) == row["title"], row
        assert check_folder(row["folder"]) == row["folder"], row
        assert check_tags(row["tags"]) == row["tags"], row
    return len(rows)


def _initialize() -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "hostile"}},
    }
