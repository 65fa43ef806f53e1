"""Redacted copies of log files: one file in, one file out, bytes identical except the redactions.

Shared by ``redactor scrub-logs`` (single process) and :mod:`redactor.sinks.spark` (one task per group
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
import contextlib
import copy
import gzip
import io
import json
import lzma
import os
import stat
import tarfile
import tempfile
import weakref
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

from redactor.engine.redactor import parse_replacement
from redactor.engine.stream import StreamRedactor
from redactor.engine.walk import TooDeep, Walker
from redactor.errors import LogFilesError

if TYPE_CHECKING:
    from redactor.engine.redactor import Redactor

__all__ = [
    "FORMATS",
    "CountingRedactor",
    "FileOutcome",
    "LogFile",
    "Unsupported",
    "leaf_streams",
    "list_log_files",
    "scrub_log_file",
]

CHUNK = 1 << 20
FORMATS = ("auto", "text", "jsonl")
JSON_SUFFIXES = frozenset({".jsonl", ".ndjson", ".json"})
# Compressed logs are read and written with the same codec, so the copy keeps the file's name;
# archives are rewritten member by member. The content decides (magic bytes), the suffix only
# when the content says nothing (an empty file, a .tar without the ustar magic).
CODEC_SUFFIXES = {
    ".gz": "gz",
    ".bz2": "bz2",
    ".xz": "xz",
    ".lzma": "lzma",
    ".zst": "zst",
    ".zstd": "zst",  # Spark's event logs (spark.eventLog.compression.codec=zstd)
}
# A compressed tar's short suffix, and the name its content gets once decompressed.
TAR_SUFFIXES = {".tgz": "gz", ".tbz": "bz2", ".tbz2": "bz2", ".txz": "xz", ".tzst": "zst"}
ARCHIVE_SUFFIXES = {".zip": "zip", ".tar": "tar"}
# Formats recognised and refused: compressed or packed, so copying them would pass whatever they
# hold through unscanned. Magic bytes first, then suffixes. Only signatures of 3 bytes or more
# that text does not start with: two-byte ones (compress's 1f 9d, ARJ's 60 ea) would catch
# arbitrary binary files, so those formats go by suffix alone.
REFUSED_SUFFIXES = {
    ".7z": "a 7-Zip archive",
    ".rar": "a RAR archive",
    ".lz4": "LZ4-compressed",
    ".br": "Brotli-compressed",
    ".lz": "lzip-compressed",
    ".tlz": "lzip-compressed",
    ".lzo": "lzop-compressed",
    ".tzo": "lzop-compressed",
    ".z": "compress(1)- or pack-compressed",
    ".sz": "Snappy-compressed",
    ".snappy": "Snappy-compressed",
    ".lzf": "LZF-compressed",
    ".cab": "a CAB archive",
    ".arj": "an ARJ archive",
    ".lzh": "an LHA archive",
    ".lha": "an LHA archive",
    ".ace": "an ACE archive",
    ".cpio": "a cpio archive",
    ".deb": "a Debian package (ar archive)",
    ".rpm": "an RPM package",
    ".xar": "a xar archive",
    ".zpaq": "a ZPAQ archive",
    ".parquet": "a Parquet file (compressed column pages)",
    ".orc": "an ORC file (compressed stripes)",
    ".avro": "an Avro file (compressed blocks)",
}
MAGIC: list[tuple[bytes, str]] = [
    (b"\x1f\x8b\x08", "gz"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zst"),
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),  # an empty zip
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"\x04\x22\x4d\x18", "LZ4-compressed"),
    (b"\x02\x21\x4c\x18", "LZ4-compressed (legacy format)"),
    (b"LZIP", "lzip-compressed"),
    (b"\x89LZO\x00\r\n\x1a\n", "lzop-compressed"),
    (b"\xff\x06\x00\x00sNaPpY", "Snappy-compressed"),
    (b"\x82SNAPPY\x00", "Snappy-compressed (Hadoop/xerial)"),
    (b"MSCF\x00\x00\x00\x00", "a CAB archive"),
    (b"!<arch>\n", "an ar archive (.deb)"),
    (b"xar!", "a xar archive"),
    (b"\xed\xab\xee\xdb", "an RPM package"),
    (b"PAR1", "a Parquet file (compressed column pages)"),
    (b"Obj\x01", "an Avro file (compressed blocks)"),
]
READABLE = frozenset({"gz", "bz2", "xz", "lzma", "zst", "zip", "tar"})
HEAD = 512  # enough for every signature above, and the tar magic at offset 257
# Archives and codecs inside one another are followed this deep; deeper is refused (no log
# archive nests so deep, and a crafted file could nest without end).
MAX_DEPTH = 4
# A tar member is redacted into memory up to this size, then into an unnamed temporary file,
# since its header (written first) holds the redacted length.
SPOOL_MAX = 16 << 20
ZSTD_HINT = "pip install 'redactor[zstd]'"


class Unsupported(LogFilesError, ValueError):
    """A file (or an archive member) that scrub-logs cannot read and refuses to copy unscanned.

    Names the file and the format, never content."""


@dataclass(frozen=True)
class LogFile:
    """One file to copy: where from, where to, how to read it. Holds paths, never content."""

    src: str
    dest: str
    rel: str
    size: int
    fmt: str  # "text" | "jsonl"
    # --format as given: members of an archive are formatted by their own names under "auto"
    option: str = "auto"


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
    for suffix in CODEC_SUFFIXES:
        name = name.removesuffix(suffix)
    return "jsonl" if os.path.splitext(name)[1] in JSON_SUFFIXES else "text"


def list_log_files(
    src: Path, dest: Path, fmt: str = "auto", refused: list[str] | None = None
) -> tuple[list[LogFile], int]:
    """Every file under ``src`` (or ``src`` itself) with its place under ``dest``, and how many
    hidden files (names starting with ``.`` or ``_``, as Spark skips them) were left out.

    Raises OSError when a folder cannot be listed or a file cannot be opened for reading, and
    :class:`Unsupported` for a file in a format that cannot be read (see :func:`check_file`), so
    that the command can refuse before writing anything. With ``refused`` (a list), such files
    are left out instead and their messages appended to it.
    """
    files: list[LogFile] = []
    skipped = 0

    def add(path: Path, rel: str) -> None:
        try:
            check_file(path, rel)  # readable now, or OSError naming the file
        except Unsupported as exc:
            if refused is None:
                raise
            refused.append(str(exc))
            return
        size = path.stat().st_size
        files.append(
            LogFile(str(path), str(dest / rel), rel, size, file_format(rel, fmt), option=fmt)
        )

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


def _suffix(name: str) -> str:
    return os.path.splitext(name)[1].lower()


def sniff(head: bytes, name: str) -> str | None:
    """How to read a stream that starts with ``head``: a codec (``gz``, ``bz2``, ``xz``, ``lzma``,
    ``zst``), an archive (``zip``, ``tar``), or None for bytes to redact as they are.

    Raises :class:`Unsupported` for a recognised format that cannot be read."""
    kind = next((k for magic, k in MAGIC if head.startswith(magic)), None)
    if kind is None:
        if (
            head[:3] == b"BZh"
            and head[3:4].isdigit()
            and head[4:10]
            in (
                b"1AY&SY",  # a block
                b"\x17rE8P\x90",  # the end of an empty stream
            )
        ):
            kind = "bz2"
        elif head[257:262] == b"ustar":
            kind = "tar"
        elif head[:1] in b"PQRSTUVWXYZ[\\]^_" and head[1:4] == b"\x2a\x4d\x18":
            kind = "zst"  # a skippable frame first (pzstd, seekable zstd)
    if kind is None:
        suffix = _suffix(name)
        kind = (
            CODEC_SUFFIXES.get(suffix)
            or TAR_SUFFIXES.get(suffix)
            or ARCHIVE_SUFFIXES.get(suffix)
            or REFUSED_SUFFIXES.get(suffix)
        )
    if kind is not None and kind not in READABLE:
        raise Unsupported(
            f"{name}: {kind}: scrub-logs cannot read this format and does not copy it unscanned "
            "(unpack it into INPUT first)"
        )
    if kind == "zst":
        _zstandard(name)
    return kind


def _zstandard(name: str) -> Any:
    try:
        import zstandard
    except ImportError:
        raise Unsupported(
            f"{name}: zstd-compressed: reading it needs the zstandard package ({ZSTD_HINT})"
        ) from None
    return zstandard


def check_file(path: Path, rel: str) -> str | None:
    """:func:`sniff` for a file on disk (its kind), checking a zip's members as far as its
    central directory tells (encryption, compression method, names); OSError if unreadable."""
    with path.open("rb") as f:
        head = f.read(HEAD)
    kind = sniff(head, rel)
    if kind == "zip":
        try:
            with zipfile.ZipFile(path) as zf:
                for info in zf.infolist():
                    _check_member(info, rel)
                    if not info.is_dir():
                        sniff(b"", f"{rel}/{info.filename}")  # a refused suffix inside
        except zipfile.BadZipFile:
            raise Unsupported(f"{rel}: not a readable zip file (corrupt or truncated)") from None
    return kind


def _check_member(info: zipfile.ZipInfo, where: str) -> None:
    if info.flag_bits & 0x1:
        raise Unsupported(f"{where}/{info.filename}: an encrypted zip member cannot be read")
    if info.compress_type not in _ZIP_METHODS:
        raise Unsupported(
            f"{where}/{info.filename}: zip compression method {info.compress_type} cannot be read"
        )


_ZIP_METHODS = frozenset(
    {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
)


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


class _JsonWalker(Walker):
    """The engine's walker over a parsed line: strings redacted and counted; numbers and
    literals (:class:`_Raw`) kept as written, since the text pass saw them whole."""

    def __init__(self, redactor: Redactor, counts: Counter[str]) -> None:
        super().__init__(redactor, too_deep="raise")
        self.counts = counts

    def text(self, s: str) -> str:
        if isinstance(s, _Raw) or not s:
            return s
        new, found = self.redactor.redact_with_counts(s)
        if not found:
            return s
        self.counts.update(found)
        return new


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
    """A line already redacted as text, with secrets hidden behind unusual escapes removed too,
    and numbers the text pass redacted turned into strings so that the line stays JSON."""
    body = line.rstrip("\r\n")
    tail = line[len(body) :]
    texts = _replacement_texts(redactor)
    if texts.maybe_in(body):
        body = _quote_redacted_numbers(body, texts)
    if "\\" not in body:
        # Without escapes every decoded string is a piece of the line: the text pass saw it.
        return body + tail
    try:
        record = json.loads(
            body, object_pairs_hook=_pairs, parse_float=_raw, parse_int=_raw, parse_constant=_raw
        )
    except ValueError:
        return body + tail
    found: Counter[str] = Counter()
    try:
        new = _JsonWalker(redactor, found).walk(record)
    except TooDeep:  # like a line that does not parse: the text pass has done what it can
        return body + tail
    if new is record:
        return body + tail
    record = new
    counts.update(found)
    return _dump_json(record, body.isascii()) + tail


_NUMBER_CHARS = frozenset("0123456789+-.eE")


class _Replacements:
    """Every text the text pass may have written for a region: the replacement, or with a
    labelled one (``[REDACTED:{name}:{hash}]``) the label of each secret, which differ from one
    region to the next and hold ``:`` and hex digits (number characters among them).

    Looked up by length (a set per length, longest first), so finding one at a position costs a
    few set lookups, whatever the number of secrets."""

    def __init__(self, redactor: Redactor) -> None:
        self.version = len(redactor)
        if redactor.labelled:
            labels = {redactor.replacement_for((i,)) for i in range(len(redactor))}
        else:
            labels = {redactor.replacement_for(None)}
        labels.discard("")
        self.by_length = sorted(
            ((n, frozenset(t for t in labels if len(t) == n)) for n in {len(t) for t in labels}),
            reverse=True,
        )
        self.first = frozenset(t[0] for t in labels)
        # Every label holds the template's literal pieces: a line without them holds no label.
        pieces = parse_replacement(redactor.replacement)
        if pieces is None:
            self.literals = [min(labels, key=len)] if labels else []
        else:
            self.literals = [lit for lit, _ in pieces if lit]

    def maybe_in(self, body: str) -> bool:
        return bool(self.first) and all(lit in body for lit in self.literals)

    def at(self, body: str, i: int) -> int:
        """The length of the longest replacement text at ``body[i:]``, or 0."""
        if body[i] not in self.first:
            return 0
        for n, texts in self.by_length:
            if body[i : i + n] in texts:
                return n
        return 0


# Computed once per redactor (and again when it gains secrets), not once per line: 13 ms for
# 10,000 labelled secrets, then 29 µs to quote a redacted number in a line (measured).
_TEXTS: weakref.WeakKeyDictionary[Redactor, _Replacements] = weakref.WeakKeyDictionary()


def _replacement_texts(redactor: Redactor) -> _Replacements:
    texts = _TEXTS.get(redactor)
    if texts is None or texts.version != len(redactor):
        texts = _TEXTS[redactor] = _Replacements(redactor)
    return texts


def _quote_redacted_numbers(body: str, texts: _Replacements) -> str:
    """``{"acct": [REDACTED]}`` (a number that held a secret, redacted by the text pass) as
    ``{"acct": "[REDACTED]"}``: the rule of every walker over nested values, a number whose text
    holds a secret becomes that text redacted, a string. The digits around the replacement
    (``1[REDACTED].5``) are part of the number and go into the string. Any replacement text
    works, labelled ones too (``texts``). ``body`` comes back unchanged when it parses already,
    or when quoting does not make it JSON."""
    try:
        json.loads(body)
        return body
    except ValueError:
        pass
    parts: list[str] = []
    pos = i = 0
    in_string = False
    n = len(body)
    while i < n:
        c = body[i]
        if in_string:
            if c == "\\":
                i += 2
                continue
            if c == '"':
                in_string = False
        elif (size := texts.at(body, i)) > 0:
            start = i
            while start > pos and body[start - 1] in _NUMBER_CHARS:
                start -= 1
            end = i + size
            while end < n:
                more = texts.at(body, end)
                if more:
                    end += more
                elif body[end] in _NUMBER_CHARS:
                    end += 1
                else:
                    break
            parts.append(body[pos:start])
            parts.append(json.dumps(body[start:end], ensure_ascii=body.isascii()))
            pos = i = end
            continue
        elif c == '"':
            in_string = True
        i += 1
    if not parts:
        return body
    parts.append(body[pos:])
    fixed = "".join(parts)
    try:
        json.loads(fixed)
    except ValueError:
        return body
    return fixed


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


class _Readable(Protocol):
    """What a copy reads: a file, an archive member, a codec's reader or a :class:`_Chain`."""

    def read(self, n: int = -1, /) -> bytes: ...


