"""Where a secret already went: findings (secret name, form, place) in texts, files and archives.

``redactor scan`` changes nothing; it runs the same engine as every sink and, instead of
splicing each region, reports it: the secret's name (or a detector's kind), the *form* the
copy took (``raw``, ``base64``, ``url``, ``json``, ...), and where it is (file, line, column; in a
notebook also the cell, output and field). A finding never holds the value, nor the matched text.

The engine maps every pattern to a secret id, not to the encoding that made it, so the form is
named here, after the fact, for the few regions found: :class:`FormNamer` rebuilds the forms of
that one secret encoding by encoding and asks which of them the matched text is (or holds, or is
a piece of). That costs one ``forms_of`` per secret that was found, never per secret registered.
"""

from __future__ import annotations

import codecs
import hashlib
import hmac
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from redactor.engine.encodings import Encoding, SecretValue, forms_of, get_encoding
from redactor.engine.redactor import Redactor
from redactor.engine.structure import secret_parts
from redactor.sinks.logfiles import Unsupported, leaf_streams
from redactor.sinks.notebook import json_path_at

__all__ = [
    "BINARY_SNIFF",
    "Finding",
    "FormNamer",
    "Scanner",
    "fingerprint",
    "notebook_place",
]

# A file whose first this many bytes hold a NUL is binary (git's own heuristic, 8,000 bytes).
BINARY_SNIFF = 8000
# Files and blobs are read in windows of this many bytes: a file no larger is scanned in one
# call, as before; a larger one in windows that overlap (see Scanner.scan_stream), so that memory
# stays about two windows whatever the size. 8 MiB is 0.4 s of the reference engine at 20 MB/s:
# the per-call cost is nothing beside it.
CHUNK = 8 * 1024 * 1024
# The least overlap of two windows: a match plus its context is at most Redactor.reach
# characters (16,433 with the default detectors, a PEM block's window; 64 without detectors); a
# copy spread by terminal escape sequences is longer, so the overlap is never under 64 KiB.
MIN_OVERLAP = 64 * 1024
RAW = "raw"
DETECTED = "detected"


@dataclass
class Finding:
    """One place where one secret appears. ``line`` and ``column`` count from 1 (columns in
    characters); ``end_line``/``end_column`` are those of the last character. ``commits`` and
    ``paths`` are set for findings in git history. Never holds the value."""

    secret: str
    form: str
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    place: str | None = None  # in a notebook: "cell 3, output 1, data.image/png"
    detected: bool = False
    commits: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    blob: str | None = None
    # The keyed fingerprint (see :func:`fingerprint`); set by the scanner.
    fingerprint: str = ""
    # HMAC of the value under the fingerprint key, to recompute the fingerprint for another path
    # (git: the path reported is known only once every commit is read). Never reported.
    value_mac: bytes = field(default=b"", repr=False)

    def set_fingerprint(self, key: bytes) -> None:
        self.fingerprint = fingerprint(key, self.secret, self.form, self.path, self.value_mac)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "secret": self.secret,
            "form": self.form,
            "path": self.path,
            "line": self.line,
            "column": self.column,
            "end_line": self.end_line,
            "end_column": self.end_column,
            "detected": self.detected,
            "fingerprint": self.fingerprint,
        }
        if self.place is not None:
            out["place"] = self.place
        if self.blob is not None:
            out.update(blob=self.blob, commits=self.commits, paths=self.paths)
        return out


def value_mac(key: bytes, value: bytes) -> bytes:
    return hmac.new(key, b"value\0" + value, hashlib.sha256).digest()


def fingerprint(key: bytes, secret: str, form: str, path: str, mac: bytes) -> str:
    """HMAC-SHA256 under ``key`` of what identifies a finding: the secret's name, the form, the
    path and the secret's value (as ``value_mac``: a rotated value leaking again is a new finding). Keyed,
    so that a fingerprint in a SARIF file or a baseline cannot be checked against guesses of the
    value without the key; stable across runs with the same key (moved lines keep it)."""
    msg = b"\0".join([secret.encode(), form.encode(), path.encode(), mac])
    return hmac.new(key, msg, hashlib.sha256).hexdigest()


