"""The ``::add-mask::`` protocol: a redacting byte filter that honours GitHub Actions mask commands.

A CI log is a byte stream of unknown size and encoding. :class:`MaskingFilter` turns it into a
redacted byte stream: bytes are released as soon as they are known to be safe, and the only bytes
held back are

* the tail the engine's stream redactor keeps because it could still grow into a secret (shorter
  than the longest pattern, with the colour codes inside it), and
* at the start of a line, the few bytes that could still be the start of a GitHub Actions
  ``::add-mask::`` workflow command (at most ``len("::add-mask")`` bytes, or an unfinished escape
  sequence of at most 515; leading blanks and whole sequences are released at once), at the end
  of a chunk a cut ``##[add-mas``, and the rest of a line once it *is* such a command, up to
  :data:`MAX_COMMAND_LINE` bytes, because the value it registers must be masked in that very line.

So memory stays bounded whatever the input, including gigabytes without a newline.

An ``::add-mask::VALUE`` line registers VALUE (its ``%25``, ``%0D``, ``%0A`` escapes undone, as the
runner does) for everything after it, and the line itself is passed on as ``::add-mask::`` followed
by the replacement, the way the runner echoes ``::add-mask::***``. Like the runner
(``ActionCommand.TryParseV2``), the command name is case-insensitive, leading whitespace is
allowed, properties (``::add-mask k=v::VALUE``) are accepted and ignored, and ``\\r``, ``\\n``
and ``\\r\\n`` all end a line. Unlike the runner, terminal escape sequences before the command
(``\\x1b[36m::add-mask::VALUE``, from tools that colour every line) are allowed too: the runner
would print such a line, value and all, so masking it is the safe side.

The runner's legacy form ``##[add-mask]VALUE`` (``ActionCommand.TryParse``) is honoured the way
the runner finds it: ``##[`` anywhere in a line, the command name up to a space or the first
``]``, the data after that ``]`` with ``%3B``, ``%0D``, ``%0A``, ``%5D``, ``%25`` undone in that
order. Text before ``##[`` on the line passes as ordinary text; the rest of the line is passed on
as ``##[add-mask]`` followed by the replacement.
"""

from __future__ import annotations

import functools
import re
import warnings
from bisect import bisect_right
from collections.abc import Callable
from typing import Any

from redactor.engine.matchers import EngineUnavailable, import_hyperscan
from redactor.engine.redactor import Redactor, RedactorWarning, parse_replacement

__all__ = [
    "MAX_COMMAND_LINE",
    "MaskingFilter",
    "escape_mask_data",
    "unescape_legacy_data",
    "unescape_mask_data",
]

# An ::add-mask:: line is held whole until its end; a longer one is not honoured (its value is
# dropped from the output and a warning says so). GitHub limits a secret to 48 KB, whose escaped
# form is at most three times that.
MAX_COMMAND_LINE = 256 * 1024

_TOKEN = b"::add-mask"
_LEGACY = b"##[add-mask"
_BLANKS = b" \t\v\f"
# Complete escape sequences, as redactor.engine.ansi recognises them (CSI, string controls, two-char).
_SEQ = (
    rb"\x1b(?:\[[\x30-\x3f]{0,64}[\x20-\x2f]{0,16}[\x40-\x7e]"
    rb"|[\]PX^_][^\x07\x1b\r\n]{0,512}(?:\x07|\x1b\\)"
    rb"|[\x20-\x2f]{0,16}[\x30-\x4f\x51-\x57\x59\x5a\x5c\x60-\x7e])"
)
_LEADING = re.compile(rb"(?:[ \t\v\f\r\n]+|" + _SEQ + rb")*")
_PREFIX = re.compile(rb"(?:[ \t\v\f]+|" + _SEQ + rb")*")  # what may precede "::" on a line
_TRAILING_SEQS = re.compile(rb"(?:" + _SEQ + rb")*\Z")
# A proper prefix of a sequence, up to the end of the bytes at hand: wait for the rest.
_SEQ_PARTIAL = re.compile(
    rb"\x1b(?:\[[\x30-\x3f]{0,64}[\x20-\x2f]{0,16}"
    rb"|[\]PX^_][^\x07\x1b\r\n]{0,512}\x1b?|[\x20-\x2f]{0,16})\Z"
)
# For Hyperscan, the two tokens alone, any case: "::add-mask" and "##[add-mask" as literals, the
# byte after each and what precedes "::" on its line checked here for the few hits (exactly as
# the search without Hyperscan does). A regex of the whole candidate line scanned a 1 GB log at
# 3.0 GB/s, on the read-ahead thread that shares the 2-core machine with the pump; the literals
# at 5.3 GB/s. Only lines whose "::" starts the add-mask token (any case) and the byte after it
# are candidates: a line of another command (``::group::``, ``::debug::``, ``##[section]``) is
# ordinary text to the filter, and taking each such line as a candidate cost 5 us of Python a
# line (a log with 500,000 ``::debug::`` lines ran at 10 MB/s). A token that a chunk's end cuts
# short is not missed: the chunk's last line start is always probed (MaskingFilter.feed), and a
# cut ``##[add-mas`` is held (_legacy_tail).
_PROBE = 2 + 512 + 2  # bytes looked at, at most, to decide on what starts a line
_EOL = re.compile(rb"[\r\n]")


