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

import hashlib
import hmac
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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


def _position(starts: list[int], offset: int) -> tuple[int, int]:
    """(line, column) from 1 of character ``offset``."""
    lo, hi = 0, len(starts)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if starts[mid] <= offset:
            lo = mid
        else:
            hi = mid
    return lo + 1, offset - starts[lo] + 1


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
        regions = self.redactor.spans(text, with_ids=True)
        if not regions:
            return []
        starts = _line_starts(text)
        out: list[Finding] = []
        for region in regions:
            start, stop = region[0], region[1]
            matched = text[start:stop]
            line, column = _position(starts, start)
            end_line, end_column = _position(starts, max(start, stop - 1))
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
        finding's path is ``logs.tgz/app/a.log``). Raises OSError or ``Unsupported``."""
        label = name or str(path)
        out: list[Finding] = []
        with path.open("rb") as f:
            for inner, stream in leaf_streams(f, label):
                out += self.scan_bytes(stream.read(), inner)
        return out


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