class FormNamer:
    """Names the form of a matched text: which encoding of which secret it is.

    Built from the ``(name, value)`` items the redactor was given (structured values' parts too,
    under the engine's ``name#label``), it computes one secret's forms, encoding by encoding,
    the first time that secret is found."""

    def __init__(
        self, items: Iterable[tuple[str, str | bytes]], encodings: list[str], min_length: int
    ) -> None:
        self.values: dict[str, bytes] = {}
        self._secrets: dict[str, SecretValue] = {}
        for name, value in items:
            secret = SecretValue.of(value)
            self._secrets.setdefault(name, secret)
            if secret.text is not None:
                for label, part in secret_parts(secret.text):
                    self._secrets.setdefault(f"{name}{label}", SecretValue.of(part))
        self.values = {name: s.data for name, s in self._secrets.items()}
        self._encodings: list[Encoding] = [get_encoding(n) for n in encodings]
        self._min = min_length
        self._tables: dict[str, list[tuple[str, set[str]]]] = {}
        self._named: dict[tuple[str, str], str] = {}

    def _table(self, name: str) -> list[tuple[str, set[str]]]:
        table = self._tables.get(name)
        if table is None:
            secret = self._secrets.get(name)
            table = [] if secret is None else self._build(secret)
            self._tables[name] = table
        return table

    def _build(self, secret: SecretValue) -> list[tuple[str, set[str]]]:
        variants = [e for e in self._encodings if e.kind == "variant"]
        plain = forms_of(secret, variants)
        if secret.text is None:
            plain.add(secret.data.decode("utf-8", "surrogateescape"))
        table = [(RAW, plain)]
        for enc in self._encodings:
            if enc.kind == "variant":
                continue
            if enc.kind == "fragment":
                forms = set(enc.func(secret))
            else:
                forms = forms_of(secret, [*variants, enc]) - plain
            table.append((enc.name, {f for f in forms if len(f) >= self._min}))
        return table

    def form(self, name: str, text: str) -> str:
        """The form of ``text`` (what a region matched) for secret ``name``: the encoding that
        gives exactly it, else the one whose longest form it holds (a region merged with its
        surroundings), else the one it is a piece of (``base64-partial``: a cut copy)."""
        key = (name, text)
        found = self._named.get(key)
        if found is not None:
            return found
        table = self._table(name)
        found = next((n for n, forms in table if text in forms), None)
        if found is None:
            best = 0
            for n, forms in table:
                for f in forms:
                    if len(f) > best and f in text:
                        best, found = len(f), n
        if found is None:
            found = next(
                (f"{n}-partial" for n, forms in table if any(text in f for f in forms)), None
            )
        found = found or "partial"
        self._named[key] = found
        return found


def notebook_place(path: list[str | int]) -> str | None:
    """``cell 3, output 1, text`` for a JSON path into a notebook (cells and outputs count from
    1, as editors and ``scrub``'s reports do); ``metadata.widgets...`` outside the cells."""
    if not path:
        return None
    parts: list[str] = []
    rest = list(path)
    if len(rest) >= 2 and rest[0] == "cells" and isinstance(rest[1], int):
        parts.append(f"cell {rest[1] + 1}")
        rest = rest[2:]
        if len(rest) >= 2 and rest[0] == "outputs" and isinstance(rest[1], int):
            parts.append(f"output {rest[1] + 1}")
            rest = rest[2:]
    if rest:
        parts.append(".".join(str(p) for p in rest))
    return ", ".join(parts)


def _line_starts(text: str) -> list[int]:
    starts = [0]
    find = text.find
    i = find("\n")
    while i >= 0:
        starts.append(i + 1)
        i = find("\n", i + 1)
    return starts


