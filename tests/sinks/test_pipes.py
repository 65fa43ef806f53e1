"""The streaming filter behind `redactor filter` and `redactor run`, in process.

Exact outputs for the ``::add-mask::`` rules, and properties: any chunking gives the same output
(equal to ``redact_bytes`` of the whole when there is no command), no form of a secret survives,
secret-free bytes pass unchanged, and add-mask data escapes round-trip.
"""

from __future__ import annotations

import errno
import os
import re
import threading
import time
import warnings

import pytest
from helpers.chunks import split_at as split
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from redactor import Redactor, RedactorWarning
from redactor.engine.encodings import SecretValue, forms_of
from redactor.sinks.ci import (
    CHUNK_SIZE,
    Interrupts,
    MaskingFilter,
    escape_mask_data,
    pump,
    unescape_mask_data,
)
from redactor.sinks.ci.fdio import FIRST_READ, _Output, _ReadAhead, _WriteBehind, grow_pipe

# The whole module runs once per engine (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("each_engine")

R = b"[REDACTED]"
SECRET = "hunter2-Sup3r-Secret"


def make(*secrets: str, **kw) -> Redactor:
    r = Redactor(**kw)
    for i, s in enumerate(secrets):
        r.add(s, f"s{i}")
    return r


def run_chunks(filt: MaskingFilter, chunks) -> bytes:
    return b"".join(filt.feed(c) for c in chunks) + filt.flush()