def _token_at(data: bytes, k: int, token: bytes, ends: bytes) -> bool:
    """Do the bytes at ``k`` start ``token`` (any case) and one of ``ends``, or, where the data
    ends first, a beginning of that (the probe then waits for the rest)?"""
    n = len(token)
    head = data[k : k + n + 1].lower()
    return head[:n] == token and head[n:] in ends if len(head) > n else token.startswith(head)


def _next_legacy(data: bytes, start: int) -> int:
    """Where the first "##[add-mask" (as :func:`_token_at` takes it) at or after ``start`` is."""
    k = data.find(b"##[", start)
    while k >= 0 and not _token_at(data, k, _LEGACY, b"] "):
        k = data.find(b"##[", k + 1)
    return k


def _next_command_line(data: bytes, pos: int, legacy: int | None = None) -> int:
    """Where the first candidate after ``pos`` starts, or -1: a line (after its line end) whose
    first bytes other than blanks and escape sequences are "::add-mask" and ":" or " ", or a
    "##[add-mask" and "]" or " " anywhere (any case; cut short by the end of ``data``, a
    beginning of those). ``legacy``: that search's answer for "##[" after ``pos``, if known."""
    if legacy is None:
        legacy = _next_legacy(data, pos + 1)
    lo = pos
    k = data.find(b"::", pos)
    while k >= 0 and (legacy < 0 or k < legacy):
        line = _line_of(data, lo, k)
        if line >= 0 and _token_at(data, k, _TOKEN, b": "):
            return line
        lo = k
        k = data.find(b"::", k + 1)
    return legacy


def _line_of(data: bytes, lo: int, k: int) -> int:
    """Where the line of the "::" at ``k`` starts, if a line end after ``lo`` starts it and only
    blanks and escape sequences stand between; else -1. ``lo``: where the previous "::" token
    is (a line holding it before this one is not a candidate), so that a search going forward
    looks at each byte once, however many tokens a line holds."""
    line = _line_end_before(data, lo, k) + 1
    return line if line > lo and _PREFIX.fullmatch(data, line, k) else -1


def _line_end_before(data: bytes, start: int, end: int) -> int:
    """Where the last line end (CR or LF) of ``data[start:end]`` is, or -1. A CR is looked for
    only after the last LF: searching all of it for a CR that a log does not have crawled back
    through the whole chunk (once per chunk, and once per command line)."""
    lf = data.rfind(b"\n", start, end)
    return max(lf, data.rfind(b"\r", lf + 1 if lf >= 0 else start, end))


@functools.cache
def _command_database() -> tuple[Any, Any] | None:
    """(the hyperscan module, a database of the command-line regex), compiled once; or None."""
    try:
        hs = import_hyperscan()
    except EngineUnavailable:
        return None
    db = hs.Database(mode=hs.HS_MODE_BLOCK)
    tokens = [re.escape(_TOKEN), re.escape(_LEGACY)]
    db.compile(expressions=tokens, ids=[0, 1], elements=2, flags=[hs.HS_FLAG_CASELESS] * 2)
    return hs, db


