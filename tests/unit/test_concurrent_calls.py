"""Two calls at once: both results, or the first error as a single call would raise it."""

from __future__ import annotations

import anyio
import pytest

from article_mcp.errors import InvalidInputError
from article_mcp.search.concurrent import both

pytestmark = pytest.mark.anyio


async def test_both_run_at_once_and_return_in_order() -> None:
    first_started = anyio.Event()

    async def first() -> str:
        first_started.set()
        return "a"

    async def second() -> int:
        # would wait forever if the calls ran one after the other, second first
        with anyio.fail_after(5):
            await first_started.wait()
        return 2

    assert await both(second, first) == (2, "a")


async def test_an_error_comes_out_ungrouped() -> None:
    async def fails() -> None:
        raise InvalidInputError("query", "bad")

    async def waits() -> None:
        await anyio.sleep_forever()

    with pytest.raises(InvalidInputError) as error:
        await both(waits, fails)
    assert error.value.field == "query"
