"""The walk over one notebook's cells and outputs: a pure function, no I/O.

:func:`scrub_notebook` takes a notebook (a ``dict`` as ``json.load`` returns it, or an
``nbformat.NotebookNode``) and returns a scrubbed notebook and a :class:`ScrubReport`. The input
is never mutated; unchanged parts of the result are shared with it. Generic JSON (metadata, widget
state, ``application/json`` data) goes through the engine's walker
(:class:`redactor.engine.walk.Walker`); this module adds what only notebooks have: runs of stream
outputs matched as one text, multi-line fields stored as lists of lines, base64 entries, Output
widgets' nested outputs, and the report per field.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import itertools
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from redactor.engine.default import get_redactor
from redactor.engine.redactor import Redactor, Region, splice
from redactor.engine.walk import TooDeep, Walker, number_text
from redactor.sinks.notebook.report import (
    Detected,
    NotebookError,
    RemovedOutput,
    ScrubReport,
    SourceFinding,
)

__all__ = [
    "Redactors",
    "is_binary_mime",
    "is_json_mime",
    "is_text_mime",
    "scrub_notebook",
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


_DROP = Walker.DROP  # returned by a walk when its container must drop the entry
_UNSET = object()  # no argument given

_Edit = tuple[int, int, str]  # (start, stop, replacement): a region of a text and what replaces it


class _Scrubber(Walker):
    """One pass over one notebook: the engine's walker, with the notebook's structure on top.

    Every method returns its input object when nothing changed, so unchanged subtrees are shared
    and 'changed' is an identity test. ``where`` is the field being walked (the report counts
    regions per field). Past the walker's depth limit a subtree is checked with one scan and, if
    it holds a secret, the notebook is refused (:class:`NotebookError`) rather than rewritten.
    """

    def __init__(self, redactor: Redactor, fix_sources: bool) -> None:
        super().__init__(redactor, too_deep="raise")
        self.r = redactor
        self.fix_sources = fix_sources
        self.report = ScrubReport()
        self.where = ""
        self.in_cell: int | None = None  # the cell being walked (from 1), for the detections

    # -- strings -------------------------------------------------------------------------------

    def _spans(self, s: str | bytes, with_ids: bool = True) -> list[Region]:
        # Across escape sequences too (coloured tracebacks); the size counts towards
        # engine="auto" compiling the fast engine.
        return self.r.spans(s, with_ids=with_ids)

    def _count(self, spans: list[Region], where: str) -> None:
        counts = self.r.count_names(spans)
        self.report.counts.update(counts)
        self.report.fields[where] += len(spans)
        for kind in self._detected_kinds(spans):
            self.report.detections[Detected(kind, self.in_cell, where)] += 1

    def _detected_kinds(self, spans: list[Region]) -> list[str]:
        """The kinds of the detected tokens among ``spans`` (one per kind a region holds).

        The engine names a detected token by its kind, and a learnt one (the same value seen again
        after the call that detected it) is registered under that name too: both count here."""
        kinds = {d.kind for d in self.r.detectors}
        if not kinds:
            return []
        found: list[str] = []
        for region in spans:
            found += sorted(self.r.names_of(region) & kinds)
        return found

    def text(self, s: str) -> str:
        """The walker's leaf hook: counted under the field being walked."""
        return self._text(s, self.where)

    def _text(self, s: str, where: str) -> str:
        if not s:
            return s
        spans = self._spans(s)
        if not spans:
            return s
        self._count(spans, where)
        return self.r.splice(s, spans)

    def lines(self, value: Any, where: str) -> Any:
        """A multi-line field: a str, or (on disk) a list of lines that may split a secret.

        The list is matched as one text; only the lines a secret touches are rewritten, re-split
        like nbformat does (``splitlines(True)``), so the rest of the list keeps its layout.
        """
        if isinstance(value, str):
            return self._text(value, where)
        joined = _join_lines(value)
        if joined is None:
            return self.any(value, where)
        spans = self._spans(joined) if joined else []
        if not spans:
            return value
        self._count(spans, where)
        return _resplit(value, joined, self._edits(spans))

    def _edits(self, spans: list[Region]) -> list[_Edit]:
        # Regions carry their ids (see _spans): a labelled replacement names each one's secret.
        return [(start, stop, self.r.replacement_for(ids)) for start, stop, ids in spans]

    # -- generic JSON ----------------------------------------------------------------------------

    def any(self, value: Any, where: str) -> Any:
        """Any JSON value, through the engine's walker: strings redacted, dict keys included;
        numbers whose text holds a secret; base64 buffers checked as bytes (:meth:`special`)."""
        saved, self.where = self.where, where
        try:
            return self.walk(value)
        finally:
            self.where = saved

    def special(self, value: Any) -> Any:
        """The walker's container hook: an Output widget's nested outputs, a base64 buffer."""
        if isinstance(value, dict):
            if "output_type" in value:
                return self.output(value, None, self.where)
            if value.get("encoding") == "base64" and isinstance(value.get("data"), str):
                if self._binary_secrets(value["data"], self.where, None, "base64 buffer"):
                    return _DROP
        return self.PASS

    def list_items(self, value: list) -> Any:
        # Any list may be a list of outputs (an Output widget's state): stream runs are joined.
        return self._items(value, self.walk, None)

    def beyond_limit(self, value: Any) -> Any:
        """Past the depth limit: one scan of the subtree's strings; clean, it is kept as it is."""
        try:
            joined = "\x00".join(_json_strings(value))
        except TypeError:  # a key that is not a string: not from JSON
            joined = None
        if joined is not None and (not joined or not self._spans(joined, False)):
            return value
        raise TooDeep("JSON nested too deeply to scrub")

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
            for start, stop, ids in spans:
                k = bisect.bisect_right(ends, start)  # the output the region starts in
                replacement = self.r.replacement_for(ids)
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

    def _key(self, key: Any, where: str) -> Any:
        return self._text(key, where) if isinstance(key, str) else key

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

    def _removed(self, spans: list[Region], where: str, cell: int | None, mime: str) -> None:
        self._count(spans, where)
        names = tuple(sorted(self.r.count_names(spans)))
        self.report.removed.append(RemovedOutput(cell, where, mime, names))

    # -- outputs ---------------------------------------------------------------------------------

    def bundle(self, bundle: Any, prefix: str, cell: int | None, attachment: bool = False) -> Any:
        """A mimebundle: output data, or an attachment (where every type is base64)."""
        if not isinstance(bundle, dict):
            return self.any(bundle, prefix)
        value_of = self._attachment_value if attachment else self._mime_value
        removed: list[str] = []

        def entry(mime: Any, value: Any) -> Any:
            new = value_of(mime, value, f"{prefix}.{mime}", cell)
            if new is _DROP:
                removed.append(mime)
            return new

        out = self.map_dict(bundle, _same, entry)
        if removed:
            note = _with_b64_note if attachment else _with_note
            out["text/plain"] = note(out.get("text/plain"), removed)
        return out

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
            redacted = self.r.splice(data, spans)
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

        def entry(key: Any, value: Any) -> Any:
            if key in ("output_type", "execution_count"):
                return value
            if key == "text" and kind == "stream" and text is not _UNSET:
                return text
            if key == "text" and kind == "stream":
                name = output.get("name")
                return self.lines(value, f"stream.{name if isinstance(name, str) else 'stream'}")
            if key == "name" and kind == "stream":
                return value
            if key == "data":
                return self.bundle(value, kind, cell)
            if key == "traceback" and isinstance(value, list):
                # Each entry is one frame (ANSI-coloured, may hold newlines): redacted one by one.
                return self.any(value, "error.traceback")
            if key in ("ename", "evalue"):
                return self.any(value, f"error.{key}")
            return (self.json if key == "metadata" else self.any)(value, f"{kind}.{key}")

        return self.map_dict(output, _same, entry)

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
            return self.r.splice(value, spans)
        return _resplit(value, joined, self._edits(spans))

    def cell(self, cell: Any, index: int) -> Any:
        if not isinstance(cell, dict):
            return self.any(cell, "cell")
        number = index + 1
        cell_id = cell.get("id") if isinstance(cell.get("id"), str) else None
        saved, self.in_cell = self.in_cell, number
        try:
            return self._cell(cell, number, cell_id)
        finally:
            self.in_cell = saved

    def _cell(self, cell: dict, number: int, cell_id: str | None) -> Any:
        def entry(key: Any, value: Any) -> Any:
            if key in ("id", "cell_type", "execution_count"):
                return value
            if key == "source":
                return self.source(value, number, cell_id)
            if key == "outputs" and isinstance(value, list):
                return self._outputs(value, number)
            if key == "attachments" and isinstance(value, dict):
                return self.map_dict(
                    value,
                    lambda k: self._key(k, "attachments"),
                    lambda _, b: self.bundle(b, "attachments", number, attachment=True),
                )
            if key == "metadata":
                return self.any(value, "cell.metadata")
            return self.any(value, f"cell.{key}")

        return self.map_dict(cell, _same, entry)

    def _outputs(self, outputs: list, cell: int) -> list:
        return self._items(outputs, lambda item: self.output(item, cell), cell)

    def notebook(self, nb: dict) -> dict:
        def entry(key: Any, value: Any) -> Any:
            if key in ("nbformat", "nbformat_minor"):
                return value
            if key == "cells":
                return self.sequence(value, lambda c: self.cell(c, next(index)))
            if key == "metadata" and isinstance(value, dict):
                return self.map_dict(value, lambda k: self._key(k, "metadata"), meta_entry)
            return self.any(value, key)

        def meta_entry(key: Any, value: Any) -> Any:
            return self.any(value, "metadata.widgets" if key == "widgets" else "metadata")

        index = itertools.count()
        return self.map_dict(nb, _same, entry)


def _same(key: Any) -> Any:
    return key


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


def _json_strings(value: Any) -> list[str]:
    """Every string, key and number (as text) of a JSON tree, without recursion limits."""
    out: list[str] = []
    plain: list[Any] = []  # ints and floats: written by one json.dumps call, their str() forms
    stack = [value]
    children: Iterable[Any]
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
            elif (text := number_text(child)) is not None:
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
        except (TooDeep, RecursionError):
            raise NotebookError("JSON nested too deeply to scrub") from None
        report.merge(scrubber.report)
    report.changed = result is not nb
    if report.changed and type(nb) is not dict:
        # The only use of nbformat here, imported late: a caller that passed a NotebookNode has
        # nbformat, and gets a NotebookNode all the way down back (new nested dicts included).
        import nbformat

        result = nbformat.from_dict(result)
    return result, report