class _CommandLines:
    """Finds, for one chunk at a time, where lines that start with blanks and "::" begin.

    ``bytes.find(b"::")`` crawls through logs (every timestamp has colons, and each one is a
    false start), at about 1 GB/s here; when Hyperscan is installed one regex scan finds the few
    real candidates several times faster. Scratch space is per instance: a filter belongs to
    one thread.
    """

    def __init__(self) -> None:
        self._data: bytes | None = None
        self._starts: list[int] = []
        # Without Hyperscan: where the next "##[add-mask" of _data is, searched from _from on
        # (kept, or each command line of a chunk without one searched the rest of it again).
        self._legacy = self._from = -1
        found = _command_database()
        self._db: Any = found[1] if found else None
        self._scratch = found[0].Scratch(found[1]) if found else None

    @property
    def fast(self) -> bool:
        return self._scratch is not None

    def starts(self, data: bytes) -> list[int]:
        """Where the candidate lines of ``data`` start, sorted (Hyperscan only; see ``fast``)."""
        found: list[tuple[int, int]] = []  # (end, token), sorted below: in order of the data
        self._db.scan(
            data,
            match_event_handler=lambda i, _f, to, _fl, _c: found.append((to, i)),
            scratch=self._scratch,
        )
        starts = set()
        lo = 0  # where the previous token starts (see _line_of)
        for end, i in sorted(found):
            if i:  # "##[add-mask" and "]" or " ", anywhere: where it starts
                if data[end : end + 1] in (b"]", b" "):
                    starts.add(end - len(_LEGACY))
                lo = end - len(_LEGACY)
                continue
            # "::add-mask" and ":" or " ", first on its line after blanks and escape sequences:
            # the start of its line.
            k = end - len(_TOKEN)
            if data[end : end + 1] in (b":", b" ") and (line := _line_of(data, lo, k)) >= 0:
                starts.add(line)
            lo = k
        return sorted(starts)

    def preset(self, data: bytes, starts: list[int]) -> None:
        """Take ``starts`` (another finder's ``starts(data)``) as this chunk's, unscanned."""
        self._data, self._starts = data, starts

    def next(self, data: bytes, pos: int) -> int:
        """The first such line start after ``pos``, or -1 (as :func:`_next_command_line`)."""
        if self._scratch is None:
            start = pos + 1
            if data is not self._data or start < self._from or 0 <= self._legacy < start:
                self._data, self._from, self._legacy = data, start, _next_legacy(data, start)
            return _next_command_line(data, pos, self._legacy)
        if data is not self._data:
            self._data, self._starts = data, self.starts(data)
        i = bisect_right(self._starts, pos)
        return self._starts[i] if i < len(self._starts) else -1


def unescape_mask_data(data: bytes) -> bytes:
    """Undo the workflow-command data escapes exactly as the runner does (``%25`` last)."""
    return data.replace(b"%0D", b"\r").replace(b"%0A", b"\n").replace(b"%25", b"%")


def unescape_legacy_data(data: bytes) -> bytes:
    """The same for the legacy ``##[`` form (``ActionCommand.Unescape``), in the runner's order."""
    for escaped, plain in ((b"%3B", b";"), (b"%0D", b"\r"), (b"%0A", b"\n"), (b"%5D", b"]")):
        data = data.replace(escaped, plain)
    return data.replace(b"%25", b"%")


def escape_mask_data(value: bytes) -> bytes:
    """The escaping ``@actions/core`` applies to command data (the inverse of the above)."""
    return value.replace(b"%", b"%25").replace(b"\r", b"%0D").replace(b"\n", b"%0A")


def _token_prefix(probe: bytes) -> bool:
    """Is ``probe`` (at most the token's length) the beginning of ``::add-mask``?"""
    return _TOKEN.startswith(probe.lower())


def _line_start(probe: bytes, mid: bool) -> tuple[str, int]:
    """What the bytes ``probe`` at a candidate start are: ``("wait", 0)`` undecided until more
    arrives, ``("cmd", k)`` a command whose first k bytes are its token and the byte after it,
    ``("text", 0)`` ordinary text. ``mid``: in the middle of a line, where only ``##[`` starts a
    command."""
    if probe[:1] == b"\x1b" and not mid:  # not a whole sequence (those were passed on)
        return ("wait", 0) if _SEQ_PARTIAL.match(probe) else ("text", 0)
    head = probe.lower()
    for token, ends, allowed in ((_LEGACY, b"] ", True), (_TOKEN, b": ", not mid)):
        if not allowed:
            continue
        n = len(token)
        if len(head) <= n and token.startswith(head):
            return "wait", 0
        if head[:n] == token and head[n : n + 1] in (ends[:1], ends[1:]):
            return "cmd", n + 1
    return "text", 0


