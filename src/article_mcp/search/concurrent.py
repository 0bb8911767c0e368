"""Two database calls at once, failing as either one would alone."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

import anyio

A = TypeVar("A")
B = TypeVar("B")


async def both(first: Callable[[], Awaitable[A]], second: Callable[[], Awaitable[B]]) -> tuple[A, B]:
    """Run both and return their results; the first error is raised as it is, not grouped.

    Callers (and the server's error handling) expect the errors a single call raises, such as
    InvalidInputError or DatabaseUnavailableError; a task group wraps them in a group.
    """
    results: list[Any] = [None, None]

    async def run(index: int, call: Callable[[], Awaitable[Any]]) -> None:
        results[index] = await call()

    error: BaseException | None = None
    try:
        async with anyio.create_task_group() as group:
            group.start_soon(run, 0, first)
            group.start_soon(run, 1, second)
    except BaseExceptionGroup as grouped:
        error = _first_leaf(grouped)
    if error is not None:
        # raised outside the handler, so that the group does not become its context
        raise error
    return cast(A, results[0]), cast(B, results[1])


def _first_leaf(grouped: BaseExceptionGroup[BaseException]) -> BaseException:
    error = grouped.exceptions[0]
    return _first_leaf(error) if isinstance(error, BaseExceptionGroup) else error
