"""Access token rules that need no database: names, expiry durations, the keyed hash, the
per-principal request buckets, and the scope each tool needs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from article_mcp.access.principals import Scope
from article_mcp.access.tokens import MAX_EXPIRY, check_name, parse_expiry, token_hash
from article_mcp.errors import InvalidInputError
from article_mcp.server.rate_limit import RequestBuckets
from article_mcp.server.scopes import TOOL_SCOPES, needed_scope
from tests.support.mcp_calls import READ_ONLY_TOOLS, TOOLS


@pytest.mark.parametrize(
    ("text", "duration"),
    [
        ("45m", timedelta(minutes=45)),
        ("12h", timedelta(hours=12)),
        ("30d", timedelta(days=30)),
        ("2w", timedelta(weeks=2)),
        (" 1d ", timedelta(days=1)),
    ],
)
def test_expiry_durations(text: str, duration: timedelta) -> None:
    assert parse_expiry(text) == duration


@pytest.mark.parametrize("text", ["", "30", "d", "0d", "-1d", "1.5h", "1y", "30 d", "3661d", "1e3d", "３0d"])
def test_a_bad_expiry_names_the_field_and_the_rule(text: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        parse_expiry(text, "--expires")
    assert refused.value.field == "--expires"
    assert "30d" in refused.value.rule and repr(text) in refused.value.rule


def expiry_or_field(text: str) -> timedelta | str:
    """The duration, or the field a refusal names."""
    try:
        return parse_expiry(text)
    except InvalidInputError as exc:
        return exc.field


@given(st.text(max_size=12))
def test_any_text_is_a_duration_within_bounds_or_a_clear_refusal(text: str) -> None:
    outcome = expiry_or_field(text)
    assert outcome == "expires" or timedelta(0) < outcome <= MAX_EXPIRY  # type: ignore[operator]


@pytest.mark.parametrize("name", ["", "-x", "a b", "x" * 65, "a/b", "ä"])
def test_bad_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidInputError, match=r"^name: must be 1 to 64"):
        check_name(name)


def test_the_hash_is_keyed() -> None:
    token = "amcp_" + "a" * 43
    assert token_hash(b"k" * 32, token) != token_hash(b"j" * 32, token)
    assert len(token_hash(b"k" * 32, token)) == 32


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_each_principal_has_its_own_bucket_refilled_over_the_minute() -> None:
    clock = Clock()
    buckets = RequestBuckets(6, clock)  # one request every 10 s, six at once
    assert [buckets.take("runaway") for _ in range(6)] == [0.0] * 6
    assert buckets.take("runaway") == pytest.approx(10.0)
    assert buckets.take("other") == 0.0  # untouched by the runaway
    clock.now += 5
    assert buckets.take("runaway") == pytest.approx(5.0)
    clock.now += 5
    assert buckets.take("runaway") == 0.0
    clock.now += 3600  # a long pause refills to the burst, no further
    assert [buckets.take("runaway") for _ in range(7)][-2:] == [0.0, pytest.approx(10.0)]


def test_every_tool_has_its_scope_and_writes_need_write() -> None:
    assert set(TOOL_SCOPES) == TOOLS
    assert {tool for tool in TOOLS if needed_scope(tool) is Scope.READ} == READ_ONLY_TOOLS
    assert {needed_scope(tool) for tool in TOOLS - READ_ONLY_TOOLS} == {Scope.WRITE}
    assert needed_scope("a_tool_added_without_a_scope") is Scope.ADMIN
