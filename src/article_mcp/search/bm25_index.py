"""BM25 over postings held in memory: the same scores as the SQL full text, in a millisecond.

The postings are those of `chunk_postings` (lexeme, passage, term frequency) and each
passage's length, kept per lexeme as numpy arrays of passage *slots*. Scoring a query is
then a few vector operations over the postings of its lexemes and one `bincount`: an
exhaustive pass, exact BM25 (Lucene IDF, the document frequencies and average length of the
live passages), with nothing pruned and nothing approximated.

A changed passage takes a new slot and its old slot dies (a mask, so postings arrays are only
ever appended to); when the dead reach a quarter of the slots, the arrays are compacted. Pure
in-memory code: the database side (what to load, what changed) is bm25_mirror.py's.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from article_mcp.passages.changes import PassageState
from article_mcp.search.fusion import ChunkHit

Slots = npt.NDArray[np.int32]
Floats = npt.NDArray[np.float64]
# Term frequencies are small integers, exact in float32 (4 bytes a posting, beside the slot's 4).
Frequencies = npt.NDArray[np.float32]

# Compact when this share of the slots is dead (and at least MIN_DEAD of them).
DEAD_SHARE = 0.25
MIN_DEAD = 1024
# The most postings whose impacts are kept between writes (8 bytes each): the common words'
# lists, which every search touches, and room for many more.
IMPACT_CACHE_POSTINGS = 8_000_000


@dataclass(frozen=True, slots=True)
class Impacts:
    """A lexeme's live postings and their term-frequency parts, for the corpus as it is and
    one (k1, b)."""

    key: tuple[float, float]
    slots: Slots
    impacts: Floats


@dataclass(frozen=True, slots=True)
class Term:
    """A distinct query lexeme and how often the query repeats it (a weight, as in SQL)."""

    lexeme: str
    count: int


class Bm25Index:
    """The postings of every live passage, by lexeme."""

    def __init__(self, *, min_dead: int = MIN_DEAD) -> None:
        self._min_dead = min_dead
        self._slot_of: dict[int, int] = {}
        self._chunk = np.zeros(0, dtype=np.int64)
        self._article = np.zeros(0, dtype=np.int64)
        self._length = np.zeros(0, dtype=np.float64)
        self._alive = np.zeros(0, dtype=bool)
        self._used = 0
        self._total_length = 0
        self._postings: dict[str, tuple[Slots, Frequencies]] = {}
        # emptied by every change: impacts computed before it are stale
        self._impact_cache: dict[str, Impacts] = {}
        self._cached = 0
        self._loading = False

    # -- size -------------------------------------------------------------------------------

    @property
    def passages(self) -> int:
        """Live passages."""
        return len(self._slot_of)

    @property
    def postings(self) -> int:
        """Postings held, dead passages' included until compaction."""
        return sum(len(slots) for slots, _ in self._postings.values())

    @property
    def nbytes(self) -> int:
        """Memory held by the arrays (the dictionaries' own overhead aside)."""
        arrays = (self._chunk, self._article, self._length, self._alive)
        held = sum(a.nbytes for a in arrays)
        return held + sum(s.nbytes + t.nbytes for s, t in self._postings.values())

    # -- changes ----------------------------------------------------------------------------

    def apply(self, states: Iterable[PassageState]) -> None:
        """Make each passage as its state says: (re)written with its postings, or gone."""
        self._forget_impacts()
        self._loading = False
        grouped: dict[str, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
        for state in states:
            self._kill(state.chunk_id)
            if not state.present:
                continue
            slot = self._new_slot(state)
            for lexeme, tf in zip(state.lexemes, state.tfs, strict=True):
                slots, tfs = grouped[lexeme]
                slots.append(slot)
                tfs.append(tf)
        for lexeme, (slots, tfs) in grouped.items():
            self._append(lexeme, np.asarray(slots, dtype=np.int32), np.asarray(tfs, dtype=np.float32))
        if self._dead > max(self._min_dead, DEAD_SHARE * self._used):
            self._compact()

    def load_passages(
        self, chunk_ids: Sequence[int], article_ids: Sequence[int], lengths: Sequence[int]
    ) -> None:
        """Fill an empty index with passages in ascending id order; `add_postings` follows."""
        assert self._used == 0, "a load fills an empty index"
        chunk = np.asarray(chunk_ids, dtype=np.int64)
        assert bool(np.all(np.diff(chunk) > 0)), "passages in ascending id order"
        self._chunk = chunk
        self._article = np.asarray(article_ids, dtype=np.int64)
        self._length = np.asarray(lengths, dtype=np.float64)
        self._alive = np.ones(len(chunk), dtype=bool)
        self._used = len(chunk)
        self._slot_of = dict(zip(chunk.tolist(), range(len(chunk)), strict=True))
        self._total_length = int(self._length.sum())
        self._loading = True
        self._forget_impacts()

    def add_postings(self, lexeme: str, chunk_ids: Sequence[int], tfs: Sequence[int]) -> None:
        """The postings of one lexeme, in passages of the load (before any `apply`)."""
        assert self._loading, "postings are added during a load"
        # during a load, slots are in passage id order: a binary search finds them all at once
        slots = np.searchsorted(self._chunk, np.asarray(chunk_ids, dtype=np.int64)).astype(np.int32)
        self._append(lexeme, slots, np.asarray(tfs, dtype=np.float32))
        self._forget_impacts()

    def _new_slot(self, state: PassageState) -> int:
        if self._used == len(self._chunk):
            self._grow(max(1024, 2 * len(self._chunk)))
        slot = self._used
        self._used += 1
        self._chunk[slot] = state.chunk_id
        self._article[slot] = state.article_id
        self._length[slot] = state.length
        self._alive[slot] = True
        self._slot_of[state.chunk_id] = slot
        self._total_length += state.length
        return slot

    def _kill(self, chunk_id: int) -> None:
        slot = self._slot_of.pop(chunk_id, None)
        if slot is not None:
            self._alive[slot] = False
            self._total_length -= int(self._length[slot])

    def _grow(self, capacity: int) -> None:
        for name in ("_chunk", "_article", "_length", "_alive"):
            old = getattr(self, name)
            new = np.zeros(capacity, dtype=old.dtype)
            new[: len(old)] = old
            setattr(self, name, new)

    def _append(self, lexeme: str, slots: Slots, tfs: Frequencies) -> None:
        held = self._postings.get(lexeme)
        if held is not None:
            slots, tfs = np.concatenate((held[0], slots)), np.concatenate((held[1], tfs))
        self._postings[lexeme] = (slots, tfs)

    @property
    def _dead(self) -> int:
        return self._used - len(self._slot_of)

    def _compact(self) -> None:
        """Drop dead slots and their postings; live slots keep their order."""
        alive = self._alive[: self._used]
        renumber = np.cumsum(alive, dtype=np.int64) - 1
        for name in ("_chunk", "_article", "_length", "_alive"):
            setattr(self, name, getattr(self, name)[: self._used][alive].copy())
        self._used = len(self._chunk)
        self._slot_of = {int(c): i for i, c in enumerate(self._chunk)}
        postings = {}
        for lexeme, (slots, tfs) in self._postings.items():
            keep = alive[slots]
            if keep.any():
                postings[lexeme] = (renumber[slots[keep]].astype(np.int32), tfs[keep])
        self._postings = postings

    # -- search -----------------------------------------------------------------------------

    def top(
        self,
        terms: Sequence[Term],
        n: int,
        *,
        k1: float,
        b: float,
        articles: npt.NDArray[np.int64] | None = None,
    ) -> list[ChunkHit]:
        """The `n` best passages for `terms` by BM25, best first (ties by passage id), among
        the passages of `articles` when given (the filter narrows postings before scoring)."""
        live = len(self._slot_of)
        if live == 0 or n <= 0:
            return []
        scored = [(t.count, self._impacts(t.lexeme, k1, b)) for t in terms if t.lexeme in self._postings]
        scored = [(count, held) for count, held in scored if len(held.slots)]
        if not scored:
            return []
        # All the query's postings at once: a few vector operations, however many lexemes.
        sizes = [len(held.slots) for _, held in scored]
        idf = [
            count * np.log(1 + (live - size + 0.5) / (size + 0.5))
            for (count, _), size in zip(scored, sizes, strict=True)
        ]
        slots = np.concatenate([held.slots for _, held in scored])
        scores = np.repeat(idf, sizes) * np.concatenate([held.impacts for _, held in scored])
        summed: Floats = np.bincount(slots, weights=scores, minlength=self._used).astype(
            np.float64, copy=False
        )
        if articles is not None:
            # a passage outside the filter's articles never reaches the ranking
            summed[~np.isin(self._article[: self._used], articles, kind="table")] = 0
        return self._best(summed, n)

    def _forget_impacts(self) -> None:
        self._impact_cache.clear()
        self._cached = 0

    def _impacts(self, lexeme: str, k1: float, b: float) -> Impacts:
        """The live postings of `lexeme` and the term-frequency part of their BM25 score,
        tf / (tf + k1 (1 - b + b len / avgdl)): computed once per state of the corpus, since
        most searches come between writes, not after each."""
        held = self._impact_cache.get(lexeme)
        if held is not None and held.key == (k1, b):
            return held
        slots, tfs = self._postings[lexeme]
        if self._dead:
            keep = self._alive[slots]
            slots, tfs = slots[keep], tfs[keep]
        avgdl = max(self._total_length, 1) / len(self._slot_of)
        frequencies = tfs.astype(np.float64)
        impacts = frequencies / (frequencies + k1 * (1 - b + b * self._length[slots] / avgdl))
        held = Impacts((k1, b), slots, impacts)
        if self._cached + len(slots) > IMPACT_CACHE_POSTINGS:
            self._forget_impacts()
        self._impact_cache[lexeme] = held
        self._cached += len(slots)
        return held

    def _best(self, summed: Floats, n: int) -> list[ChunkHit]:
        """The `n` passages with the highest sums (zero: not a candidate)."""
        candidates = np.flatnonzero(summed)
        if len(candidates) > n:
            # everything tied with the n-th best comes along, so ties go by passage id
            nth = np.partition(summed[candidates], len(candidates) - n)[len(candidates) - n]
            candidates = candidates[summed[candidates] >= nth]
        order = np.lexsort((self._chunk[candidates], -summed[candidates]))[:n]
        best = candidates[order]
        return [
            ChunkHit(int(a), int(c), float(s))
            for a, c, s in zip(self._article[best], self._chunk[best], summed[best], strict=True)
        ]
