"""Text in, text out: scrub the JSON text of an ``.ipynb`` file, patching it byte for byte.

:func:`scrub_text` returns text that differs from the input only in the redacted strings: a
notebook with nothing to redact comes back as the very same string, and a rewritten one keeps its
indentation, key order, escaping, line endings and trailing newline. Pure functions: reading and
writing files is the caller's business.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from redactor.engine.walk import number_text
from redactor.sinks.notebook.cells import Redactors, scrub_notebook
from redactor.sinks.notebook.report import NotebookError, ScrubReport

__all__ = ["json_path_at", "parse_notebook", "scrub_text"]


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
# The C scanner: (value, end index) of the value at an index.
_SCAN = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


def _skip(body: str, pos: int) -> int:
    """The index of the first non-whitespace character at or after ``pos``."""
    match = _WS.match(body, pos)
    return match.end() if match else pos


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
    pos = _skip(body, start + 1)
    if body[pos] == closing:
        return
    while True:
        key = None
        if closing == "}":
            key, pos = _SCAN(body, pos)
            pos = _skip(body, pos)
            if body[pos] != ":":
                raise ValueError("expected ':'")
            pos = _skip(body, pos + 1)
        _, end = _SCAN(body, pos)
        yield key, pos, end
        pos = _skip(body, end)
        if body[pos] == ",":
            pos = _skip(body, pos + 1)
        elif body[pos] == closing:
            return
        else:
            raise ValueError("expected ',' or a closing bracket")


def json_path_at(text: str, offset: int) -> list[str | int]:
    """The keys and indexes of the innermost JSON value of ``text`` that holds character
    ``offset`` (``["cells", 2, "outputs", 0, "text"]``): where ``redactor scan`` says a finding
    is in a notebook. Walks only the containers on the way, with the C scanner; ``[]`` when the
    offset is outside every member or the text is not JSON."""
    path: list[str | int] = []
    start = _skip(text, 1 if text.startswith("\ufeff") else 0)
    try:
        while start < len(text) and text[start] in "[{":
            closing = "]" if text[start] == "[" else "}"
            for index, (key, s, e) in enumerate(_members(text, start, closing)):
                if s <= offset < e:
                    path.append(index if key is None else key)
                    start = s
                    break
            else:
                break
    except (ValueError, IndexError, json.JSONDecodeError, StopIteration):
        pass
    return path


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
    if isinstance(new, str) and (isinstance(old, str) or number_text(old) is not None):
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
    start = _skip(body, 0)
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
