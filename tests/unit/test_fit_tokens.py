"""fit_tokens: the leading words of a text that fit a token budget (the query's window)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from article_mcp.passages.tokens import count_tokens, fit_tokens


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=400), st.integers(0, 60))
def test_fit_tokens_keeps_the_leading_words_within_the_budget(text: str, budget: int) -> None:
    fitted = fit_tokens(text, budget)
    assert count_tokens(fitted) <= budget
    if count_tokens(text) <= budget:
        assert fitted == text
    else:
        words = text.split()
        kept = fitted.split()
        assert kept == words[: len(kept)]
        # the next word would not have fitted
        assert count_tokens(" ".join(words[: len(kept) + 1])) > budget