def _legacy_tail(data: bytes, pos: int) -> int:
    """Where the longest end of ``data[pos:]`` that could still become ``##[add-mask`` starts."""
    for k in range(min(len(_LEGACY), len(data) - pos), 0, -1):
        if _LEGACY.startswith(data[len(data) - k :].lower()):
            return len(data) - k
    return len(data)


class _Pieces:
    """Bytes to release, kept as ranges of the chunk being fed where possible, so that a chunk of
    ordinary text reaches the stream as it is instead of being sliced and joined again (at the
    fast engine's speed those copies cost as much as the scan)."""

    __slots__ = ("data", "items")

    def __init__(self, data: bytes = b"") -> None:
        self.data = data
        self.items: list[bytes | tuple[int, int]] = []

    def range(self, start: int, stop: int) -> None:
        if start >= stop:
            return
        items = self.items
        last = items[-1] if items else None
        if isinstance(last, tuple) and last[1] == start:
            items[-1] = (last[0], stop)
        else:
            items.append((start, stop))

    def append(self, piece: bytes) -> None:
        if piece:
            self.items.append(piece)

    def __bool__(self) -> bool:
        return bool(self.items)

    def take(self) -> bytes:
        items, data = self.items, self.data
        self.items = []
        if len(items) == 1 and isinstance(items[0], tuple):
            start, stop = items[0]
            return data if start == 0 and stop == len(data) else data[start:stop]
        return b"".join(data[p[0] : p[1]] if isinstance(p, tuple) else p for p in items)


