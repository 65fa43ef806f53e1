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
    checksum). ``source`` says where the format is documented.
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

    @property
    def compiled(self) -> re.Pattern[str]:
        compiled: re.Pattern[str] = self.__dict__["_compiled"]
        return compiled

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
        lo = at - self.lookbehind if at > self.lookbehind else 0
        window = text[lo : at + self.max_length + self.lookahead]
        m = self.compiled.match(window, at - lo)
        if m is None or m.end() > at - lo + self.max_length:
            return None
        if SECRET_GROUP in self.compiled.groupindex:
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
