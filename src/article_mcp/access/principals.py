"""A principal is whoever a request acts for: a name (the author of its writes) and a scope.

Scopes are ordered: `read` sees and calls only reads; `write` adds article writes; `admin`
adds queue control. Every way in (the AUTH_TOKEN, an access token, an OAuth JWT, a local
stdio client) resolves to one `Principal`, so the rules are written once against it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Scope(StrEnum):
    READ = "read"
    WRITE = "write"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def allows(self, needed: Scope) -> bool:
        """True when this scope includes `needed` (admin includes write includes read)."""
        return self.rank >= needed.rank


_RANK = {Scope.READ: 0, Scope.WRITE: 1, Scope.ADMIN: 2}


def widest(scopes: Iterable[str]) -> Scope | None:
    """The widest of our scopes among `scopes` (unknown names ignored); None if none is ours."""
    ours = [Scope(name) for name in scopes if name in Scope.__members__.values()]
    return max(ours, key=lambda scope: scope.rank, default=None)


@dataclass(frozen=True, slots=True)
class Principal:
    """Whoever a request acts for. `authenticated` is False for a local (unauthenticated) client."""

    name: str
    scope: Scope
    authenticated: bool = True

    def allows(self, needed: Scope) -> bool:
        return self.scope.allows(needed)


# A client on stdio, or over HTTP on loopback without AUTH_TOKEN: the machine's own user.
LOCAL = Principal(name="local", scope=Scope.ADMIN, authenticated=False)
# The holder of AUTH_TOKEN, the built-in admin token of simple set-ups.
AUTH_TOKEN_NAME = "AUTH_TOKEN"  # noqa: S105 - a name, not a secret
