"""Token detectors: secrets nobody registered, found by their shape in the same single pass.

A :class:`Detector` names a kind of credential (``github-token``), the literal anchors that every
token of that kind contains at a fixed place (``ghp_``), a regular expression that verifies a
candidate, and the longest text a match can span. The engine puts the anchors into the same
automaton (and Hyperscan database) as the known secrets' forms; an anchor hit is verified with
:meth:`Detector.verify` in a bounded window, so text without an anchor costs nothing more and a
stream only holds back an open anchor up to its detector's ``max_length``.

The curated catalog, and the functions that resolve ``detect=`` (which load it first), live in
:mod:`redactor.engine.tokens`; this module is the registry and the one verifying rule every
engine and sink shares.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

try:
    from re import _parser  # type: ignore[attr-defined]  # the stdlib's own parser (3.11+)
except ImportError:  # Python 3.10
    import sre_parse as _parser

from redactor.errors import ConfigError

__all__ = ["Detection", "Detector", "register_detector", "registered"]

#: The group of a detector's pattern that holds the secret; without it, the whole match is.
SECRET_GROUP = "secret"  # noqa: S105  (a regex group name)
_KIND = re.compile(r"[a-z0-9][a-z0-9-]*\Z")


@dataclass(frozen=True)
class Detection:
    """One verified token: ``text[start:stop]`` is the secret (not its anchor or context)."""

    kind: str
    start: int
    stop: int


@dataclass(frozen=True)
class Detector:
    """One kind of credential recognised by its shape.

    ``pattern`` is matched with :meth:`re.Pattern.match` at the position where an anchor starts,
    in a window of at most ``max_length`` characters from there: it must begin with (a form of)
    the anchor. Look-behind assertions see the ``lookbehind`` characters before the anchor (use
    ``(?<![A-Za-z0-9])`` for a word boundary), and look-ahead assertions the ``lookahead``
    characters after the window (a match itself never ends beyond ``max_length``): exactly those,
    whatever the text around, so a stream that keeps ``lookbehind`` characters of context and
    holds an open anchor for ``max_length + lookahead`` characters finds what one-shot finds. The named
    group ``secret``, when present, is the part that gets hidden (the password in
    ``scheme://user:password@``, the value after ``Bearer``); otherwise the whole match is.
    ``validate``, when given, gets the secret text and returns whether it is well-formed (a
    checksum). ``source`` says where the format is documented. ``terminators`` (optional) are
    characters that no token of this kind holds after its anchor (whitespace, a quote): once one
    has arrived, a stream stops holding the anchor (:meth:`closed`); a wrong promise would make
    chunked output differ from one-shot, so leave it empty when unsure. Those of whitespace,
    quotes and angle brackets that the pattern can never match are found from the pattern itself
    (:func:`_unmatchable`), so most detectors need not declare any.
    """

    kind: str
    anchors: tuple[str, ...]
    pattern: str
    max_length: int
    source: str
    default: bool = True
    flags: int = 0
    lookbehind: int = 1
    validate: Callable[[str], bool] | None = field(default=None, compare=False)
    description: str = ""
    lookahead: int = 1  # added after the others: positional construction keeps its meaning
    terminators: str = ""

    def __post_init__(self) -> None:
        if not _KIND.match(self.kind):
            raise ConfigError(
                f"detector kind {self.kind!r}: use lower-case letters, digits and '-'"
            )
        if not self.anchors or any(not a for a in self.anchors):
            raise ConfigError(f"detector {self.kind!r}: give at least one non-empty anchor")
        if not 1 <= self.max_length <= 1 << 16:
            raise ConfigError(f"detector {self.kind!r}: max_length must be 1..65536")
        if not (0 <= self.lookbehind <= 256 and 0 <= self.lookahead <= 256):
            raise ConfigError(f"detector {self.kind!r}: lookbehind and lookahead must be 0..256")
        try:
            compiled = re.compile(self.pattern, self.flags)
        except re.error as exc:
            raise ConfigError(f"detector {self.kind!r}: bad pattern: {exc}") from None
        object.__setattr__(self, "_compiled", compiled)
        object.__setattr__(self, "_grouped", SECRET_GROUP in compiled.groupindex)

    def closed(self, text: str, at: int, anchor_length: int) -> bool:
        """Whether the token at ``text[at]`` is already decided although its window reaches past
        the end of ``text``: a character of ``terminators`` (which no token of this kind holds
        after its anchor, and no look-ahead of its pattern reads past: the detector's promise, or
        found from the pattern) has arrived after the anchor. Matching never reads past that
        character, so the result is already the one-shot result, and a stream need not hold the
        anchor for the whole window (a URL followed by a newline is released at once)."""
        try:
            stop: re.Pattern[str] | None = self.__dict__["_stop"]
        except KeyError:
            # Found on first use, not at import: reading the catalog's patterns takes ~3 ms,
            # which every start of the CLI would pay. (Two threads may both compute it: same.)
            stop = self._terminator_pattern()
            object.__setattr__(self, "_stop", stop)
        return stop is not None and stop.search(text, at + anchor_length) is not None

    @property
    def compiled(self) -> re.Pattern[str]:
        compiled: re.Pattern[str] = self.__dict__["_compiled"]
        return compiled

    def _terminator_pattern(self) -> re.Pattern[str] | None:
        """The declared terminators, and those the pattern shows it can never match (whitespace,
        quotes, angle brackets: what ends a token in output), found by reading its parse tree."""
        chars = "".join(dict.fromkeys(self.terminators + _unmatchable(self.compiled)))
        return re.compile("[" + re.escape(chars) + "]") if chars else None

    @property
    def reach(self) -> int:
        """How many characters from the anchor's start :meth:`verify` may look at: a stream
        holds an anchor back until this many have arrived (or the stream ends)."""
        return self.max_length + self.lookahead

    def verify(self, text: str, at: int) -> Detection | None:
        """The token whose anchor starts at ``text[at]``, if the pattern matches there.

        Only ``text[at - lookbehind : at + max_length + lookahead]`` is looked at (a copy of that
        window: the same characters whatever the text around them, so chunked and one-shot agree),
        the match must end within ``max_length``; the cost per anchor hit is bounded."""
        lb = self.lookbehind
        lo = at - lb if at > lb else 0
        stop_at = at + self.max_length
        window = text[lo : stop_at + self.lookahead]
        compiled: re.Pattern[str] = self.__dict__["_compiled"]
        m = compiled.match(window, at - lo)
        if m is None or m.end() + lo > stop_at:
            return None
        if self.__dict__["_grouped"]:
            start, stop = m.span(SECRET_GROUP)
            if start < 0:
                return None
        else:
            start, stop = m.span()
        if stop <= start:
            return None
        if self.validate is not None and not self.validate(window[start:stop]):
            return None
        return Detection(self.kind, start + lo, stop + lo)


#: Characters that commonly end a token in output: candidates for terminators found by reading
#: a pattern (a URL or a key in a log line is followed by one of these).
_CANDIDATES = " \t\r\n\"'<>`"
_CATEGORIES = {
    "DIGIT": r"\d",
    "NOT_DIGIT": r"\D",
    "SPACE": r"\s",
    "NOT_SPACE": r"\S",
    "WORD": r"\w",
    "NOT_WORD": r"\W",
    "LINEBREAK": r"\n",
    "NOT_LINEBREAK": r"[^\n]",
}


def _unmatchable(compiled: re.Pattern[str]) -> str:
    """The candidate characters that no part of ``compiled`` that reads forward (what it
    consumes, and its look-aheads) can match: matching never reads past one. Conservative: a construct not understood here may match
    anything, so a pattern beyond this reading gets no inferred terminators."""
    try:
        tree = _parser.parse(compiled.pattern, compiled.flags)
        dotall = bool(tree.state.flags & re.DOTALL) or "(?s" in compiled.pattern
        return "".join(c for c in _CANDIDATES if not _may_match(tree, c, dotall))
    except Exception:  # an internal API: if it changes, infer nothing
        return ""


def _may_match(items, c: str, dotall: bool) -> bool:
    code = ord(c)
    for op, av in items:
        name = _name(op)
        if name == "AT":
            continue
        if name in ("ASSERT", "ASSERT_NOT"):
            # A look-behind looks back only; a look-ahead reads on, so it counts as consuming:
            # one that cannot match the character never reads past it.
            if av[0] > 0 and _may_match(av[1], c, dotall):
                return True
            continue
        if name == "LITERAL":
            if av == code:
                return True
        elif name == "NOT_LITERAL":
            if av != code:
                return True
        elif name == "ANY":
            if dotall or c != "\n":
                return True
        elif name == "IN":
            if _in_matches(av, c):
                return True
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            if _may_match(av[2], c, dotall):
                return True
        elif name == "SUBPATTERN":
            if _may_match(av[3], c, dotall or bool(av[1] & re.DOTALL)):
                return True
        elif name == "ATOMIC_GROUP":
            if _may_match(av, c, dotall):
                return True
        elif name == "BRANCH":
            if any(_may_match(branch, c, dotall) for branch in av[1]):
                return True
        else:  # a back-reference, a conditional, anything else: assume it may
            return True
    return False


def _name(constant: object) -> str:
    return str(getattr(constant, "name", constant))


def _in_matches(items, c: str) -> bool:
    code = ord(c)
    negate = False
    hit = False
    for op, av in items:
        name = _name(op)
        if name == "NEGATE":
            negate = True
        elif name == "LITERAL":
            hit = hit or av == code
        elif name == "RANGE":
            hit = hit or av[0] <= code <= av[1]
        elif name == "CATEGORY":
            key = _name(av).removeprefix("CATEGORY_").removeprefix("UNI_").removeprefix("LOC_")
            if key not in _CATEGORIES:
                return True
            hit = hit or re.fullmatch(_CATEGORIES[key], c) is not None
        else:
            return True
    return hit != negate


_REGISTRY: dict[str, Detector] = {}
_LOCK = threading.Lock()


def register_detector(detector: Detector, *, replace: bool = False) -> Detector:
    """Add ``detector`` to the process-wide registry (a kind already registered is an error
    unless ``replace``). Returns it, so the catalog can use this as a plain call."""
    with _LOCK:
        if detector.kind in _REGISTRY and not replace:
            raise ConfigError(f"a detector of kind {detector.kind!r} is already registered")
        _REGISTRY[detector.kind] = detector
    return detector


def registered() -> dict[str, Detector]:
    """A copy of the registry (kind -> detector). Use :mod:`redactor.engine.tokens`'s functions,
    which load the built-in catalog first."""
    with _LOCK:
        return dict(_REGISTRY)