def _position(starts: list[int], offset: int, origin: tuple[int, int] = (1, 0)) -> tuple[int, int]:
    """(line, column) from 1 of character ``offset``; ``origin`` is the line and the column (from
    0) of the text's first character in the file, for a window of a longer text."""
    lo, hi = 0, len(starts)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if starts[mid] <= offset:
            lo = mid
        else:
            hi = mid
    return lo + origin[0], offset - starts[lo] + 1 + (origin[1] if lo == 0 else 0)


class Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...


def _read_full(stream: Readable, n: int) -> bytes:
    """``n`` bytes, fewer only at the end: a decompressor or a chained head may return less."""
    data = stream.read(n)
    if len(data) >= n or not data:
        return data
    parts = [data]
    got = len(data)
    while got < n:
        more = stream.read(n - got)
        if not more:
            break
        parts.append(more)
        got += len(more)
    return b"".join(parts)


class Scanner:
    """Finds every secret region in texts and files, as :class:`Finding` objects.

    ``key`` is the fingerprint key (see :func:`fingerprint`); ``binary`` also scans files that
    look binary (a NUL in the first 8,000 bytes), which are otherwise skipped and counted."""

    def __init__(
        self,
        redactor: Redactor,
        items: Iterable[tuple[str, str | bytes]],
        *,
        key: bytes,
        binary: bool = False,
    ) -> None:
        self.redactor = redactor
        self.namer = FormNamer(items, redactor.encodings, redactor.min_length)
        self.key = key
        self.binary = binary
        self.skipped: list[str] = []  # binary files not scanned

    def scan_text(self, text: str, path: str, notebook: bool = False) -> list[Finding]:
        """The findings in one text, located by line and column (and, for a notebook's JSON
        text, by cell, output and field)."""
        return self._findings(text, self.redactor.spans(text, with_ids=True), path, notebook)

    def _findings(
        self,
        text: str,
        regions: list[Any],
        path: str,
        notebook: bool = False,
        origin: tuple[int, int] = (1, 0),
    ) -> list[Finding]:
        if not regions:
            return []
        starts = _line_starts(text)
        out: list[Finding] = []
        for region in regions:
            start, stop = region[0], region[1]
            matched = text[start:stop]
            line, column = _position(starts, start, origin)
            end_line, end_column = _position(starts, max(start, stop - 1), origin)
            place = notebook_place(json_path_at(text, start)) if notebook else None
            kinds = self.redactor.detected_kinds(region)
            for name in sorted(self.redactor.names_of(region)):
                detected = name in kinds
                if detected:
                    form, value = DETECTED, matched.encode("utf-8", "surrogateescape")
                else:
                    form = self.namer.form(name, matched)
                    value = self.namer.values.get(name, b"")
                finding = Finding(
                    secret=name,
                    form=form,
                    path=path,
                    line=line,
                    column=column,
                    end_line=end_line,
                    end_column=end_column,
                    place=place,
                    detected=detected,
                    value_mac=value_mac(self.key, value),
                )
                finding.set_fingerprint(self.key)
                out.append(finding)
        return out

    def scan_bytes(self, data: bytes, path: str) -> list[Finding]:
        """One file's bytes: binary ones skipped unless asked (and recorded in ``skipped``);
        text decoded as UTF-8 with surrogateescape, as ``scrub-logs`` reads it."""
        if not self.binary and b"\0" in data[:BINARY_SNIFF]:
            self.skipped.append(path)
            return []
        text = data.decode("utf-8", "surrogateescape")
        return self.scan_text(text, path, notebook=path.lower().endswith(".ipynb"))

    def scan_file(self, path: Path, name: str | None = None) -> list[Finding]:
        """One file on disk; compressed files and archives are read member by member (the
        finding's path is ``logs.tgz/app/a.log``), each through :meth:`scan_stream`. Raises
        OSError or ``Unsupported``."""
        label = name or str(path)
        out: list[Finding] = []
        with path.open("rb") as f:
            for inner, stream in leaf_streams(f, label):
                out += self.scan_stream(stream, inner)
        return out

    def scan_stream(self, stream: Readable, path: str, chunk: int = CHUNK) -> list[Finding]:
        """The findings of one file or blob read from ``stream`` (to its end), in windows of
        ``chunk`` bytes: the same findings as :meth:`scan_bytes` of the whole, in about two
        windows of memory whatever the size. A notebook is read whole (its places need the whole
        JSON); so is anything no larger than one window.

        Why windows rather than the engine's :class:`~redactor.engine.stream.Stream`: a stream
        gives redacted text, not where the regions were. Each window is scanned with one
        ``spans`` call; what is reported of it is the regions that end before its *cut*, at
        least ``overlap`` characters (more than :attr:`Redactor.reach`) before its end, moved
        back to the start of a region that crosses it; the next window starts at the cut, with
        the look-behind context before it, and skips the regions inside that context (reported
        already). A match that starts before the cut ends inside the window, so no region is cut
        in two or reported twice."""
        head = _read_full(stream, chunk)
        if not self.binary and b"\0" in head[:BINARY_SNIFF]:
            self.skipped.append(path)
            while stream.read(chunk):  # an archive's next member follows this one's end
                pass
            return []
        more = _read_full(stream, chunk) if len(head) >= chunk else b""
        if not more or path.lower().endswith(".ipynb"):
            rest = [head, more]
            while more:
                more = stream.read(chunk)
                rest.append(more)
            return self.scan_bytes(b"".join(rest), path)
        # The engine learns a detected token at the end of the call that found it; a window
        # must not see what an earlier one learned (the whole text is one call), so learning
        # waits for the last window (see _windows).
        learn, self.redactor.learn = self.redactor.learn, False
        learned: list[tuple[str, str]] = []
        try:
            out = self._windows(stream, path, chunk, head, more, learned)
        finally:
            self.redactor.learn = learn
        if learn and learned:
            self.redactor.learn_tokens(learned)
        return out

    def _windows(
        self,
        stream: Readable,
        path: str,
        chunk: int,
        head: bytes,
        more: bytes,
        learned: list[tuple[str, str]],
    ) -> list[Finding]:
        decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
        overlap = max(MIN_OVERLAP, 2 * self.redactor.reach)
        context = self.redactor.reach  # covers the look-behind of a detector's anchor
        text = decoder.decode(head)
        skip = 0  # characters of context at the start of ``text``, reported already
        origin = (1, 0)  # line and column (from 0) of text[0]
        out: list[Finding] = []
        pending: bytes | None = more
        while True:
            final = pending is None
            if pending is not None:
                text += decoder.decode(pending)
                nxt = _read_full(stream, chunk)
                if not nxt:
                    text += decoder.decode(b"", final=True)
                pending = nxt or None
                final = pending is None
            regions = [r for r in self.redactor.spans(text, with_ids=True) if r[0] >= skip]
            cut = len(text) if final else max(skip, len(text) - overlap)
            for r in regions:
                if r[1] >= cut and not final:
                    cut = max(skip, min(cut, r[0]))
                    break
            done = [r for r in regions if final or r[1] < cut]
            out += self._findings(text, done, path, origin=origin)
            for r in done:
                learned += [(kind, text[r[0] : r[1]]) for kind in self.redactor.detected_kinds(r)]
            if final:
                return out
            start = max(0, cut - context)
            newlines = text.count("\n", 0, start)
            if newlines:
                origin = (origin[0] + newlines, start - text.rfind("\n", 0, start) - 1)
            else:
                origin = (origin[0], origin[1] + start)
            text, skip = text[start:], cut - start


def iter_files(paths: Iterable[Path]) -> Iterator[tuple[Path, str | None]]:
    """Files as given, folders walked (hidden entries and ``.git`` skipped), in sorted order;
    a missing path comes back with an error message instead of being read."""
    for p in paths:
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                rel = f.relative_to(p).parts
                if any(part.startswith(".") for part in rel) or not f.is_file():
                    continue
                yield f, None
        elif p.exists():
            yield p, None
        else:
            yield p, "no such file or directory"


__all__ += ["Unsupported", "iter_files"]