def bytewise(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


# -- exact behaviour ---------------------------------------------------------------------------


def test_plain_redaction_matches_redact_bytes() -> None:
    r = make(SECRET)
    data = f"a {SECRET} b\nc {SECRET}".encode()
    assert run_chunks(MaskingFilter(r), [data]) == b"a [REDACTED] b\nc [REDACTED]"
    assert run_chunks(MaskingFilter(r), bytewise(data)) == r.redact_bytes(data)


def test_add_mask_registers_for_what_follows_and_masks_its_own_line() -> None:
    r = make()
    data = (
        b"before new-value-42\n::add-mask::new-value-42\nafter new-value-42 and bmV3LXZhbHVlLTQy\n"
    )
    expected = (
        b"before new-value-42\n"
        b"::add-mask::[REDACTED]\n"
        b"after [REDACTED] and [REDACTED]\n"  # base64 of the value too: all encodings apply
    )
    for chunks in ([data], bytewise(data)):
        filt = MaskingFilter(make())
        assert run_chunks(filt, chunks) == expected
        assert filt.registered == 1
    assert len(r) == 0  # a fresh redactor each time above


def test_add_mask_escapes_multiline_and_percent() -> None:
    value = "first-line-abc\r\nsecond%line-xyz"
    escaped = escape_mask_data(value.encode())
    assert escaped == b"first-line-abc%0D%0Asecond%25line-xyz"
    data = (
        b"::add-mask::" + escaped + b"\n"
        b"one: first-line-abc\n"
        b"two: second%line-xyz\n"
        b"echo again ::add-mask::" + escaped + b"\n"
    )
    out = run_chunks(MaskingFilter(make()), bytewise(data))
    assert out == (
        b"::add-mask::[REDACTED]\n"
        b"one: [REDACTED]\n"
        b"two: [REDACTED]\n"
        b"echo again ::add-mask::[REDACTED]\n"  # the escaped form is registered as well
    )


def test_add_mask_lines_are_registered_whatever_the_encodings() -> None:
    r = Redactor(encodings=["plain"])  # no "lines" encoder
    out = run_chunks(
        MaskingFilter(r), [b"::add-mask::line-one-aaa%0Aline-two-bbb\nx line-two-bbb y\n"]
    )
    assert out == b"::add-mask::[REDACTED]\nx [REDACTED] y\n"


@pytest.mark.parametrize(
    ("line", "value"),
    [
        (b"::add-mask::value-one-1", b"value-one-1"),
        (b"   \t::add-mask::value-one-1", b"value-one-1"),  # leading blanks, as TrimStart
        (b"::ADD-MASK::value-one-1", b"value-one-1"),  # the name is case-insensitive
        (b"::add-mask key=v,x=y::value-one-1", b"value-one-1"),  # properties ignored
        (b"::add-mask::value::one::1", b"value::one::1"),  # data runs to the line end
        (b"::add-mask:::value-one-1", b":value-one-1"),
    ],
)
def test_command_forms(line: bytes, value: bytes) -> None:
    r = make()
    out = run_chunks(MaskingFilter(r), [line + b"\r\n" + value + b"\n"])
    start = line.index(b"::")
    head = line[: line.index(b"::", start + 2) + 2]
    assert out == head + R + b"\r\n" + R + b"\n"


@pytest.mark.parametrize(
    "line",
    [
        b"x ::add-mask::value-one-1",  # not at the start of the line
        b"::add-mask value-one-1",  # no separator
        b"::add-maskx::value-one-1",  # another command
        b"::add-mask:x::value-one-1",  # command name "add-mask:x"
        b":: add-mask::value-one-1",
    ],
)
def test_not_commands_pass_unchanged(line: bytes) -> None:
    filt = MaskingFilter(make())
    data = line + b"\nvalue-one-1\n"
    assert run_chunks(filt, bytewise(data)) == data
    assert filt.registered == 0


def test_bare_cr_ends_a_line_like_the_runner() -> None:
    data = b"progress 10%\r::add-mask::cr-value-123\rcr-value-123\n"
    assert (
        run_chunks(MaskingFilter(make()), [data])
        == b"progress 10%\r::add-mask::[REDACTED]\r[REDACTED]\n"
    )


def test_unterminated_command_at_end_of_input_is_honoured() -> None:
    filt = MaskingFilter(make())
    assert run_chunks(filt, [b"x\n::add-mask::tail-value-9"]) == b"x\n::add-mask::[REDACTED]"
    assert filt.registered == 1


def test_no_add_mask_treats_commands_as_text() -> None:
    data = b"::add-mask::value-one-1\nvalue-one-1\n"
    assert run_chunks(MaskingFilter(make(), add_mask=False), [data]) == data


def test_empty_and_short_values_warn_by_command_number_never_by_value() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = run_chunks(
            MaskingFilter(make(), label="stdout"),
            [b"ok\n::add-mask::   \n::add-mask::abc\nabc\n"],
        )
    # An empty value is not a command that does anything: its line passes as it is. A short one
    # is refused by the engine (min_length), but its echo is still masked.
    assert out == b"ok\n::add-mask::   \n::add-mask::[REDACTED]\nabc\n"
    messages = [str(w.message) for w in caught]
    assert all(issubclass(w.category, RedactorWarning) for w in caught)
    assert messages == [
        "empty ::add-mask:: value #1 on stdout ignored",
        "secret '::add-mask:: #2 on stdout' is too short (fewer than 6 characters) "
        "and will not be redacted",
    ]


def test_overlong_command_line_is_bounded_and_its_value_dropped() -> None:
    filt = MaskingFilter(make(), max_command_line=1000)
    value = b"v" * 5000
    with pytest.warns(RedactorWarning, match="longer than 1000 bytes"):
        out = run_chunks(filt, split(b"::add-mask::" + value + b"\nnext line\n", range(0, 6000, 7)))
    assert out == b"::add-mask::[REDACTED]\nnext line\n"
    assert filt.pending == 0


def test_held_bytes_stay_small() -> None:
    r = make(SECRET)
    filt = MaskingFilter(r)
    total = 0
    for _ in range(200):
        total += len(filt.feed(b"x" * 997 + b"\n::add-m"))
        assert filt.pending <= len("::add-mask") + r.matcher(True).maxlen
    total += len(filt.flush())
    assert total == 200 * (998 + 7)


def test_secrets_added_from_two_threads_apply_to_both_streams() -> None:
    r = make()
    a, b = MaskingFilter(r, label="a"), MaskingFilter(r, label="b")
    assert a.feed(b"::add-mask::from-stream-a\n") == b"::add-mask::[REDACTED]\n"
    assert b.feed(b"leak? from-stream-a\n") == b"leak? [REDACTED]\n"


# -- pump() over real pipes --------------------------------------------------------------------


def test_pump_over_os_pipes_and_closed_output() -> None:
    r = make(SECRET)
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    data = (f"line {SECRET}\n" * 10000).encode()
    writer = threading.Thread(target=lambda: (os.write(in_w, data), os.close(in_w)))
    writer.start()
    chunks: list[bytes] = []
    reader = threading.Thread(
        target=lambda: chunks.extend(iter(lambda: os.read(out_r, 65536), b""))
    )
    reader.start()
    assert pump(in_r, out_w, MaskingFilter(r)) is True
    os.close(out_w)
    writer.join()
    reader.join()
    assert b"".join(chunks) == b"line [REDACTED]\n" * 10000
    os.close(in_r)
    os.close(out_r)

    # The reader of the output is gone: pump() says so instead of raising.
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    os.close(out_r)
    os.write(in_w, b"some output\n")
    os.close(in_w)
    assert pump(in_r, out_w, MaskingFilter(r)) is False
    os.close(in_r)
    os.close(out_w)


try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]
needs_pipe_size = pytest.mark.skipif(
    not hasattr(fcntl, "F_GETPIPE_SZ"), reason="Linux: F_GETPIPE_SZ/F_SETPIPE_SZ"
)


