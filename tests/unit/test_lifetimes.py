"""Lifetimes written for a person (`7d`): what they mean, and the error for anything else."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from article_mcp.access.lifetimes import LONGEST, UNITS, parse_lifetime
from article_mcp.errors import InvalidInputError


@given(st.integers(min_value=1, max_value=10_000), st.sampled_from(sorted(UNITS)))
def test_a_count_and_a_unit_is_that_long_up_to_the_longest(count: int, unit: str) -> None:
    expected = count * UNITS[unit]
    if expected <= LONGEST:
        assert parse_lifetime("expires", f" {count}{unit.upper()} ") == expected
    else:
        with pytest.raises(InvalidInputError, match="up to 3650d"):
            parse_lifetime("expires", f"{count}{unit}")


@pytest.mark.parametrize("text", ["", "7", "d", "0d", "-1d", "1.5h", "7 d", "7days", "1y", "99999999d"])
def test_anything_else_names_the_field_and_the_rule(text: str) -> None:
    with pytest.raises(InvalidInputError) as raised:
        parse_lifetime("expires", text)
    assert raised.value.field == "expires"
    assert "a whole number and a unit" in raised.value.rule


def test_units() -> None:
    assert parse_lifetime("expires", "30m") == timedelta(minutes=30)
    assert parse_lifetime("expires", "2w") == timedelta(days=14)