class _Writable(Protocol):
    """What a copy writes: a file, an archive member, a spool or a codec's writer (what zipfile
    and the codecs need of a stream they are given)."""

    def write(self, data: bytes, /) -> int: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...


class _Chain:
    """A stream's first bytes (already read, to sniff its format) followed by the rest."""

    def __init__(self, head: bytes, rest: _Readable) -> None:
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if self._head:
            if n is None or n < 0:
                out, self._head = self._head + self._rest.read(), b""
                return out
            out, self._head = self._head[:n], self._head[n:]
            return out
        return self._rest.read(n)

    def close(self) -> None:
        pass


class _WriteOnly:
    """A stream that can only be written (gzip's writer claims it can seek, backwards fails)."""

    def __init__(self, dest: _Writable) -> None:
        self._dest = dest

    def write(self, data: bytes) -> int:
        return self._dest.write(data)

    def flush(self) -> None:
        self._dest.flush()

    def close(self) -> None:
        """Nothing: ``dest`` belongs to the caller (zipfile never closes a stream it was given)."""


def _head(src: _Readable) -> tuple[bytes, _Chain]:
    head = b""
    while len(head) < HEAD:
        more = src.read(HEAD - len(head))
        if not more:
            break
        head += more
    return head, _Chain(head, src)


