"""Scrub known secret values out of one Jupyter notebook, keeping every output that is safe.

Two pure functions, no I/O (files, git, Jupyter and nbconvert are the callers' business):

* :func:`scrub_notebook` takes a notebook (a ``dict`` as ``json.load`` returns it, or an
  ``nbformat.NotebookNode``) and returns a scrubbed notebook and a :class:`ScrubReport`. The input
  is never mutated; unchanged parts of the result are shared with it.
* :func:`scrub_text` does the same on the JSON text of an ``.ipynb`` file and returns text that
  differs from the input only in the redacted strings: a notebook with nothing to redact comes back
  as the very same string, and a rewritten one keeps its indentation, key order, escaping, line
  endings and trailing newline.

What is scrubbed (nbformat v4): stream text (``stdout``, ``stderr`` and the ``stdin`` stream that
JupyterLab saves for ``input()``), each run of consecutive stream outputs of one name matched as
the one text frontends display (nbclient and papermill save one print as several outputs); a
region that spans outputs is replaced in the output where it starts and removed from the ones it
continues into, which are kept (possibly empty); every text-like type of ``display_data`` and
``execute_result`` (``text/*``, ``image/svg+xml``, ``application/javascript``;
``application/json`` and ``*+json`` walked recursively, keys included); error ``ename``,
``evalue`` and the ANSI ``traceback``; output metadata; markdown and raw cell attachments; cell
and notebook metadata (widget state under ``metadata.widgets``, nested Output-widget outputs and
base64 buffers, papermill parameters).
In every nested value a number (int or float; not a boolean) whose text form holds a secret, such
as an account number in ``application/json``, becomes that text redacted, a JSON string.

Binary entries (``image/png``, ``image/jpeg``, ``application/pdf``, any base64 value) are decoded and
never edited: when the decoded bytes hold a secret, the entry is dropped and a ``text/plain`` note
says so. A secret in a cell's *source* is user code: it is reported (cell, line, secret name) and
left alone unless ``fix_sources=True``.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import itertools
import json
import numbers
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from redactor.engine.default import get_redactor
from redactor.engine.matchers import Span
from redactor.engine.redactor import Redactor, splice
from redactor.errors import NotebookSinkError

__all__ = [
    "NotebookError",
    "RemovedOutput",
    "ScrubReport",
    "SourceFinding",
    "is_binary_mime",
    "is_json_mime",
    "is_text_mime",
    "parse_notebook",
    "scrub_notebook",
    "scrub_text",
]

# Split into lists of lines on disk by nbformat (rwbase._non_text_split_mimes), like text/*.
_TEXT_MIMES = frozenset({"application/javascript", "image/svg+xml"})
# Known base64 types that are not image/*: decoded, never edited as text.
_BINARY_MIMES = frozenset({"application/pdf", "application/octet-stream", "application/zip"})
_B64_WS = re.compile(r"\s+")


def is_json_mime(mime: str) -> bool:
    """``application/json`` and ``application/*+json``: arbitrary nested JSON (nbformat's rule)."""
    return mime == "application/json" or (
        mime.startswith("application/") and mime.endswith("+json")
    )


def is_text_mime(mime: str) -> bool:
    return mime.startswith("text/") or mime in _TEXT_MIMES


def is_binary_mime(mime: str) -> bool:
    return (mime.startswith("image/") and mime not in _TEXT_MIMES) or mime in _BINARY_MIMES


class NotebookError(NotebookSinkError, ValueError):
    """The input is not a notebook this module can scrub. The message never quotes the content."""


@dataclass(frozen=True)
class SourceFinding:
    """A secret found in a cell's source. ``cell`` and ``line`` count from 1, as editors do."""

    cell: int
    line: int
    secret: str
    cell_id: str | None = None
    fixed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "cell": self.cell,
            "cell_id": self.cell_id,
            "line": self.line,
            "secret": self.secret,
            "fixed": self.fixed,
        }


@dataclass(frozen=True)
class RemovedOutput:
    """A binary entry dropped because its decoded bytes held a secret (``cell`` is None at the
    notebook level, e.g. a widget buffer)."""

    cell: int | None
    where: str
    mime: str
    secrets: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "cell": self.cell,
            "where": self.where,
            "mime": self.mime,
            "secrets": list(self.secrets),
        }


@dataclass
class ScrubReport:
    """What was found, by secret name and by field; never a value.

    ``counts`` and ``fields`` count the regions replaced or removed (source literals only when they
    were fixed); ``source_findings`` lists every secret found in a source, fixed or not.
    """

    counts: Counter[str] = field(default_factory=Counter)
    fields: Counter[str] = field(default_factory=Counter)
    source_findings: list[SourceFinding] = field(default_factory=list)
    removed: list[RemovedOutput] = field(default_factory=list)
    changed: bool = False

    @property
    def redactions(self) -> int:
        return sum(self.counts.values())

    @property
    def unfixed_sources(self) -> list[SourceFinding]:
        return [f for f in self.source_findings if not f.fixed]

    def merge(self, other: ScrubReport) -> ScrubReport:
        """Add ``other`` (a second pass with another redactor) to this report."""
        self.counts.update(other.counts)
        self.fields.update(other.fields)
        self.source_findings.extend(other.source_findings)
        self.removed.extend(other.removed)
        self.changed = self.changed or other.changed
        return self

    def to_dict(self) -> dict[str, Any]:
        return {
            "changed": self.changed,
            "redactions": self.redactions,
            "counts": dict(sorted(self.counts.items())),
            "fields": dict(sorted(self.fields.items())),
            "source_findings": [f.to_dict() for f in self.source_findings],
            "removed": [r.to_dict() for r in self.removed],
        }


_DROP = object()  # returned by a walker when its container must drop the entry
_UNSET = object()  # no argument given

_Edit = tuple[int, int, str]  # (start, stop, replacement): a region of a text and what replaces it


class _Scrubber:
    """One pass over one notebook. Every method returns its input object when nothing changed,
    so unchanged subtrees are shared and 'changed' is an identity test."""

    def __init__(self, redactor: Redactor, fix_sources: bool) -> None:
        self.r = redactor
        self.fix_sources = fix_sources
        self.report = ScrubReport()
        self.replacement = redactor.replacement

    # -- strings -------------------------------------------------------------------------------

    def _spans(self, s: str | bytes, with_ids: bool = True) -> list[Span]:
        # Across escape sequences too (coloured tracebacks); the size counts towards
        # engine="auto" compiling the fast engine.
        return self.r.spans(s, with_ids=with_ids)

    def _count(self, spans: list[Span], where: str) -> None:
        counts = self.r.count_names(spans)
        self.report.counts.update(counts)
        self.report.fields[where] += len(spans)

    def text(self, s: str, where: str) -> str:
        if not s:
            return s
        spans = self._spans(s)
        if not spans:
            return s
        self._count(spans, where)
        return splice(s, spans, self.replacement)

    def lines(self, value: Any, where: str) -> Any:
        """A multi-line field: a str, or (on disk) a list of lines that may split a secret.

        The list is matched as one text; only the lines a secret touches are rewritten, re-split
        like nbformat does (``splitlines(True)``), so the rest of the list keeps its layout.
        """
        if isinstance(value, str):
            return self.text(value, where)
        joined = _join_lines(value)
        if joined is None:
            return self.any(value, where)
        spans = self._spans(joined) if joined else []
        if not spans:
            return value
        self._count(spans, where)
        return _resplit(value, joined, self._edits(spans))

    def _edits(self, spans: list[Span]) -> list[_Edit]:
        return [(start, stop, self.replacement) for start, stop, _ in spans]

    def number(self, value: Any, where: str) -> Any:
        """A non-string scalar (int, float, Decimal; not bool) whose text form holds a secret
        becomes that text redacted, a string: a digits-only secret (an account number) carried as
        a JSON number is displayed as digits all the same."""
        text = _number_text(value)
        if not text:
            return value
        spans = self._spans(text)
        if not spans:
            return value
        self._count(spans, where)
        return splice(text, spans, self.replacement)

    # -- generic JSON ----------------------------------------------------------------------------

    def any(self, value: Any, where: str) -> Any:
        """Any JSON value: strings redacted, dict keys included; base64 buffers checked as bytes."""
        if isinstance(value, str):
            return self.text(value, where)
        if isinstance(value, list):
            return self._list(value, where)
        if isinstance(value, dict):
            if "output_type" in value:  # an Output widget's nested outputs
                return self.output(value, None, where)
            if value.get("encoding") == "base64" and isinstance(value.get("data"), str):
                if self._binary_secrets(value["data"], where, None, "base64 buffer"):
                    return _DROP
            return self._dict(value, where, self.any)
        if _number_text(value) is not None:
            return self.number(value, where)
        return value

    def json(self, value: Any, where: str) -> Any:
        """Plain JSON data (a JSON mime type, output metadata): one scan of all its strings
        first, so that a large clean tree (a plotly figure) costs one automaton pass. A match
        across the separator only means a closer look; a match inside a string is never missed.
        """
        if isinstance(value, (dict, list)):
            try:
                joined = "\x00".join(_json_strings(value))
            except TypeError:  # a key that is not a string: not from JSON, walk it all
                joined = None
            if joined is not None and (not joined or not self._spans(joined, False)):
                return value
        return self.any(value, where)

    def _list(self, value: list, where: str) -> list:
        # Any list may be a list of outputs (an Output widget's state): stream runs are joined.
        return self._items(value, lambda item: self.any(item, where), None)

    def _items(self, value: list, walk: Callable[[Any], Any], cell: int | None) -> list:
        """``walk`` over each item; a run of consecutive stream outputs with the same name is
        scrubbed as the one text frontends display (:meth:`_stream_run`)."""
        out = None
        i, n = 0, len(value)
        while i < n:
            j = i + 1
            name = _stream_name(value[i])
            if name is not None:
                while j < n and _stream_name(value[j]) == name:
                    j += 1
            news = self._stream_run(value[i:j], cell) if j - i > 1 else [walk(value[i])]
            for k, new in enumerate(news, i):
                if new is not value[k] and out is None:
                    out = value[:k]
                if out is not None and new is not _DROP:
                    out.append(new)
            i = j
        return value if out is None else out

    def _stream_run(self, run: list[dict], cell: int | None) -> list[Any]:
        """Consecutive ``stream`` outputs of one name, as JupyterLab and nbconvert show them:
        joined. nbclient and papermill save one print as several outputs (one per message, and
        ipykernel sends one every flush interval), so a secret can straddle a boundary.

        The run is matched as one text and every output keeps its place, name and shape: a
        matched region's replacement goes into the output where the region starts, and the rest
        of the region is removed from the outputs it continues into (they may end up empty, and
        are kept). The outputs' texts, joined, are then exactly the redacted joined text.
        """
        texts = [item["text"] for item in run]
        joined_each: list[str] = [t if isinstance(t, str) else _join_lines(t) or "" for t in texts]
        merged = "".join(joined_each)
        spans = self._spans(merged) if merged else []
        new_texts: list[Any] = list(texts)
        if spans:
            self._count(spans, f"stream.{run[0]['name']}")
            ends = list(itertools.accumulate(len(t) for t in joined_each))
            edits: list[list[_Edit]] = [[] for _ in run]
            for start, stop, _ in spans:
                k = bisect.bisect_right(ends, start)  # the output the region starts in
                replacement = self.replacement
                while start < stop:
                    base = ends[k - 1] if k else 0
                    cut = min(stop, ends[k])
                    if cut > start:
                        edits[k].append((start - base, cut - base, replacement))
                        replacement = ""
                    start = cut
                    k += 1
            for k, (text, joined, own) in enumerate(zip(texts, joined_each, edits)):
                if not own:
                    continue
                if isinstance(text, str):
                    new_texts[k] = splice(text, own)
                else:
                    new_texts[k] = _resplit(text, joined, own)
        return [self.output(item, cell, text=t) for item, t in zip(run, new_texts)]

    def _dict(self, value: dict, where: str, walk: Any) -> dict:
        out: dict | None = None
        for i, (key, item) in enumerate(value.items()):
            new_key = self.text(key, where) if isinstance(key, str) else key
            new = walk(item, where)
            if out is None and (new is not item or new_key is not key):
                out = dict(itertools.islice(value.items(), i))
            if out is not None and new is not _DROP:
                out[self._unique(out, new_key)] = new
        return value if out is None else _same_type(value, out)

    @staticmethod
    def _unique(d: dict, key: Any) -> Any:
        # Two keys redacted to the same text must not overwrite each other.
        if key not in d:
            return key
        n = 2
        while f"{key} #{n}" in d:
            n += 1
        return f"{key} #{n}"

    # -- binary ----------------------------------------------------------------------------------

    def _binary_secrets(self, b64: str, where: str, cell: int | None, mime: str) -> bool:
        """True (and counted, and recorded as removed) when ``b64`` decodes to bytes that hold a
        secret."""
        data = _b64decode(b64)
        if not data:
            return False
        spans = self._spans(data)
        if not spans:
            return False
        self._removed(spans, where, cell, mime)
        return True

    def _removed(self, spans: list[Span], where: str, cell: int | None, mime: str) -> None:
        self._count(spans, where)
        names = tuple(sorted(self.r.count_names(spans)))
        self.report.removed.append(RemovedOutput(cell, where, mime, names))

    # -- outputs ---------------------------------------------------------------------------------

    def bundle(self, bundle: Any, prefix: str, cell: int | None, attachment: bool = False) -> Any:
        """A mimebundle: output data, or an attachment (where every type is base64)."""
        if not isinstance(bundle, dict):
            return self.any(bundle, prefix)
        value_of = self._attachment_value if attachment else self._mime_value
        out: dict | None = None
        removed: list[str] = []
        for i, (mime, value) in enumerate(bundle.items()):
            where = f"{prefix}.{mime}"
            new = value_of(mime, value, where, cell)
            if new is _DROP:
                removed.append(mime)
            if out is None and new is not value:
                out = dict(itertools.islice(bundle.items(), i))
            if out is not None and new is not _DROP:
                out[mime] = new
        if out is None:
            return bundle
        if removed:
            note = _with_b64_note if attachment else _with_note
            out["text/plain"] = note(out.get("text/plain"), removed)
        return _same_type(bundle, out)

    def _attachment_value(self, mime: str, value: Any, where: str, cell: int | None) -> Any:
        """JupyterLab stores every attachment base64-encoded, text ones included: text is
        decoded, redacted and encoded again; binary data holding a secret is dropped."""
        b64 = value if isinstance(value, str) else _join_lines(value) if value else None
        if b64 is None:
            return self.any(value, where)
        data = _b64decode(b64)
        if data is None:  # not base64: plain text written by some other tool
            return self.lines(value, where)
        spans = self._spans(data) if data else []
        if not spans:
            return value
        if not is_binary_mime(mime) and _is_utf8(data):
            self._count(spans, where)
            redacted = splice(data, spans, self.replacement.encode("utf-8"))
            return base64.b64encode(redacted).decode("ascii")
        self._removed(spans, where, cell, mime)
        return _DROP

    def _mime_value(self, mime: str, value: Any, where: str, cell: int | None) -> Any:
        if not isinstance(mime, str) or is_json_mime(mime):
            return self.json(value, where)
        if is_text_mime(mime):
            return self.lines(value, where)
        b64 = value if isinstance(value, str) else _join_lines(value) if value else None
        if b64 is None:
            return self.any(value, where)
        if self._binary_secrets(b64, where, cell, mime):
            return _DROP
        if is_binary_mime(mime):
            return value  # never edit encoded bytes
        return self.lines(value, where)  # an unknown type holding text

    def output(
        self, output: Any, cell: int | None, where: str = "outputs", text: Any = _UNSET
    ) -> Any:
        """One output; ``text`` is a stream's text already scrubbed with its run."""
        if not isinstance(output, dict):
            return self.any(output, where)
        kind = output.get("output_type")
        kind = kind if isinstance(kind, str) else "output"
        out: dict | None = None
        for i, (key, value) in enumerate(output.items()):
            if key in ("output_type", "execution_count"):
                new = value
            elif key == "text" and kind == "stream" and text is not _UNSET:
                new = text
            elif key == "text" and kind == "stream":
                name = output.get("name")
                new = self.lines(value, f"stream.{name if isinstance(name, str) else 'stream'}")
            elif key == "name" and kind == "stream":
                new = value
            elif key == "data":
                new = self.bundle(value, kind, cell)
            elif key == "traceback" and isinstance(value, list):
                # Each entry is one frame (ANSI-coloured, may hold newlines): redacted one by one.
                new = self._list(value, "error.traceback")
            elif key in ("ename", "evalue"):
                new = self.any(value, f"error.{key}")
            else:
                new = (self.json if key == "metadata" else self.any)(value, f"{kind}.{key}")
            if out is None and new is not value:
                out = dict(itertools.islice(output.items(), i))
            if out is not None and new is not _DROP:
                out[key] = new
        return output if out is None else _same_type(output, out)

    # -- cells -----------------------------------------------------------------------------------

    def source(self, value: Any, cell: int, cell_id: str | None) -> Any:
        joined = value if isinstance(value, str) else _join_lines(value)
        if joined is None:
            return value
        spans = self._spans(joined) if joined else []
        if not spans:
            return value
        names = self.r.secret_names
        for start, _, ids in spans:
            line = joined.count("\n", 0, start) + 1
            for secret in sorted({names[i] for i in ids or ()}):
                self.report.source_findings.append(
                    SourceFinding(cell, line, secret, cell_id, self.fix_sources)
                )
        if not self.fix_sources:
            return value
        self._count(spans, "source")
        if isinstance(value, str):
            return splice(value, spans, self.replacement)
        return _resplit(value, joined, self._edits(spans))

    def cell(self, cell: Any, index: int) -> Any:
        if not isinstance(cell, dict):
            return self.any(cell, "cell")
        number = index + 1
        cell_id = cell.get("id") if isinstance(cell.get("id"), str) else None
        out: dict | None = None
        for i, (key, value) in enumerate(cell.items()):
            if key in ("id", "cell_type", "execution_count"):
                new = value
            elif key == "source":
                new = self.source(value, number, cell_id)
            elif key == "outputs" and isinstance(value, list):
                new = self._outputs(value, number)
            elif key == "attachments" and isinstance(value, dict):
                new = self._dict(
                    value, "attachments", lambda b, w: self.bundle(b, w, number, attachment=True)
                )
            elif key == "metadata":
                new = self.any(value, "cell.metadata")
            else:
                new = self.any(value, f"cell.{key}")
            if out is None and new is not value:
                out = dict(itertools.islice(cell.items(), i))
            if out is not None and new is not _DROP:
                out[key] = new
        return cell if out is None else _same_type(cell, out)

    def _outputs(self, outputs: list, cell: int) -> list:
        return self._items(outputs, lambda item: self.output(item, cell), cell)

    def notebook(self, nb: dict) -> dict:
        out: dict | None = None
        for i, (key, value) in enumerate(nb.items()):
            if key in ("nbformat", "nbformat_minor"):
                new = value
            elif key == "cells":
                new = value
                cells = None
                for j, cell in enumerate(value):
                    new_cell = self.cell(cell, j)
                    if new_cell is not cell and cells is None:
                        cells = value[:j]
                    if cells is not None:
                        cells.append(new_cell)
                new = value if cells is None else cells
            elif key == "metadata" and isinstance(value, dict):
                new = self._metadata(value)
            else:
                new = self.any(value, key)
            if out is None and new is not value:
                out = dict(itertools.islice(nb.items(), i))
            if out is not None:
                out[key] = new
        return nb if out is None else _same_type(nb, out)

    def _metadata(self, meta: dict) -> dict:
        out: dict | None = None
        for i, (key, value) in enumerate(meta.items()):
            new_key = self.text(key, "metadata") if isinstance(key, str) else key
            where = "metadata.widgets" if key == "widgets" else "metadata"
            new = self.any(value, where)
            if out is None and (new is not value or new_key is not key):
                out = dict(itertools.islice(meta.items(), i))
            if out is not None and new is not _DROP:
                out[self._unique(out, new_key)] = new
        return meta if out is None else _same_type(meta, out)


def _join_lines(value: Any) -> str | None:
    """A list of strings joined (a multi-line field on disk), or None for anything else."""
    if not isinstance(value, list):
        return None
    try:
        return "".join(value)
    except TypeError:
        return None


def _resplit(value: list[str], joined: str, edits: list[_Edit]) -> list[str]:
    """A list of lines (``joined`` is their text) with ``edits`` applied: only the lines an
    edit touches are rewritten, re-split like nbformat does (``splitlines(True)``), so the rest
    of the list keeps its layout."""
    ends = list(itertools.accumulate(len(x) for x in value))
    groups: list[list[Any]] = []  # [first element, last element, edits]
    for edit in edits:
        first = bisect.bisect_right(ends, edit[0])
        last = bisect.bisect_left(ends, edit[1])
        if groups and first <= groups[-1][1]:
            groups[-1][1] = max(groups[-1][1], last)
            groups[-1][2].append(edit)
        else:
            groups.append([first, last, [edit]])
    out: list[str] = []
    pos = 0
    for first, last, group_edits in groups:
        out.extend(value[pos:first])
        base = ends[first - 1] if first else 0
        chunk = joined[base : ends[last]]
        shifted = [(s - base, e - base, rep) for s, e, rep in group_edits]
        out.extend(splice(chunk, shifted).splitlines(True))
        pos = last + 1
    out.extend(value[pos:])
    return out


def _stream_name(item: Any) -> str | None:
    """The name of a stream output whose text a frontend joins with its neighbours', or None."""
    if not isinstance(item, dict) or item.get("output_type") != "stream":
        return None
    name = item.get("name")
    text = item.get("text")
    if not isinstance(name, str) or not (isinstance(text, str) or _join_lines(text) is not None):
        return None
    return name


def _number_text(value: Any) -> str | None:
    """The text form of a non-string scalar (int, float, Decimal, numpy numbers; not bool), as
    ``str()`` and ``json.dumps`` write it; None for anything else."""
    if isinstance(value, bool) or not isinstance(value, numbers.Number):
        return None
    try:
        return str(value)
    except ValueError:  # an int over sys.get_int_max_str_digits(): JSON cannot carry it either
        return None


def _json_strings(value: Any) -> list[str]:
    """Every string, key and number (as text) of a JSON tree, without recursion limits."""
    out: list[str] = []
    plain: list[Any] = []  # ints and floats: written by one json.dumps call, their str() forms
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            out.extend(item)  # keys: str in anything JSON made
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            children = (item,)
        for child in children:
            if isinstance(child, str):
                out.append(child)
            elif isinstance(child, (dict, list)):
                stack.append(child)
            elif type(child) in (int, float):
                plain.append(child)
            elif (text := _number_text(child)) is not None:
                out.append(text)
    if plain:
        # 200,000 floats of a plotly figure: 0.03 s this way, 0.25 s with str() one by one.
        out.append(json.dumps(plain))
    return out


def _with_note(text_plain: Any, removed: list[str]) -> Any:
    note = "".join(
        f"[{mime} output removed by redactor: it contained a secret]" for mime in removed
    )
    if isinstance(text_plain, list) and all(isinstance(x, str) for x in text_plain):
        if text_plain and not text_plain[-1].endswith("\n"):
            return [*text_plain[:-1], text_plain[-1] + "\n", note]
        return [*text_plain, note]
    if isinstance(text_plain, str) and text_plain:
        return text_plain + ("" if text_plain.endswith("\n") else "\n") + note
    return note


def _with_b64_note(text_plain: Any, removed: list[str]) -> str:
    existing = _b64decode("".join(text_plain) if isinstance(text_plain, list) else text_plain)
    text = existing.decode("utf-8", "replace") if existing else ""
    noted = _with_note(text, removed)
    return base64.b64encode(noted.encode("utf-8")).decode("ascii")


def _b64decode(b64: Any) -> bytes | None:
    """The bytes of strict base64 (whitespace allowed), or None."""
    if not isinstance(b64, str):
        return None
    try:
        return base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        pass
    try:  # wrapped lines (base64.encodebytes), other whitespace
        return base64.b64decode(_B64_WS.sub("", b64), validate=True)
    except (binascii.Error, ValueError):
        return None


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _same_type(original: dict, new: dict) -> dict:
    # Keep NotebookNode (attribute access) when the caller passed one.
    return new if type(original) is dict else type(original)(new)


def _check_notebook(nb: Any) -> None:
    if not isinstance(nb, dict):
        raise NotebookError(f"not a Jupyter notebook: the top level is a JSON {_kind(nb)}")
    if "worksheets" in nb:
        raise NotebookError(
            "an nbformat 3 notebook: convert it first with "
            "`jupyter nbconvert --to notebook --nbformat 4`"
        )
    version = nb.get("nbformat")
    if "cells" not in nb or not isinstance(version, int):
        raise NotebookError("not a Jupyter notebook: no 'nbformat' and 'cells' at the top level")
    if version != 4:
        raise NotebookError(f"unsupported nbformat version {version} (only version 4 is)")
    if not isinstance(nb["cells"], list):
        raise NotebookError("not a Jupyter notebook: 'cells' is not a list")


def _kind(value: Any) -> str:
    return {list: "array", str: "string", int: "number", float: "number", bool: "boolean"}.get(
        type(value), "null" if value is None else type(value).__name__
    )


Redactors = Redactor | Sequence[Redactor] | None


def _redactors(redactor: Redactors) -> list[Redactor]:
    if redactor is None:
        return [get_redactor()]
    if isinstance(redactor, Redactor):
        return [redactor]
    return list(redactor)


def scrub_notebook(
    nb: Mapping[str, Any], redactor: Redactors = None, *, fix_sources: bool = False
) -> tuple[Any, ScrubReport]:
    """Scrub one notebook (``dict`` or ``NotebookNode``); returns ``(notebook, report)``.

    ``redactor`` defaults to the process-wide one; a sequence of redactors is applied in turn
    (e.g. the process-wide one and one built from configured sources). The input is not mutated:
    the result is the same object when nothing changed, and otherwise shares every unchanged part
    with the input.
    """
    _check_notebook(nb)
    result: Any = nb
    report = ScrubReport()
    for r in _redactors(redactor):
        if not len(r):
            continue
        scrubber = _Scrubber(r, fix_sources)
        try:
            result = scrubber.notebook(result)
        except RecursionError:
            raise NotebookError("JSON nested too deeply to scrub") from None
        report.merge(scrubber.report)
    report.changed = result is not nb
    if report.changed and type(nb) is not dict:
        import nbformat

        result = nbformat.from_dict(result)  # a NotebookNode all the way down, like the input
    return result, report


# -- text in, text out ----------------------------------------------------------------------------

_FIRST_INDENT = re.compile(r"[\[{][ \t]*\r?\n([ \t]*)\S")


def parse_notebook(text: str) -> Any:
    """``json.loads`` with an error that says where, and never quotes the content."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        truncated = exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string")
        hint = "; the file looks truncated" if truncated else ""
        raise NotebookError(
            f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}){hint}"
        ) from None
    except RecursionError:
        raise NotebookError("not valid JSON: nested too deeply") from None


def scrub_text(
    text: str, redactor: Redactors = None, *, fix_sources: bool = False
) -> tuple[str, ScrubReport]:
    """Scrub the JSON text of an ``.ipynb`` file; returns ``(text, report)``.

    When nothing changed the very same string is returned. Otherwise the text is patched where
    the notebook changed and nowhere else: a redacted string is re-encoded in place; a container
    whose shape changed (an image dropped, lines merged) is re-serialized alone, with the layout
    detected in ``text`` (indent, key order, ASCII escaping, line endings) and checked against
    how its old value was written. Only when that check fails is the whole notebook serialized
    again with the detected layout.
    """
    bom = text.startswith("\ufeff")
    body = text[1:] if bom else text
    old = parse_notebook(body)
    new, report = scrub_notebook(old, redactor, fix_sources=fix_sources)
    if not report.changed:
        return text, report
    try:
        result = _patch_text(body, old, new)
        if result is None:
            result = _dump_like(body, old, new)
    except RecursionError:
        raise NotebookError("JSON nested too deeply to scrub") from None
    return ("\ufeff" + result if bom else result), report


_WS = re.compile(r"[ \t\n\r]*")
_SCAN = json.JSONDecoder().scan_once  # the C scanner: (value, end index) of the value at an index


class _Layout:
    """How a file was written, as far as its first lines tell; checked subtree by subtree."""

    def __init__(self, body: str) -> None:
        match = _FIRST_INDENT.match(body.lstrip())
        self.indent: str | None = match.group(1) if match else None
        self.crlf = "\r\n" in body
        self.ensure_ascii = body.isascii()
        self.sort_keys = True
        self.separators = (",", ": ")
        self._checked = False

    def _dump(
        self,
        value: Any,
        depth: int,
        sort_keys: bool,
        separators: tuple[str, str],
        ensure_ascii: bool | None = None,
    ) -> str:
        text = json.dumps(
            value,
            indent=self.indent,
            sort_keys=sort_keys,
            ensure_ascii=self.ensure_ascii if ensure_ascii is None else ensure_ascii,
            separators=separators,
        )
        if self.indent is not None and depth:
            text = text.replace("\n", "\n" + self.indent * depth)
        return text.replace("\n", "\r\n") if self.crlf else text

    def serialize(self, old: Any, new: Any, depth: int, written: str) -> str | None:
        """``new`` as this file would write it at ``depth``, or None when ``old`` does not
        serialize to ``written`` (a layout json.dumps cannot reproduce)."""
        candidates = [(self.sort_keys, self.separators)]
        if not self._checked:
            seps = [(",", ": ")] if self.indent is not None else [(",", ":"), (", ", ": ")]
            candidates = [(sort, sep) for sort in (True, False) for sep in seps]
        for sort_keys, separators in candidates:
            if self._dump(old, depth, sort_keys, separators) == written:
                self.sort_keys, self.separators, self._checked = sort_keys, separators, True
                out = self._dump(new, depth, sort_keys, separators)
                if not _utf8_safe(out):  # a lone surrogate: only its escape can be written
                    out = self._dump(new, depth, sort_keys, separators, ensure_ascii=True)
                return out
        return None


def _members(body: str, start: int, closing: str) -> Iterator[tuple[Any, int, int]]:
    """(key or None, start, end) of each member of the object/array opening at ``start``."""
    pos = _WS.match(body, start + 1).end()
    if body[pos] == closing:
        return
    while True:
        key = None
        if closing == "}":
            key, pos = _SCAN(body, pos)
            pos = _WS.match(body, pos).end()
            if body[pos] != ":":
                raise ValueError("expected ':'")
            pos = _WS.match(body, pos + 1).end()
        _, end = _SCAN(body, pos)
        yield key, pos, end
        pos = _WS.match(body, end).end()
        if body[pos] == ",":
            pos = _WS.match(body, pos + 1).end()
        elif body[pos] == closing:
            return
        else:
            raise ValueError("expected ',' or a closing bracket")


def _patch(
    body: str,
    span: tuple[int, int],
    old: Any,
    new: Any,
    depth: int,
    layout: _Layout,
    edits: list[tuple[int, int, str]],
) -> bool:
    """Collect the edits that turn ``body[span]`` (the text of ``old``) into ``new``."""
    if old is new:
        return True
    start, end = span
    if isinstance(new, str) and (isinstance(old, str) or _number_text(old) is not None):
        # A redacted string, or a number that held a secret and is now its redacted text.
        ascii_only = layout.ensure_ascii or not _utf8_safe(new)
        edits.append((start, end, json.dumps(new, ensure_ascii=ascii_only)))
        return True
    if isinstance(old, dict) and isinstance(new, dict) and list(old) == list(new):
        members = list(_members(body, start, "}"))
        if [k for k, _, _ in members] != list(old):
            return False  # duplicate keys: json.loads kept the last one
        return all(
            _patch(body, (s, e), old[k], new[k], depth + 1, layout, edits) for k, s, e in members
        )
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        members = list(_members(body, start, "]"))
        if len(members) != len(old):
            return False
        return all(
            _patch(body, (s, e), a, b, depth + 1, layout, edits)
            for (_, s, e), a, b in zip(members, old, new)
        )
    text = layout.serialize(old, new, depth, body[start:end])
    if text is None:
        return False
    edits.append((start, end, text))
    return True


def _patch_text(body: str, old: Any, new: Any) -> str | None:
    """``body`` with only the changed parts rewritten, or None to fall back to a full dump."""
    start = _WS.match(body).end()
    try:
        _, end = _SCAN(body, start)
        edits: list[tuple[int, int, str]] = []
        if not _patch(body, (start, end), old, new, 0, _Layout(body), edits):
            return None
    except (ValueError, StopIteration, IndexError):
        return None
    parts: list[str] = []
    pos = 0
    for s, e, text in sorted(edits):
        parts.append(body[pos:s])
        parts.append(text)
        pos = e
    parts.append(body[pos:])
    result = "".join(parts)
    try:
        if json.loads(result) != new:
            return None
    except ValueError:
        return None
    return result


def _dump_like(body: str, old: Any, new: Any) -> str:
    """Serialize ``new`` the way ``body`` (the serialization of ``old``) was written."""
    match = _FIRST_INDENT.match(body.lstrip())
    indent: str | None = match.group(1) if match else None
    crlf = "\r\n" in body
    trailing = body[len(body.rstrip()) :]
    ensure_ascii = body.isascii()
    separators = [(",", ": "), (", ", ": "), (",", ":")] if indent is None else [(",", ": ")]
    chosen = None
    for sort_keys in (True, False):
        for seps in separators:
            params = {
                "indent": indent,
                "sort_keys": sort_keys,
                "ensure_ascii": ensure_ascii,
                "separators": seps,
            }
            if _dumps(old, params, crlf) + trailing == body:
                chosen = params
                break
        if chosen:
            break
    if chosen is None:  # a layout json.dumps cannot reproduce: keep what was detected
        chosen = {
            "indent": indent,
            "sort_keys": False,
            "ensure_ascii": ensure_ascii,
            "separators": separators[0],
        }
    out = _dumps(new, chosen, crlf) + trailing
    if not chosen["ensure_ascii"] and not _utf8_safe(out):
        # A lone surrogate (valid in JSON as an escape) cannot be written as UTF-8.
        out = _dumps(new, {**chosen, "ensure_ascii": True}, crlf) + trailing
    return out


def _utf8_safe(s: str) -> bool:
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _dumps(value: Any, params: dict[str, Any], crlf: bool) -> str:
    out = json.dumps(value, **params)
    # JSON strings cannot hold a raw newline, so every newline in the output is layout.
    return out.replace("\n", "\r\n") if crlf else out
