"""Redacted copies of log files: one file in, one file out, bytes identical except the redactions.

Shared by ``redactor scrub-logs`` (single process) and :mod:`redactor.spark` (one task per group
of files on the executors), so both give the same bytes. Nothing here imports Spark.

A file is read in chunks, so its size does not matter. Bytes are decoded as UTF-8 with
``surrogateescape`` (invalid bytes survive the round trip untouched) and matched on the engine's
text path, which registers those same surrogate forms for secrets that are not UTF-8; a chunk is
emitted only up to a point that no secret region can still reach, so any chunking gives the same
output as redacting the whole file at once, and each region is counted once, by secret name.

JSON lines (``--format jsonl``): every line is first redacted as text (a JSON-escaped secret is one
of the registered encodings). A line that still holds a backslash may escape a secret in a way the
registered forms do not cover (``\\u0041`` for ``A``, ``\\/``); such a line is parsed, and if a
decoded string (key or value) still holds a secret, that record alone is written back with its
strings redacted. Numbers and literals keep their original text, keys keep their order and
duplicates; only the whitespace between tokens becomes ``json.dumps``'s. Other lines (not JSON,
or nothing left to find) are kept byte for byte.
"""

from __future__ import annotations

import bz2
import codecs
import gzip
import json
import os
import stat
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ._stream import StreamRedactor

if TYPE_CHECKING:
    from ._engine import Redactor

__all__ = [
    "FORMATS",
    "CountingRedactor",
    "FileOutcome",
    "LogFile",
    "list_log_files",
    "scrub_log_file",
]

CHUNK = 1 << 20
FORMATS = ("auto", "text", "jsonl")
JSON_SUFFIXES = frozenset({".jsonl", ".ndjson", ".json"})
# Compressed logs are read and written with the same codec, so the copy keeps the file's name.
OPENERS: dict[str, Callable[..., IO[bytes]]] = {".gz": gzip.open, ".bz2": bz2.open}


@dataclass(frozen=True)
class LogFile:
    """One file to copy: where from, where to, how to read it. Holds paths, never content."""

    src: str
    dest: str
    rel: str
    size: int
    fmt: str  # "text" | "jsonl"


@dataclass
class FileOutcome:
    """What happened to one file: names and counts only, never a value."""

    rel: str
    records: int = 0
    bytes_in: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    error: str | None = None

    @property
    def matches(self) -> int:
        return sum(self.counts.values())


def _hidden(name: str) -> bool:
    # Hadoop and Spark skip these when they read a folder (_SUCCESS, .part-0000.crc, _temporary).
    return name.startswith((".", "_"))


def file_format(rel: str, fmt: str) -> str:
    """``text`` or ``jsonl`` for one file: ``auto`` goes by the suffix before any .gz/.bz2."""
    if fmt != "auto":
        return fmt
    name = rel.lower()
    for suffix in OPENERS:
        name = name.removesuffix(suffix)
    return "jsonl" if os.path.splitext(name)[1] in JSON_SUFFIXES else "text"


def list_log_files(src: Path, dest: Path, fmt: str = "auto") -> tuple[list[LogFile], int]:
    """Every file under ``src`` (or ``src`` itself) with its place under ``dest``, and how many
    hidden files (names starting with ``.`` or ``_``, as Spark skips them) were left out.

    Raises OSError when a folder cannot be listed or a file cannot be opened for reading, so that
    the command can refuse before writing anything.
    """
    files: list[LogFile] = []
    skipped = 0

    def add(path: Path, rel: str) -> None:
        with path.open("rb"):  # readable now, or OSError naming the file
            pass
        size = path.stat().st_size
        files.append(LogFile(str(path), str(dest / rel), rel, size, file_format(rel, fmt)))

    if src.is_file():
        add(src, src.name)
        return files, 0

    def on_error(exc: OSError) -> None:
        raise exc

    for folder, dirs, names in os.walk(src, onerror=on_error):
        skipped += sum(1 for d in dirs if _hidden(d))
        dirs[:] = sorted(d for d in dirs if not _hidden(d))
        for name in sorted(names):
            path = Path(folder) / name
            if _hidden(name):
                skipped += 1
            elif path.is_file():
                add(path, path.relative_to(src).as_posix())
    return files, skipped