def _inner_name(name: str, kind: str) -> str:
    """The name of what a compressed file holds: ``a.log.gz`` -> ``a.log``, ``a.tgz`` -> ``a.tar``."""
    stem, suffix = os.path.splitext(name)
    low = suffix.lower()
    if low in TAR_SUFFIXES:
        return stem + ".tar"
    if low in CODEC_SUFFIXES:
        return stem
    return name


def _codec_reader(kind: str, src: IO[bytes], name: str) -> _Readable:
    if kind == "gz":
        return gzip.GzipFile(fileobj=src, mode="rb")
    if kind == "bz2":
        return bz2.BZ2File(src, "rb")
    if kind in ("xz", "lzma"):
        return lzma.LZMAFile(src, "rb")
    zstandard = _zstandard(name)
    # read_across_frames: a file of several frames (appended logs) is read whole.
    return zstandard.ZstdDecompressor().stream_reader(src, read_across_frames=True, closefd=False)


def _codec_writer(kind: str, dest: _Writable, head: bytes, inner: str) -> _Writable:
    """A writer with the input's settings where its header records them (gzip's name and time,
    bzip2's block size, xz's integrity check, zstd's checksum), so the copy differs only in what
    redaction changes."""
    if kind == "gz":
        has_name = len(head) > 3 and head[3] & 0x08
        mtime = int.from_bytes(head[4:8], "little") if len(head) >= 8 else 0
        return gzip.GzipFile(
            filename=os.path.basename(inner) if has_name else "",
            mode="wb",
            fileobj=dest,
            mtime=mtime,
        )
    if kind == "bz2":
        level = int(head[3:4]) if head[3:4].isdigit() and head[3:4] != b"0" else 9
        return bz2.BZ2File(dest, "wb", compresslevel=level)
    # LZMAFile only writes to ``dest`` (typeshed asks for a whole IO[bytes], unlike bz2 and gzip).
    if kind == "xz":
        check = head[7] & 0x0F if len(head) > 7 else lzma.CHECK_CRC64
        return lzma.LZMAFile(dest, "wb", format=lzma.FORMAT_XZ, check=check)  # type: ignore[arg-type]
    if kind == "lzma":
        return lzma.LZMAFile(dest, "wb", format=lzma.FORMAT_ALONE)  # type: ignore[arg-type]
    zstandard = _zstandard(inner)
    checksum = len(head) > 4 and head[:4] == b"\x28\xb5\x2f\xfd" and bool(head[4] & 0x04)
    return zstandard.ZstdCompressor(write_checksum=checksum).stream_writer(dest, closefd=False)


