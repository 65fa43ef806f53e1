"""Matching backends behind one small interface.

A matcher is built once from ``{pattern: secret_id}`` and is immutable afterwards, so any number of
threads can use it. It answers two questions: where are the (merged) secret regions in this text,
and how long is the longest suffix of this text that could still grow into a pattern.
"""

from __future__ import annotations

from collections.abc import Iterable

import ahocorasick

__all__ = ["AhoCorasickMatcher", "Span"]

# (start, end_exclusive, secret ids that matched inside the region, or None when not asked for)
Span = tuple[int, int, frozenset[int] | None]

_PREFILTER = 8  # chars checked with a cheap prefix test before the full suffix test


class AhoCorasickMatcher:
    """The reference matcher: pyahocorasick, every overlapping match, intervals merged."""

    name = "ahocorasick"

    def __init__(self, patterns: Iterable[tuple[str, int]]) -> None:
        automaton = ahocorasick.Automaton(ahocorasick.STORE_INTS)
        # The automaton stores a 32-bit int per pattern: its index into these two lists.
        lengths: list[int] = []
        secret_ids: list[int] = []
        maxlen = 0
        first: set[str] = set()
        for pattern, secret_id in patterns:
            if automaton.add_word(pattern, len(lengths)):
                lengths.append(len(pattern))
                secret_ids.append(secret_id)
                maxlen = max(maxlen, len(pattern))
                first.add(pattern[0])
        if lengths:
            automaton.make_automaton()
        self._automaton = automaton
        self._lengths = lengths
        self._secret_ids = secret_ids
        self.pattern_count = len(lengths)
        self.maxlen = maxlen
        self._first = frozenset(first)

    def spans(self, text: str, with_ids: bool = False) -> list[Span]:
        """Merged regions covered by matches: overlapping and adjacent matches become one region."""
        if not self.pattern_count:
            return []
        out: list[list] = []
        lengths = self._lengths
        for end, index in self._automaton.iter(text):
            stop = end + 1
            start = stop - lengths[index]
            # Ends arrive in non-decreasing order, so a new match can only swallow regions at the
            # end of the list: those that reach its start (overlap or touch).
            ids = {self._secret_ids[index]} if with_ids else None
            while out and out[-1][1] >= start:
                prev = out.pop()
                if prev[0] < start:
                    start = prev[0]
                if stop < prev[1]:
                    stop = prev[1]
                if ids is not None:
                    ids |= prev[2]
            out.append([start, stop, ids])
        return [(s, e, frozenset(i) if i is not None else None) for s, e, i in out]

    def hold_length(self, text: str) -> int:
        """Length of the longest suffix of ``text`` that is a prefix of some pattern (< maxlen)."""
        if not self.pattern_count:
            return 0
        n = len(text)
        limit = min(n, self.maxlen - 1)
        match = self._automaton.match
        first = self._first
        for i in range(n - limit, n):
            if text[i] in first and match(text[i : i + _PREFILTER]) and match(text[i:]):
                return n - i
        return 0