class MaskingFilter:
    """A chunk-safe redacting filter for one byte stream, with ``::add-mask::`` support.

    ``feed(chunk)`` returns the bytes that are safe to emit now and ``flush()`` the rest at the end
    of the stream. For any chunking of the same input the concatenated output is the same; without
    ``::add-mask::`` lines it equals ``redactor.redact_bytes(whole_input)``.

    ``label`` names the stream in the names under which add-mask values are registered (and so in
    warnings), e.g. ``"stdout"``; names never contain a value.
    """

    def __init__(
        self,
        redactor: Redactor,
        *,
        add_mask: bool = True,
        label: str = "input",
        max_command_line: int = MAX_COMMAND_LINE,
    ) -> None:
        self._redactor = redactor
        self._stream = redactor.bytes_stream()
        self._add_mask = add_mask
        self._label = label
        self._max_command = max_command_line
        self._replacement = b""  # unlabelled: what every echoed command shows (else per value)
        if not redactor.labelled:
            self._replacement = redactor.replacement_for(None).encode("utf-8")
        self._at_start = True  # the next byte starts a line (only blanks seen so far)
        self._mid = False  # ... or a "##[" in the middle of a line (only the legacy form)
        self._cand = b""  # held bytes that may still become the command token
        self._cmd: bytearray | None = None  # a command line being collected
        self._swallow = False  # dropping the rest of an over-long command line
        # Registered values are named by their command's ordinal, not its line number: counting
        # lines would cost as much as the whole Hyperscan scan of the stream.
        self._commands_seen = 0
        self._commands = _CommandLines()
        self.registered = 0  # add-mask values registered (each line of a value counts once)

    @property
    def pending(self) -> int:
        """Bytes held back right now (bounded by the longest pattern and MAX_COMMAND_LINE)."""
        held = len(self._cand) + (len(self._cmd) if self._cmd is not None else 0)
        return held + self._stream.pending

    def command_finder(self) -> Callable[[bytes], list[int]] | None:
        """For a thread that reads ahead (the filter's pump on a file): a function that finds
        the command lines of a chunk, for ``feed(chunk, commands=...)``, so that this search
        runs beside the redaction of the chunk before. One thread may use it (it has its own
        scratch space). None when there is nothing to find ahead (``add_mask`` off, or no
        Hyperscan: the plain search is done in ``feed``)."""
        if not self._add_mask:
            return None
        finder = _CommandLines()
        return finder.starts if finder.fast else None

    def feed(self, data: bytes, commands: list[int] | None = None) -> bytes:
        """``commands``: what ``command_finder()``'s function gave for this very ``data``."""
        if not data:
            return b""
        if not self._add_mask:
            return self._stream.feed(data)
        if commands is not None and not self._cand:
            self._commands.preset(data, commands)
        out: list[bytes] = []
        if self._cand:
            # Held bytes that may start a command go first, so that a command, a sequence or
            # "##[" that the chunk boundary cut is looked at whole (a copy, only then).
            data, self._cand = self._cand + data, b""
        release = _Pieces(data)  # passed-through bytes not yet given to the stream
        pos, n = 0, len(data)
        if not self._at_start and self._cmd is None and not self._swallow:
            # In the middle of a line, this chunk may begin with "##[": look at it as a candidate
            # (the search below only finds those after where it starts).
            self._at_start = self._mid = True
        while pos < n:
            if self._cmd is not None or self._swallow:
                m = _EOL.search(data, pos)
                end = m.start() if m else n
                if self._swallow:
                    pos = end
                    if m:
                        self._swallow = False
                        self._at_start = True
                    continue
                self._cmd += data[pos:end]  # type: ignore[operator] # (not None: swallow went on)
                pos = end
                if len(self._cmd) > self._max_command:
                    self._overflow(out, release)
                elif m:
                    self._finish_command(out, release)
                continue
            if self._at_start:
                if not self._mid:
                    # Blank lines, leading blanks and escape sequences (a colour for the whole
                    # line) are released at once: a runner trims the blanks.
                    stop = _LEADING.match(data, pos).end()  # type: ignore[union-attr] # (a * pattern)
                    if stop > pos:
                        release.range(pos, stop)
                        pos = stop
                        if pos == n:
                            break
                probe = data[pos : pos + _PROBE]
                kind, k = _line_start(probe, self._mid)
                if kind == "wait":
                    self._cand = probe  # still undecided: wait for more input
                    pos = n
                    break
                if kind == "cmd":
                    self._at_start = self._mid = False
                    self._cmd = bytearray(probe[:k])
                    self._commands_seen += 1
                    pos += k
                    continue
                self._at_start = self._mid = False  # not a command: ordinary text
            # Inside an ordinary line: jump to the next line whose first bytes other than blanks
            # and escape sequences are "::", or to the next "##[" (found with one fast search);
            # everything before it is ordinary text.
            stop = self._commands.next(data, pos)
            if stop < 0:
                stop = _line_end_before(data, pos, n) + 1
                if stop == 0:  # no line end: the whole rest is the middle of a line
                    tail = _legacy_tail(data, pos)  # but "##[add-mas" may be cut short
                    release.range(pos, tail)
                    if tail < n:
                        self._cand = data[tail:]
                        self._at_start = self._mid = True
                    pos = n
                    break
            release.range(pos, stop)
            pos = stop
            self._at_start = True
            self._mid = data[stop - 1 : stop] not in (b"\r", b"\n")
        self._release(out, release)
        return out[0] if len(out) == 1 else b"".join(out)

    def flush(self) -> bytes:
        """Everything still held, redacted; an unterminated ``::add-mask::`` line is honoured."""
        out: list[bytes] = []
        release = _Pieces()
        if self._cmd is not None:
            self._finish_command(out, release)
        if self._cand:
            release.append(self._cand)
            self._cand = b""
        self._release(out, release)
        out.append(self._stream.flush())
        self._at_start, self._swallow, self._mid = True, False, False
        return b"".join(out)

    def release(self) -> bytes:
        """What the engine holds back, redacted, for when nothing has followed it for a while
        (a prompt on a terminal), the stream going on afterwards. Nothing while the start of
        an ``::add-mask::`` command is held: releasing that would let its value, which may
        still follow, through in clear."""
        if self._cmd is not None or self._cand or self._swallow:
            return b""
        return self._stream.flush()

    # -- internals ---------------------------------------------------------------------------

    def _release(self, out: list[bytes], release: _Pieces) -> None:
        if release:
            out.append(self._stream.feed(release.take()))

    @staticmethod
    def _split_command(line: bytes) -> tuple[bytes, bytes] | None:
        """``(head through the '::' separator, escaped data)``, or None if not an add-mask command.

        Parsed as the runner's ``ActionCommand.TryParseV2``: the command info runs from after the
        leading ``::`` to the next ``::``; its first word is the (case-insensitive) command name.
        """
        if line[:3] == b"##[":  # the legacy form, as ActionCommand.TryParse
            rb = line.find(b"]", 3)
            if rb < 0 or line[3:rb].split(b" ", 1)[0].lower() != _LEGACY[3:]:
                return None
            return line[: rb + 1], line[rb + 1 :]
        sep = line.find(b"::", 2)
        if sep < 0:
            return None
        name = line[2:sep].split(b" ", 1)[0]
        if name.lower() != _TOKEN[2:]:
            return None
        return line[: sep + 2], line[sep + 2 :]

    def _finish_command(self, out: list[bytes], release: _Pieces) -> None:
        # Everything before the command line is fed under the old secrets, so that the output
        # does not depend on how the input was chunked.
        self._release(out, release)
        line = bytes(self._cmd or b"")
        self._cmd = None
        self._at_start = True  # the line end that follows is released as ordinary text
        parts = self._split_command(line)
        if parts is None:
            release.append(line)
            return
        head, escaped = parts
        # A line coloured as a whole ends with its reset code: that is not part of the value.
        trail = _TRAILING_SEQS.search(escaped).start()  # type: ignore[union-attr] # (a * pattern)
        escaped, trail = escaped[:trail], escaped[trail:]
        legacy = head[:1] == b"#"
        value = unescape_legacy_data(escaped) if legacy else unescape_mask_data(escaped)
        if not value.strip():
            warnings.warn(
                f"empty ::add-mask:: value {self._where()} ignored",
                _warning_category(),
                stacklevel=2,
            )
            release.append(line)
            return
        self._register(value, escaped)
        release.append(head + self._echo(value) + trail)

    def _overflow(self, out: list[bytes], release: _Pieces) -> None:
        self._release(out, release)
        line = bytes(self._cmd or b"")
        self._cmd = None
        self._swallow = True
        parts = self._split_command(line)
        if parts:
            head = parts[0]
        else:
            head = line[: len(_LEGACY)] + b"]" if line[:1] == b"#" else line[: len(_TOKEN)] + b"::"
        warnings.warn(
            f"::add-mask:: {self._where()} is longer than {self._max_command} bytes: "
            "its value was not registered and is left out of the output",
            _warning_category(),
            stacklevel=2,
        )
        release.append(head + self._echo(None))

    def _where(self) -> str:
        return f"#{self._commands_seen} on {self._label}"

    def _echo(self, value: bytes | None) -> bytes:
        """What the command line shows in place of its value: the replacement, labelled like
        the value's other copies in the stream (the label of the lowest secret id found in it).
        A value the engine refused (too short, allowed) is labelled with this command's name
        and its ``{hash}``; an over-long one (``value`` None, never read whole) with ``?``s."""
        redactor = self._redactor
        if not redactor.labelled:
            return self._replacement
        ids: set[int] = set()
        if value is not None:
            for region in redactor.spans(value, with_ids=True):
                ids |= region.ids or frozenset()
        if ids:
            text = redactor.replacement_for(ids)
        else:
            digest = "?" * 8 if value is None else redactor.secret_hash(value)
            fields = {"name": f"::add-mask:: {self._where()}", "hash": digest}
            pieces = parse_replacement(redactor.replacement) or []
            text = "".join(lit + (fields[f] if f else "") for lit, f in pieces)
        return text.encode("utf-8")

    def _register(self, value: bytes, escaped: bytes) -> None:
        name = f"::add-mask:: {self._where()}"
        redactor = self._redactor
        if not redactor.add(value, name):  # too short: the engine warns, naming the command
            return
        self.registered += 1
        minimum = redactor.min_length
        if escaped != value and _core_length(escaped) >= minimum:
            redactor.add(escaped, name)  # the form the command line itself shows
        lines = re.split(rb"[\r\n]+", value)
        if len(lines) > 1:
            # Each line of a multi-line value on its own, as the runner does, whatever the
            # redactor's encodings; lines too short to mask safely are skipped silently.
            for ln in lines:
                if _core_length(ln) >= minimum:
                    redactor.add(ln.strip(), name)


def _core_length(value: bytes) -> int:
    """The length the engine checks against ``min_length`` (text trimmed, or raw bytes)."""
    try:
        return len(value.decode("utf-8").strip())
    except UnicodeDecodeError:
        return len(value)


def _warning_category() -> type[Warning]:
    return RedactorWarning