@dataclass
class _Copy:
    """What one file's copy needs at every level of nesting."""

    redactor: Redactor
    option: str  # --format as given, for archive members
    outcome: FileOutcome
    spool_dir: str


def _copy(src: _Readable, dest: _Writable, name: str, fmt: str, ctx: _Copy, depth: int) -> None:
    """Redact the stream ``src`` into ``dest``: decompressed and compressed again with the same
    codec, an archive rewritten member by member, anything else redacted as bytes."""
    head, stream = _head(src)
    kind = sniff(head, name)
    if kind is None:
        leaf = FileOutcome(name)
        for piece in _redacted_pieces(stream, ctx.redactor, fmt, leaf):
            dest.write(piece)
        ctx.outcome.records += leaf.records
        ctx.outcome.bytes_in += leaf.bytes_in
        ctx.outcome.counts.update(leaf.counts)
        return
    if depth >= MAX_DEPTH:
        raise Unsupported(f"{name}: archives or compressed files nested more than {MAX_DEPTH} deep")
    if kind == "zip":
        _copy_zip(stream, dest, name, ctx, depth)
    elif kind == "tar":
        _copy_tar(stream, dest, name, ctx, depth)
    else:
        inner = _inner_name(name, kind)
        reader = _codec_reader(kind, stream, name)  # type: ignore[arg-type]
        writer = _codec_writer(kind, dest, head, inner)
        # The format of what it holds goes by the inner name only inside an archive; a file at
        # the top keeps the format it was listed with.
        inner_fmt = file_format(inner, ctx.option) if depth else fmt
        _copy(reader, writer, inner, inner_fmt, ctx, depth + 1)
        writer.close()  # the codec's trailer; ``dest`` stays open


