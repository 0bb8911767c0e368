"""The daily token budget's arithmetic on a clock the test moves, and how a batch's tokens
are shared out among its tasks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from article_mcp.worker.budget import TokenBudget
from article_mcp.worker.plan import Plan
from tests.support.clocks import ManualClock


def test_the_budget_holds_from_the_batch_that_reaches_it_until_midnight_utc() -> None:
    clock = ManualClock(datetime(2030, 1, 1, 22, 0, tzinfo=UTC))
    budget = TokenBudget(100, clock)
    budget.spent(60, clock.now)
    assert budget.resets_at() is None
    budget.spent(40, clock.now)
    assert budget.resets_at() == datetime(2030, 1, 2, tzinfo=UTC)
    # A clock in another time zone counts the same UTC day.
    clock.now = datetime(2030, 1, 2, 0, 30, tzinfo=timezone(timedelta(hours=2)))
    assert budget.resets_at() == datetime(2030, 1, 2, tzinfo=UTC)
    clock.now = datetime(2030, 1, 2, 0, 0, 1, tzinfo=UTC)
    assert budget.resets_at() is None
    # Tokens of a day that is over change nothing.
    budget.spent(500, datetime(2030, 1, 1, 23, 59, tzinfo=UTC))
    assert budget.resets_at() is None


def test_no_budget_never_holds() -> None:
    budget = TokenBudget(0)
    budget.spent(10**12, datetime.now(UTC))
    assert not budget.enabled and budget.resets_at() is None


@given(
    st.dictionaries(st.integers(1, 10**6), st.integers(0, 10_000), min_size=1, max_size=30),
    st.integers(0, 10**7),
)
def test_a_batchs_tokens_are_shared_out_in_full_and_in_proportion(
    weights: dict[int, int], tokens: int
) -> None:
    plan = Plan(tokens_by_task=dict(weights))
    charged = plan.charge(tokens)
    assert set(charged) == set(weights)
    total = sum(weights.values())
    if total == 0:
        assert set(charged.values()) <= {0}
        return
    assert sum(charged.values()) == tokens
    for task, weight in weights.items():
        assert abs(charged[task] - tokens * weight / total) < 1