class CountingRedactor(StreamRedactor):
    """A chunk-safe text redactor that also counts regions by secret name: the engine's stream
    (same output for any chunking, across escape sequences too) with a Counter. A region is
    counted once it is closed, so the totals equal :meth:`Redactor.redact_with_counts` of the
    whole text."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__(redactor, Counter())
        self.counts: Counter[str]


# -- JSON lines -------------------------------------------------------------------------------


class _Raw(str):
    """A number or literal, kept as written (1.50, 1e3, NaN)."""


def _raw(text: str) -> _Raw:
    return _Raw(text)


def _pairs(pairs: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    return _Object(pairs)


class _Object(list):
    """A JSON object as its ordered (key, value) pairs, duplicates kept."""


def _redact_json(value: Any, redactor: Redactor, counts: Counter[str]) -> tuple[Any, bool]:
    if isinstance(value, _Raw):
        return value, False
    if isinstance(value, str):
        new, found = redactor.redact_with_counts(value)
        counts.update(found)
        return new, bool(found)
    if isinstance(value, _Object):
        out, changed = _Object(), False
        for key, item in value:
            k, c1 = _redact_json(key, redactor, counts)
            v, c2 = _redact_json(item, redactor, counts)
            out.append((k, v))
            changed = changed or c1 or c2
        return out, changed
    if isinstance(value, list):
        items = [_redact_json(v, redactor, counts) for v in value]
        return [v for v, _ in items], any(c for _, c in items)
    return value, False  # true, false, null


def _dump_json(value: Any, ascii_only: bool) -> str:
    if isinstance(value, _Raw):
        return str.__str__(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=ascii_only)
    if isinstance(value, _Object):
        inner = ", ".join(
            f"{json.dumps(k, ensure_ascii=ascii_only)}: {_dump_json(v, ascii_only)}"
            for k, v in value
        )
        return "{" + inner + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_dump_json(v, ascii_only) for v in value) + "]"
    return json.dumps(value)


def redact_json_line(line: str, redactor: Redactor, counts: Counter[str]) -> str:
    """A line already redacted as text, with secrets hidden behind unusual escapes removed too."""
    body = line.rstrip("\r\n")
    if "\\" not in body:
        # Without escapes every decoded string is a piece of the line: the text pass saw it.
        return line
    try:
        record = json.loads(
            body, object_pairs_hook=_pairs, parse_float=_raw, parse_int=_raw, parse_constant=_raw
        )
    except ValueError:
        return line
    found: Counter[str] = Counter()
    record, changed = _redact_json(record, redactor, found)
    if not changed:
        return line
    counts.update(found)
    return _dump_json(record, body.isascii()) + line[len(body) :]


def _json_lines(pieces: Iterator[str], redactor: Redactor, counts: Counter[str]) -> Iterator[str]:
    carry = ""
    for piece in pieces:
        carry += piece
        if "\n" not in piece:
            continue
        lines = carry.split("\n")
        carry = lines.pop()
        yield "".join(redact_json_line(line + "\n", redactor, counts) for line in lines)
    if carry:
        yield redact_json_line(carry, redactor, counts)


# -- one file ---------------------------------------------------------------------------------


def _reader(path: str) -> IO[bytes]:
    opener = OPENERS.get(os.path.splitext(path)[1].lower())
    return opener(path, "rb") if opener else open(path, "rb")


def _writer(raw: IO[bytes], dest: Path) -> IO[bytes]:
    """``raw`` (the temporary file) compressed as ``dest``'s suffix says."""
    suffix = dest.suffix.lower()
    if suffix == ".gz":
        # The header names the final file, not the temporary one.
        return gzip.GzipFile(filename=dest.stem, mode="wb", fileobj=raw)
    if suffix == ".bz2":
        return bz2.BZ2File(raw, "wb")
    return raw


def _redacted_pieces(
    src: IO[bytes], redactor: Redactor, fmt: str, outcome: FileOutcome
) -> Iterator[bytes]:
    decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")
    stream = CountingRedactor(redactor)
    newlines = 0
    last = b""

    def texts() -> Iterator[str]:
        nonlocal newlines, last
        while chunk := src.read(CHUNK):
            outcome.bytes_in += len(chunk)
            newlines += chunk.count(b"\n")
            last = chunk[-1:]
            yield stream.feed(decoder.decode(chunk))
        yield stream.feed(decoder.decode(b"", final=True))
        yield stream.flush()

    pieces = texts()
    if fmt == "jsonl":
        pieces = _json_lines(pieces, redactor, stream.counts)
    for piece in pieces:
        if piece:
            yield piece.encode("utf-8", "surrogateescape")
    outcome.records = newlines + (1 if last and last != b"\n" else 0)
    outcome.counts = stream.counts


def scrub_log_file(job: LogFile, redactor: Redactor) -> FileOutcome:
    """Write ``job.dest`` as a redacted copy of ``job.src``, atomically, with the source's mode.

    Errors are returned (by kind, never with data) rather than raised, and leave no output file.
    """
    outcome = FileOutcome(job.rel)
    dest = Path(job.dest)
    tmp: str | None = None
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        mode = stat.S_IMODE(os.stat(job.src).st_mode)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
        with _reader(job.src) as fin, os.fdopen(fd, "wb") as raw:
            fout = _writer(raw, dest)
            for piece in _redacted_pieces(fin, redactor, job.fmt, outcome):
                fout.write(piece)
            if fout is not raw:
                fout.close()  # the codec's trailer; the temporary file stays open
            raw.flush()
            os.fsync(raw.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, dest)
        tmp = None
    except (OSError, EOFError, ValueError) as exc:
        # gzip/bz2 raise OSError/EOFError on corrupt data; never include the data itself.
        what = getattr(exc, "strerror", None) or type(exc).__name__
        if isinstance(exc, (EOFError, gzip.BadGzipFile)) or "compressed" in str(exc).lower():
            what = "corrupt or truncated compressed file"
        outcome = FileOutcome(job.rel, error=f"cannot copy: {what}")
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    return outcome