def leaf_streams(src: _Readable, name: str, depth: int = 0) -> Iterator[tuple[str, _Readable]]:
    """The plain streams inside ``src``, each with its name (``logs.tgz/app/a.log``): a
    compressed stream decompressed, an archive's regular members in order, anything else as it
    is. What ``redactor scan`` reads; each stream must be read before the next is asked for.
    Raises :class:`Unsupported` as :func:`sniff` does, and for nesting beyond MAX_DEPTH."""
    head, stream = _head(src)
    kind = sniff(head, name)
    if kind is None:
        yield name, stream
        return
    if depth >= MAX_DEPTH:
        raise Unsupported(f"{name}: archives or compressed files nested more than {MAX_DEPTH} deep")
    if kind == "zip":
        # zipfile seeks: the archive is read into memory (inner zips are small in practice).
        try:
            zin = zipfile.ZipFile(io.BytesIO(stream.read()))
        except zipfile.BadZipFile:
            raise Unsupported(f"{name}: not a readable zip file (corrupt or truncated)") from None
        with zin:
            for info in zin.infolist():
                if info.is_dir():
                    continue
                _check_member(info, name)
                with zin.open(info) as member:
                    yield from leaf_streams(member, f"{name}/{info.filename}", depth + 1)
    elif kind == "tar":
        try:
            tin = tarfile.open(fileobj=stream, mode="r|", ignore_zeros=True)  # type: ignore[call-overload]
        except tarfile.TarError:
            raise Unsupported(
                f"{name}: not a readable tar archive (corrupt or truncated)"
            ) from None
        with tin:
            for member in tin:
                if member.isreg():
                    fin = tin.extractfile(member)
                    assert fin is not None
                    yield from leaf_streams(fin, f"{name}/{member.name}", depth + 1)
    else:
        reader = _codec_reader(kind, stream, name)  # type: ignore[arg-type]
        yield from leaf_streams(reader, _inner_name(name, kind), depth + 1)