@needs_pipe_size
def test_grow_pipe_to_a_chunk_never_shrinks_and_leaves_files_alone(tmp_path) -> None:
    r, w = os.pipe()
    try:
        assert fcntl.fcntl(w, fcntl.F_GETPIPE_SZ) == 65536  # Linux's default
        grow_pipe(w, CHUNK_SIZE)
        assert fcntl.fcntl(r, fcntl.F_GETPIPE_SZ) == CHUNK_SIZE  # one pipe, seen from both ends
        grow_pipe(r, 4096)  # never shrinks
        assert fcntl.fcntl(w, fcntl.F_GETPIPE_SZ) == CHUNK_SIZE
        # A full chunk now goes in with one write, and comes out with one read.
        data = bytes(range(256)) * (CHUNK_SIZE // 256)
        assert os.write(w, data) == CHUNK_SIZE
        assert os.read(r, 2 * CHUNK_SIZE) == data
    finally:
        os.close(r)
        os.close(w)
    with (tmp_path / "f").open("wb") as f:
        grow_pipe(f.fileno(), CHUNK_SIZE)  # not a pipe: nothing happens, nothing raised
    grow_pipe(2**20, CHUNK_SIZE)  # not even open: nothing raised either


@needs_pipe_size
def test_pump_with_interrupts_grows_its_pipes_and_output_is_identical() -> None:
    # Chunks of a MiB each through grown pipes: secrets cut by every chunk boundary, the output
    # equal to redact_bytes of the whole.
    r = make(SECRET)
    line = f"{SECRET} x{SECRET[:7]}\n".encode()
    data = (b"#" * (CHUNK_SIZE - 5) + line) * 3 + line * 50_000
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    writer = threading.Thread(target=lambda: (os.write(in_w, data), os.close(in_w)))
    chunks: list[bytes] = []
    sizes: list[int] = []

    def read_all() -> None:
        while chunk := os.read(out_r, 4 * CHUNK_SIZE):
            sizes.append(fcntl.fcntl(out_r, fcntl.F_GETPIPE_SZ))
            chunks.append(chunk)

    reader = threading.Thread(target=read_all)
    writer.start()
    reader.start()
    with Interrupts() as interrupts:
        assert pump(in_r, out_w, MaskingFilter(r), interrupts=interrupts) is True
    os.close(out_w)
    writer.join()
    reader.join()
    assert b"".join(chunks) == r.redact_bytes(data)
    assert set(sizes) <= {65536, CHUNK_SIZE}  # grown when the pump starts (see grow_pipe)
    assert fcntl.fcntl(out_r, fcntl.F_GETPIPE_SZ) == CHUNK_SIZE
    assert fcntl.fcntl(in_r, fcntl.F_GETPIPE_SZ) == CHUNK_SIZE
    os.close(in_r)
    os.close(out_r)


def test_pump_reads_a_file_ahead_and_the_output_is_identical(tmp_path) -> None:
    """A regular file on stdin is read (and its command lines found) by a thread ahead of the
    pump: the same bytes out as from a pipe, commands and secrets across chunk boundaries
    included, and the file's offset at its end afterwards."""
    r = make(SECRET)
    line = f"{SECRET} x{SECRET[:7]}\n".encode()
    cmd = b"::add-mask::later-Registered-42\n"
    # Commands in the middle of chunks, found by the search that runs ahead (a "#" filler would
    # hold a "##" back at each chunk's end, and the chunk after it would be searched again).
    block = b"x" * (CHUNK_SIZE - 10) + b"\n" + cmd + line
    data = block * 3 + (line + b"later-Registered-42\n") * 9_000
    src = tmp_path / "log"
    src.write_bytes(data)
    outputs = []
    for target in ("file", "pipe"):
        out = tmp_path / f"out-{target}"
        with open(out, "wb") as sink:
            fd = os.open(src, os.O_RDONLY)
            if target == "pipe":  # the same bytes through a pipe: read in the pump
                in_r, in_w = os.pipe()
                writer = threading.Thread(target=lambda: (os.write(in_w, data), os.close(in_w)))
                writer.start()
                os.close(fd)
                fd = in_r
            with Interrupts() as interrupts:
                assert pump(fd, sink.fileno(), MaskingFilter(make(SECRET)), interrupts=interrupts)
            if target == "file":
                assert os.lseek(fd, 0, os.SEEK_CUR) == len(data)
            else:
                writer.join()
            os.close(fd)
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    assert outputs[0].count(b"::add-mask::[REDACTED]\n") == 3
    assert b"later-Registered" not in outputs[0] and SECRET.encode() not in outputs[0]
    assert outputs[0].endswith(b"[REDACTED] x" + SECRET[:7].encode() + b"\n[REDACTED]\n")
    assert r.redact_bytes(line) == b"[REDACTED] x" + SECRET[:7].encode() + b"\n"


def test_read_ahead_hands_chunks_in_order_and_sets_the_offset_back_on_close(tmp_path) -> None:
    src = tmp_path / "log"
    src.write_bytes(bytes(range(256)) * 16_384)  # 4 MiB
    fd = os.open(src, os.O_RDONLY)
    os.lseek(fd, 100, os.SEEK_SET)  # a shell may have read some of it before
    ahead = _ReadAhead(fd, None, CHUNK_SIZE)
    first, found = ahead.get()
    second, _ = ahead.get()
    assert (len(first), len(second), found) == (FIRST_READ, CHUNK_SIZE, None)
    assert first + second == src.read_bytes()[100 : 100 + FIRST_READ + CHUNK_SIZE]
    ahead.close()  # the thread had read further: set back to what was taken
    assert os.lseek(fd, 0, os.SEEK_CUR) == 100 + FIRST_READ + CHUNK_SIZE
    os.close(fd)


def test_read_ahead_hands_a_read_error_to_the_pump(tmp_path) -> None:
    src = tmp_path / "log"
    src.write_bytes(b"x" * 10)
    fd = os.open(src, os.O_WRONLY)  # a regular file that cannot be read: EBADF
    ahead = _ReadAhead.start(fd, MaskingFilter(make(SECRET)), CHUNK_SIZE)
    assert ahead is not None
    with pytest.raises(OSError) as caught:
        ahead.get()
    assert caught.value.errno == errno.EBADF
    ahead.close()
    os.close(fd)
    # any other failure of the reader's thread is raised in the pump too, never a pump waiting
    fd = os.open(src, os.O_RDONLY)
    ahead = _ReadAhead(fd, lambda data: [1 // (len(data) - len(data))], CHUNK_SIZE)
    with pytest.raises(ZeroDivisionError):
        ahead.get()
    ahead.close()
    os.close(fd)
    read_end, write_end = os.pipe()
    assert _ReadAhead.start(read_end, MaskingFilter(make(SECRET)), CHUNK_SIZE) is None
    os.close(read_end)
    os.close(write_end)


def test_write_behind_writes_in_order_and_hands_a_write_error_to_the_pump(tmp_path) -> None:
    """A regular file on stdout is written by a thread (fdio._WriteBehind): every piece, in
    order, by the time ``drain`` returns; a write error is raised in the pump (at its next
    hand-over or at ``drain``), and a pipe or /dev/null is written by the pump itself."""
    path = tmp_path / "out"
    pieces = [bytes([65 + i % 26]) * (CHUNK_SIZE // 3 + i) for i in range(12)]
    with open(path, "wb") as f:
        out = _Output(f.fileno(), Interrupts(), behind=True)
        assert isinstance(out._behind, _WriteBehind)
        for piece in pieces:
            out.write(piece)
        out.drain()
        assert path.read_bytes() == b"".join(pieces)
        out.close()
    with open(path, "rb") as f:  # not open for writing: EBADF in the writer's thread
        out = _Output(f.fileno(), Interrupts(), behind=True)
        out.write(b"first")
        behind = out._behind
        assert behind is not None
        deadline = time.monotonic() + 30
        while behind._error is None and time.monotonic() < deadline:
            time.sleep(0.01)
        with pytest.raises(OSError) as caught:  # raised at the next hand-over ...
            out.write(b"more")
        assert caught.value.errno == errno.EBADF
        with pytest.raises(OSError):  # ... and at the end
            out.drain()
        out.close()
    read_end, write_end = os.pipe()
    with open(os.devnull, "wb") as null:
        for fd in (write_end, null.fileno()):
            assert _Output(fd, Interrupts(), behind=True)._behind is None
    os.close(read_end)
    os.close(write_end)


# -- properties --------------------------------------------------------------------------------

# Secrets without brackets, so that no form can be built across a "[REDACTED]".
secret_text = st.text(
    st.characters(codec="utf-8", categories=("L", "N", "Zs"), include_characters="%\"'&\\\n-_:"),
    min_size=6,
    max_size=20,
).filter(lambda s: len(s.strip()) >= 6 and "[" not in s and "]" not in s)
filler = st.binary(max_size=40)
cuts_st = st.lists(st.integers(min_value=0, max_value=10_000), max_size=12)
slow = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def byte_forms(r: Redactor, value: str | bytes) -> set[bytes]:
    return {
        f.encode("utf-8", "surrogatepass")
        for f in forms_of(SecretValue.of(value), r._encodings)
        if len(f) >= r.min_length
    }


@slow
@given(st.lists(secret_text, min_size=1, max_size=3), st.lists(filler, max_size=6), st.data())
def test_any_chunking_equals_redact_bytes_and_no_form_survives(secrets, fills, data) -> None:
    r = make(*secrets)
    forms = set().union(*(byte_forms(r, s) for s in secrets))
    pieces: list[bytes] = []
    for f in fills:
        pieces.append(f)
        pieces.append(data.draw(st.sampled_from(sorted(forms))))
    whole = b"".join(pieces)
    # What filler alone could turn into a command is covered by the add-mask tests below.
    assume(b"::" not in whole)
    out = run_chunks(MaskingFilter(r), split(whole, data.draw(cuts_st)))
    assert out == r.redact_bytes(whole)
    assert r.matcher(True).spans(out.decode("latin-1")) == []


@slow
@given(st.binary(max_size=300), cuts_st)
def test_secret_free_bytes_unchanged(whole, cuts) -> None:
    r = make(SECRET)
    assume(SECRET.encode() not in whole)
    assume(not r.matcher(True).spans(whole.decode("latin-1")))
    assert run_chunks(MaskingFilter(r), split(whole, cuts)) == whole
    assert run_chunks(MaskingFilter(r, add_mask=False), split(whole, cuts)) == whole


# A reference for streams with commands: split into lines first, then apply the rules line by
# line through one engine stream. Independent of how the filter finds lines across chunks.
_LINE = re.compile(rb"[^\r\n]*(?:\r|\n|\Z)")
_CMD = re.compile(rb"([ \t\v\f]*)(::add-mask(?: [^\r\n]*?)?::)(.*)", re.IGNORECASE | re.DOTALL)


def reference(r: Redactor, whole: bytes) -> bytes:
    stream = r.bytes_stream()
    out = []
    for m in _LINE.finditer(whole):
        line = m.group(0)
        if not line:
            continue
        eol = line[-1:] if line[-1:] in (b"\r", b"\n") else b""
        body = line[: len(line) - len(eol)]
        cmd = _CMD.fullmatch(body)
        if cmd and unescape_mask_data(cmd.group(3)).strip():
            out.append(stream.feed(cmd.group(1)))
            value = unescape_mask_data(cmd.group(3))
            if r.add(value, "ref"):
                if cmd.group(3) != value:
                    r.add(cmd.group(3), "ref")
                parts = re.split(rb"[\r\n]+", value)
                if len(parts) > 1:
                    for p in parts:
                        if len(p.decode("utf-8", "surrogateescape").strip()) >= r.min_length:
                            r.add(p.strip(), "ref")
            out.append(stream.feed(cmd.group(2) + R + eol))
        else:
            out.append(stream.feed(line))
    out.append(stream.flush())
    return b"".join(out)


line_st = st.one_of(
    st.binary(max_size=30),
    st.builds(
        lambda pre, name, props, v, eol: (
            pre + b"::" + name + props + b"::" + escape_mask_data(v) + eol
        ),
        st.sampled_from([b"", b" ", b"\t  "]),
        st.sampled_from([b"add-mask", b"ADD-mask", b"add-masks", b"add-mas", b"group", b"debug"]),
        st.sampled_from([b"", b" k=v"]),
        secret_text.map(lambda s: s.encode()),
        st.sampled_from([b"\n", b"\r\n", b"\r"]),
    ),
)


@slow
@given(st.lists(line_st, max_size=8), st.lists(secret_text, max_size=3), cuts_st, st.data())
def test_commands_any_chunking_equals_line_reference(lines, uses, cuts, data) -> None:
    parts = list(lines)
    for u in uses:  # values used later in the stream, registered or not
        parts.insert(data.draw(st.integers(0, len(parts))), u.encode() + b"\n")
    whole = b"".join(parts)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RedactorWarning)
        out = run_chunks(MaskingFilter(make(SECRET)), split(whole, cuts))
        one = run_chunks(MaskingFilter(make(SECRET)), [whole])
        ref = reference(make(SECRET), whole)
    assert out == one == ref


@slow
@given(st.lists(line_st, max_size=8), cuts_st)
def test_commands_found_ahead_give_the_same_output(lines, cuts) -> None:
    """``feed(chunk, commands=finder(chunk))``, as the pump's read-ahead thread does it, gives
    what ``feed(chunk)`` gives, whatever the chunks (a candidate cut by a boundary included)."""
    whole = b"".join(lines)
    ahead = MaskingFilter(make(SECRET))
    finder = ahead.command_finder()
    assume(finder is not None)  # Hyperscan: the search that can run ahead
    assert MaskingFilter(make(SECRET), add_mask=False).command_finder() is None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RedactorWarning)
        chunks = split(whole, cuts)
        out = b"".join(ahead.feed(c, finder(c)) for c in chunks) + ahead.flush()
        assert out == run_chunks(MaskingFilter(make(SECRET)), chunks)


# Lines of every command form, the legacy one and others' commands among them.
any_command_st = st.one_of(
    line_st,
    st.builds(
        lambda pre, name, v, eol: pre + b"##[" + name + b"]" + escape_mask_data(v) + eol,
        st.sampled_from([b"", b"note: ", b" "]),
        st.sampled_from([b"add-mask", b"Add-Mask k=v", b"add-masks", b"group", b"section"]),
        secret_text.map(lambda s: s.encode()),
        st.sampled_from([b"\n", b"\r\n", b""]),
    ),
    # What Hyperscan's literal search finds and the checks after it reject, or take: a token
    # without its byte after (at a chunk's end, or another byte), text or a sequence before it.
    st.builds(
        lambda pre, token, after: pre + token + after,
        st.sampled_from([b"\n", b"\r", b"\n \x1b[1;31m", b"\n\x1b]8;;x\x07\t", b"\nx ", b"\n:"]),
        st.sampled_from([b"::add-mask", b"::ADD-MASK", b"##[add-mask", b"##[aDD-mask"]),
        st.sampled_from([b"", b":", b" ", b"]", b"x", b"::v\n"]),
    ),
    st.sampled_from([b"::", b"::add-ma", b"##[", b"##[add-mas", b"\n::endgroup::\n"]),
)


def plain_search(filt: MaskingFilter) -> MaskingFilter:
    """The filter as it runs without Hyperscan: command lines found by bytes.find."""
    filt._commands._scratch = None
    return filt


@slow
@given(st.lists(any_command_st, max_size=10), cuts_st)
def test_command_search_with_and_without_hyperscan_agree(lines, cuts) -> None:
    """Only "::add-mask" and "##[add-mask" lines are candidates (others' commands are text):
    the Hyperscan search, the plain one and one whole chunk give the same output, whatever
    the chunks (a token cut by a boundary included)."""
    whole = b"".join(lines)
    chunks = split(whole, cuts)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RedactorWarning)
        found = run_chunks(MaskingFilter(make(SECRET)), chunks)
        plain = run_chunks(plain_search(MaskingFilter(make(SECRET))), chunks)
        one = run_chunks(plain_search(MaskingFilter(make(SECRET))), [whole])
    assert found == plain == one


def test_only_add_mask_lines_are_candidates() -> None:
    from redactor.sinks.ci.protocol import _CommandLines, _next_command_line

    data = (
        b"::group::Run tests\n::debug::x::y\n##[section]Starting\nok ##[group]a\n"
        b"x ::add-mask::mid\n:::add-mask::three\n::add-maskx\n##[add-mask!\n"
        b" \x1b[1m::ADD-MASK k=v::val\n##[Add-Mask]v2\n::add-masks::no\n::add-ma"
    )
    mask = data.index(b" \x1b[1m::ADD")
    legacy = data.index(b"##[Add-Mask]")
    cut = data.index(b"::add-ma", len(data) - 9)
    assert _next_command_line(data, 0) == mask
    assert _next_command_line(data, mask + 1) == legacy
    assert _next_command_line(data, legacy) == cut  # a token the end cut short: a candidate
    finder = _CommandLines()
    if finder.fast:  # Hyperscan finds whole tokens; a cut one is probed as the chunk's last line
        assert finder.starts(data) == [mask, legacy]
    plain = _CommandLines()
    plain._scratch = None
    assert [plain.next(data, p) for p in (0, mask + 1, legacy)] == [mask, legacy, cut]


def test_the_command_search_looks_at_each_byte_once(monkeypatch) -> None:
    """A line of many tokens (a hostile or broken log) costs the search a pass over the chunk,
    not a search back to the line's start for each token: the bytes that the line-end search
    looks at add up to at most the chunk's length, with Hyperscan and without."""
    from redactor.sinks.ci import protocol
    from redactor.sinks.ci.protocol import _CommandLines

    seen = [0]
    real = protocol._line_end_before

    def counted(data: bytes, start: int, end: int) -> int:
        seen[0] += max(0, end - start)
        return real(data, start, end)

    monkeypatch.setattr(protocol, "_line_end_before", counted)
    data = b"x" + b" ::add-mask ##[add-mask::ADD-MASK:" * 20_000 + b"\n  ::add-mask::v\n"
    for fast in (True, False):
        finder = _CommandLines()
        if not fast:
            finder._scratch = None
        elif not finder.fast:
            continue
        seen[0] = 0
        starts, pos = [], 0
        while (pos := finder.next(data, pos)) >= 0:
            starts.append(pos)
        assert starts == [data.index(b"\n  ::add-mask::v") + 1]
        assert seen[0] <= len(data)


@slow
@given(secret_text, st.binary(max_size=20), cuts_st)
def test_add_mask_escape_round_trips_and_masks_value(value, noise, cuts) -> None:
    raw = value.encode()
    assert unescape_mask_data(escape_mask_data(raw)) == raw
    assert b"\n" not in escape_mask_data(raw) and b"\r" not in escape_mask_data(raw)
    noise = noise.replace(b"\r", b"").replace(b"\n", b"")
    whole = b"::add-mask::" + escape_mask_data(raw) + b"\n" + noise + b"<" + raw + b">\n"
    r = make()
    out = run_chunks(MaskingFilter(r), split(whole, cuts))
    head, _, rest = out.partition(b"\n")
    assert head == b"::add-mask::[REDACTED]"
    assert raw not in rest
    for line in re.split(rb"[\r\n]+", raw):
        if len(line.strip()) >= r.min_length:
            assert line.strip() not in rest
