"""A clock a test moves by hand, for what takes an injectable clock (the token budget)."""

from __future__ import annotations

from datetime import datetime


class ManualClock:
    """Returns `now`, which only the test changes."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now