def _member_fmt(name: str, ctx: _Copy) -> str:
    return file_format(name, ctx.option)


def _copy_zip(src: _Readable, dest: _Writable, name: str, ctx: _Copy, depth: int) -> None:
    """Each member redacted, with the same name, order, compression method, time, attributes and
    comments (the compression level is zipfile's default: a zip does not record it)."""
    # zipfile needs to seek: a file on disk is read where it is, an archive inside another one
    # (or inside a codec) goes to an unnamed temporary file first.
    with contextlib.ExitStack() as stack:
        if depth == 0 and isinstance(src, _Chain) and isinstance(src._rest, io.BufferedReader):
            seekable: IO[bytes] = src._rest
            seekable.seek(0)
        else:
            seekable = stack.enter_context(tempfile.TemporaryFile(dir=ctx.spool_dir))
            while chunk := src.read(CHUNK):
                seekable.write(chunk)
            seekable.seek(0)
        try:
            zin = zipfile.ZipFile(seekable)
        except zipfile.BadZipFile:
            raise Unsupported(f"{name}: not a readable zip file (corrupt or truncated)") from None
        # Inside a codec or another archive, the output cannot seek back to fill in each local
        # header: zipfile then writes data descriptors instead (flag bit 3), as zip tools do.
        out = dest if depth == 0 else _WriteOnly(dest)
        with zin, zipfile.ZipFile(out, "w") as zout:
            zout.comment = zin.comment
            for info in zin.infolist():
                _check_member(info, name)
                new = zipfile.ZipInfo(info.filename, info.date_time)
                new.compress_type = info.compress_type
                new.comment = info.comment
                new.extra = _without_zip64(info.extra)
                new.create_system = info.create_system
                new.external_attr = info.external_attr
                new.internal_attr = info.internal_attr
                if info.is_dir():
                    zout.writestr(new, b"")
                    continue
                member = f"{name}/{info.filename}"
                big = info.file_size > (1 << 30)  # redaction may grow it past zip's 4 GiB
                with zin.open(info) as fin, zout.open(new, "w", force_zip64=big) as fout:
                    _copy(fin, fout, member, _member_fmt(info.filename, ctx), ctx, depth + 1)


def _without_zip64(extra: bytes) -> bytes:
    """An extra field without its zip64 record: zipfile writes its own, for the new sizes."""
    out, i = b"", 0
    while i + 4 <= len(extra):
        tag = int.from_bytes(extra[i : i + 2], "little")
        size = int.from_bytes(extra[i + 2 : i + 4], "little")
        if tag != 0x0001:
            out += extra[i : i + 4 + size]
        i += 4 + size
    return out


def _copy_tar(src: _Readable, dest: _Writable, name: str, ctx: _Copy, depth: int) -> None:
    """Member by member, in order, with names, modes, owners, times, links and PAX headers kept;
    a regular file's content is redacted (so its size may change, and the archive is written
    anew in PAX format, which holds whatever the input's format held)."""
    # The stream modes ("r|", "w|") only read or only write; typeshed's file protocol for tarfile
    # also lists seek and tell, which only the random-access modes use: hence the two ignores.
    try:
        # ignore_zeros: archives appended to one another (tar -A, cat a.tar b.tar) are read on,
        # as GNU tar -i does, instead of stopping at the first end-of-archive blocks.
        tin = tarfile.open(fileobj=src, mode="r|", ignore_zeros=True)  # type: ignore[call-overload]
    except tarfile.TarError:
        raise Unsupported(f"{name}: not a readable tar archive (corrupt or truncated)") from None
    with tin, tarfile.open(fileobj=dest, mode="w|", format=tarfile.PAX_FORMAT) as tout:  # type: ignore[call-overload]
        for member in tin:
            info = copy.copy(member)
            info.pax_headers = {
                k: v
                for k, v in member.pax_headers.items()
                if k != "size" and not k.startswith("GNU.sparse.")
            }
            if not member.isreg():
                tout.addfile(info)
                continue
            info.type = tarfile.REGTYPE  # a sparse member is written out in full
            info.sparse = None
            fin = tin.extractfile(member)
            assert fin is not None
            where = f"{name}/{member.name}"
            with tempfile.SpooledTemporaryFile(SPOOL_MAX, dir=ctx.spool_dir) as spool:
                _copy(fin, spool, where, _member_fmt(member.name, ctx), ctx, depth + 1)
                info.size = spool.tell()
                spool.seek(0)
                tout.addfile(info, spool)
    # Read to the end, so that a codec around the archive checks its trailer (CRC, size).
    while src.read(CHUNK):
        pass


def _redacted_pieces(
    src: _Readable, redactor: Redactor, fmt: str, outcome: FileOutcome
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

    Compressed files are read and written with the same codec; zip and tar archives (compressed
    or not) are rewritten member by member, members that are themselves compressed or archives
    included; a format that cannot be read is an error, never a copy passed through unscanned.
    Errors are returned (by kind, never with data) rather than raised, and leave no output file.
    """
    outcome = FileOutcome(job.rel)
    dest = Path(job.dest)
    tmp: str | None = None
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        mode = stat.S_IMODE(os.stat(job.src).st_mode)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
        ctx = _Copy(redactor, job.option, outcome, str(dest.parent))
        with open(job.src, "rb") as fin, os.fdopen(fd, "wb") as raw:
            _copy(fin, raw, job.rel, job.fmt, ctx, 0)
            raw.flush()
            os.fsync(raw.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, dest)
        tmp = None
    except Unsupported as exc:
        outcome = FileOutcome(job.rel, error=f"cannot copy: {_after_name(str(exc), job.rel)}")
    except Exception as exc:
        # Any failure leaves no copy and is reported by kind, never with data (a codec's or
        # archive's message may quote a name, not content, but the kind is enough).
        outcome = FileOutcome(job.rel, error=f"cannot copy: {_why(exc)}")
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    return outcome


def _why(exc: Exception) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror  # the disk: ENOSPC, EACCES, ...
    if isinstance(exc, tarfile.TarError):
        return "corrupt or truncated tar archive"
    if isinstance(exc, zipfile.BadZipFile):
        return "corrupt zip archive"
    if isinstance(exc, (OSError, EOFError, lzma.LZMAError)) or type(exc).__name__ == "ZstdError":
        # gzip/bz2 raise OSError without an errno or EOFError, lzma and zstd their own
        return "corrupt or truncated compressed file"
    return type(exc).__name__


def _after_name(message: str, rel: str) -> str:
    """An Unsupported message without the file name the caller already prints first."""
    if message.startswith(rel + ": "):
        return message[len(rel) + 2 :]
    return message[len(rel) + 1 :] if message.startswith(rel + "/") else message
