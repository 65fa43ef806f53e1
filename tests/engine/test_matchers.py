"""The engines agree: Hyperscan gives exactly the reference's answers, matcher by matcher and
through every Redactor entry point, for any secrets, encodings, surrounding text and chunking.

The rest of the engine's suite (test_engine, test_stream, test_encodings) runs once per engine
too, through the ``each_engine`` fixture in conftest.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import warnings
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from helpers.chunks import CUTS, SECRET_LISTS, TEXT_PARTS, register, split_at
from helpers.chunks import assemble as assemble_forms
from helpers.cli import SCRIPT as REDACTOR
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import redactor.engine.redactor as engine_module
from redactor import Redactor, hyperscan_available
from redactor.engine.encodings import default_encodings
from redactor.engine.matchers import AhoCorasickMatcher, HyperscanMatcher, IndexMatcher

needs_hyperscan = pytest.mark.skipif(not hyperscan_available(), reason="hyperscan is not installed")

# Characters that stress the UTF-8 offset mapping: ASCII, 2-, 3- and 4-byte characters, lone
# surrogates (what surrogateescape makes of invalid bytes), NUL, line ends.
tricky = st.one_of(
    st.sampled_from('ab\x00\n\r"\\é€😀'),
    st.characters(codec="utf-8"),
    st.characters(min_codepoint=0xDC80, max_codepoint=0xDCFF),
)
settings_ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def assemble(parts: list, patterns: list):
    """Noise and (possibly partial) patterns back to back: adjacency and overlap matter."""
    out = []
    for p in parts:
        if isinstance(p, tuple):
            index, cut = p
            pattern = patterns[index % len(patterns)]
            out.append(pattern[: len(pattern) - cut % 2])  # whole, or missing its last unit
        else:
            out.append(p)
    return out


@settings_
@given(
    st.lists(st.text(tricky, min_size=1, max_size=8), min_size=1, max_size=6, unique=True),
    st.lists(
        st.one_of(st.text(tricky, max_size=6), st.tuples(st.integers(0, 9), st.integers(0, 1))),
        max_size=10,
    ),
)
@needs_hyperscan
def test_text_matchers_agree_on_spans_ids_and_hold_back(patterns, parts) -> None:
    pairs = [(p, i % 3) for i, p in enumerate(patterns)]
    ref, fast = AhoCorasickMatcher(pairs), HyperscanMatcher(pairs)
    text = "".join(assemble(parts, patterns))
    assert fast.spans(text, with_ids=True) == ref.spans(text, with_ids=True)
    assert fast.spans(text) == ref.spans(text)
    assert (fast.maxlen, fast.pattern_count) == (ref.maxlen, ref.pattern_count)
    for k in range(len(text) + 1):
        assert fast.hold_length(text[:k]) == ref.hold_length(text[:k])


def binary_cases(patterns: int, parts: int) -> tuple[st.SearchStrategy, st.SearchStrategy]:
    """Up to ``patterns`` distinct byte patterns, and up to ``parts`` pieces of noise and
    (possibly partial) patterns to assemble a text from."""
    return (
        st.lists(st.binary(min_size=1, max_size=8), min_size=1, max_size=patterns, unique=True),
        st.lists(
            st.one_of(st.binary(max_size=6), st.tuples(st.integers(0, 9), st.integers(0, 1))),
            max_size=parts,
        ),
    )


def latin1_pairs(patterns: list[bytes]) -> list[tuple[str, int]]:
    """Byte patterns as a binary matcher takes them: their latin-1 views, each its own id."""
    return [(p.decode("latin-1"), i) for i, p in enumerate(patterns)]


@settings_
@given(*binary_cases(6, 10))
@needs_hyperscan
def test_binary_matchers_agree_on_bytes_and_latin1_views(patterns, parts) -> None:
    pairs = latin1_pairs(patterns)
    ref, fast = AhoCorasickMatcher(pairs, binary=True), HyperscanMatcher(pairs, binary=True)
    data = b"".join(assemble(parts, patterns))
    view = data.decode("latin-1")
    expected = ref.spans(view, with_ids=True)
    assert fast.spans(data, with_ids=True) == expected
    assert fast.spans(view, with_ids=True) == expected
    assert ref.spans(data, with_ids=True) == expected
    for k in range(len(data) + 1):
        want = ref.hold_length(view[:k])
        assert fast.hold_length(data[:k]) == want
        assert fast.hold_length(view[:k]) == want
        assert ref.hold_length(data[:k]) == want


@settings_
@given(
    st.lists(st.text(tricky, min_size=1, max_size=8), min_size=1, max_size=6, unique=True),
    st.lists(
        st.one_of(st.text(tricky, max_size=6), st.tuples(st.integers(0, 9), st.integers(0, 1))),
        max_size=10,
    ),
    st.lists(st.text(tricky, min_size=1, max_size=3), max_size=3),
    st.booleans(),
)
def test_the_interim_index_matcher_agrees_with_the_reference(patterns, parts, anchors, binary):
    """The matcher that answers while the real one builds (IndexMatcher): the reference's
    regions, ids, anchor hits (an anchor that is also a form included), hold-back lengths and
    counts, on text and on the bytes path, patterns of different lengths sharing heads."""

    def view(s: str) -> str:
        return s.encode("utf-8", "surrogatepass").decode("latin-1") if binary else s

    pairs = [(view(p), i % 3) for i, p in enumerate(patterns)]
    pairs += [(view(a), -1 - k) for k, a in enumerate(dict.fromkeys(anchors))]
    ref, interim = AhoCorasickMatcher(pairs, binary), IndexMatcher(pairs, binary)
    text = view("".join(assemble(parts, patterns + anchors)))
    assert interim.scan(text, with_ids=True) == ref.scan(text, with_ids=True)
    assert interim.spans(text) == ref.spans(text)
    counts = ("maxlen", "pattern_count", "anchor_count")
    assert [getattr(interim, c) for c in counts] == [getattr(ref, c) for c in counts]
    for k in range(len(text) + 1):
        assert interim.hold_length(text[:k]) == ref.hold_length(text[:k])
    if binary:
        data = text.encode("latin-1")
        assert interim.scan(data, with_ids=True) == ref.scan(data, with_ids=True)
        assert interim.hold_length(data) == ref.hold_length(data)


secret_chars = st.characters(
    codec="utf-8", categories=("L", "N", "P", "S", "Zs"), include_characters="\"'\\\n\t%&<"
)
secrets_st = st.lists(
    st.one_of(
        st.text(secret_chars, min_size=6, max_size=20).filter(lambda s: len(s.strip()) >= 6),
        st.binary(min_size=6, max_size=12),
    ),
    min_size=1,
    max_size=3,
)


@settings_
@given(
    secrets_st,
    st.sets(st.sampled_from(default_encodings()), min_size=1),
    st.lists(st.one_of(st.text(tricky, max_size=12), st.integers(0, 99)), max_size=8),
    st.lists(st.integers(0, 10_000), max_size=8),
)
@needs_hyperscan
# A secret's line too short to register alone warns, for both redactors alike.
@pytest.mark.filterwarnings("ignore::redactor.RedactorWarning")
def test_redactors_agree_on_every_entry_point(secrets, encodings, parts, cuts) -> None:
    ref = Redactor(engine="ahocorasick", encodings=sorted(encodings))
    fast = Redactor(engine="hyperscan", encodings=sorted(encodings))
    forms = register(secrets, ref, fast)
    pieces = [p if isinstance(p, str) else forms[p % len(forms)] if forms else "" for p in parts]
    text = "".join(pieces)
    assert fast.redact(text) == ref.redact(text)
    assert fast.redact_with_counts(text) == ref.redact_with_counts(text)
    assert fast.contains_secret(text) == ref.contains_secret(text)
    data = text.encode("utf-8", "surrogatepass") + b"".join(
        s for s in secrets if isinstance(s, bytes)
    )
    assert fast.redact_bytes(data) == ref.redact_bytes(data)
    # Streams: the same output at every feed, and the same bytes held back.
    for make, whole in ((Redactor.stream, text), (Redactor.bytes_stream, data)):
        a, b = make(ref), make(fast)
        for piece in split_at(whole, cuts):
            assert b.feed(piece) == a.feed(piece)
            assert b.pending == a.pending
        assert b.flush() == a.flush()


@needs_hyperscan
def test_auto_moves_to_hyperscan_once_the_work_pays_and_output_does_not_change(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(engine_module, "AUTO_MIN_WORK", 200)
    monkeypatch.setattr(engine_module, "AUTO_WORK_PER_PATTERN_CHAR", 0)
    auto = Redactor(engine="auto")
    ref = Redactor(engine="ahocorasick")
    for r in (auto, ref):
        r.add("hunter2-password", name="db")
    assert auto.matcher().name == "ahocorasick"
    line = "user=admin password=hunter2-password ok\n"
    s_auto, s_ref = auto.stream(), ref.stream()
    outputs = []
    for i in range(10):  # 10 x 41 chars: the switch happens in the middle of the stream
        piece = line[: 20 + i] if i % 2 else line
        outputs.append(s_auto.feed(piece))
        assert outputs[-1] == s_ref.feed(piece)
        if i == 6:
            assert auto.settle(timeout=60)  # the background compile, asked for by now
    assert auto.matcher().name == "hyperscan"
    assert s_auto.flush() == s_ref.flush()
    # A new secret makes a new snapshot, which stays on the fast engine once its own database
    # (with the new secret) is compiled, and on the reference until then.
    auto.add("second-secret-value", name="other")
    assert auto.redact("second-secret-value hunter2-password") == "[REDACTED] [REDACTED]"
    assert auto.settle(timeout=60)
    assert auto.matcher().name == "hyperscan"
    assert auto.redact("second-secret-value hunter2-password") == "[REDACTED] [REDACTED]"


@needs_hyperscan
def test_auto_starts_on_hyperscan_for_one_large_input(monkeypatch) -> None:
    monkeypatch.setattr(engine_module, "AUTO_MIN_WORK", 1000)
    monkeypatch.setattr(engine_module, "AUTO_WORK_PER_PATTERN_CHAR", 0)
    r = Redactor(engine="auto")
    r.add("hunter2-password")
    assert r.redact("x" * 999 + "hunter2-password") == "x" * 999 + "[REDACTED]"
    assert r.settle(timeout=60)  # compiled in the background, asked for by that first call
    assert r.matcher().name == "hyperscan"


@needs_hyperscan
def test_one_fast_matcher_serves_many_threads_at_once() -> None:
    """Hyperscan scratch space is per thread: a shared one fails with 'scratch in use'."""
    r = Redactor(engine="hyperscan")
    r.add("hunter2-password", name="db")
    block = b"log line without anything\n" * 40_000 + b"pw=hunter2-password\n"
    expected = b"log line without anything\n" * 40_000 + b"pw=[REDACTED]\n"
    results: list[bytes] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(5):
                results.append(r.redact_bytes(block))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(results) == 20 and set(results) == {expected}


@needs_hyperscan
def test_patterns_with_nul_bytes_are_matched_whole() -> None:
    # The binding passes literals as C strings; these go through escaped expressions instead.
    r = Redactor(engine="hyperscan", encodings=["plain"])
    r.add(b"\x01\x00\x00\x00\x00\x02", name="nul")
    assert r.redact_bytes(b"a\x01\x00\x00\x00\x00\x02b\x01\x00c") == b"a[REDACTED]b\x01\x00c"


@needs_hyperscan
def test_engine_names_are_checked() -> None:
    with pytest.raises(ValueError, match=r"unknown engine 'fastest': choose one of auto, "):
        Redactor(engine="fastest")
    assert Redactor(engine="HyperScan").engine == "hyperscan"


@needs_hyperscan
def test_engine_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDACTOR_ENGINE", "hyperscan")
    assert Redactor().engine == "hyperscan"
    assert Redactor(engine="ahocorasick").engine == "ahocorasick"
    monkeypatch.setenv("REDACTOR_ENGINE", "nope")
    with pytest.raises(ValueError, match="unknown REDACTOR_ENGINE 'nope'"):
        Redactor()


@needs_hyperscan
def test_pickled_fast_redactor_keeps_its_engine() -> None:
    import pickle

    r = Redactor(engine="hyperscan")
    r.add("hunter2-password")
    r.redact("warm up hunter2-password")
    copy = pickle.loads(pickle.dumps(r))
    assert copy.engine == "hyperscan"
    assert copy.redact("a hunter2-password b") == "a [REDACTED] b"
    assert copy.matcher().name == "hyperscan"


# -- without the package ------------------------------------------------------------------------


@pytest.fixture
def no_hyperscan(tmp_path: Path) -> dict[str, str]:
    """An environment in which ``import hyperscan`` fails, as where the extra is not installed."""
    (tmp_path / "hyperscan.py").write_text("raise ImportError('No module named hyperscan')\n")
    env = dict(os.environ)
    env["PYTHONPATH"] = str(tmp_path)
    env.pop("REDACTOR_ENGINE", None)
    return env


def test_without_hyperscan_auto_is_the_reference_and_asking_for_it_says_how(no_hyperscan) -> None:
    code = textwrap.dedent(
        """
        import redactor
        from redactor import Redactor, EngineUnavailable
        print(redactor.hyperscan_available())
        r = Redactor()
        r.add("hunter2-password")
        print(r.engine, r.redact("x" * 5_000_000 + " hunter2-password")[-12:], r.matcher().name)
        try:
            Redactor(engine="hyperscan")
        except EngineUnavailable as exc:
            print(exc)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=no_hyperscan, capture_output=True, text=True, check=True
    ).stdout
    assert out.splitlines() == [
        "False",
        "auto x [REDACTED] ahocorasick",
        "the hyperscan engine needs the 'hyperscan' package: pip install 'redactor[fast]' "
        "(ImportError: No module named hyperscan)",
    ]


def run_filter(env: dict[str, str], data: bytes, *options: str) -> subprocess.CompletedProcess:
    """``redactor filter`` with DB_PASSWORD as its one secret, ``data`` on stdin."""
    return subprocess.run(
        [REDACTOR, "filter", "--secret-env", "DB_PASSWORD", "--no-config", *options],
        input=data,
        env={**env, "DB_PASSWORD": "hunter2-password"},
        capture_output=True,
    )


def test_cli_without_hyperscan(no_hyperscan) -> None:
    data = b"connect password=hunter2-password\n"
    auto = run_filter(no_hyperscan, data)
    assert (auto.returncode, auto.stdout, auto.stderr) == (0, b"connect password=[REDACTED]\n", b"")
    fast = run_filter(no_hyperscan, data, "--engine", "hyperscan")
    assert fast.returncode == 2 and fast.stdout == b""
    assert fast.stderr.decode() == (
        "redactor: error: the hyperscan engine needs the 'hyperscan' package: "
        "pip install 'redactor[fast]' (ImportError: No module named hyperscan)\n"
    )


@needs_hyperscan
@pytest.mark.parametrize("engine", ["ahocorasick", "hyperscan"])
def test_cli_engine_option_and_environment(engine: str) -> None:
    data = b"a hunter2-password b aHVudGVyMi1wYXNzd29yZA== c\n"
    out = run_filter({**os.environ, "REDACTOR_ENGINE": engine}, data)
    assert (out.returncode, out.stdout) == (0, b"a [REDACTED] b [REDACTED] c\n")
    bad = run_filter({**os.environ, "REDACTOR_ENGINE": "turbo"}, data)
    assert (bad.returncode, bad.stdout) == (2, b"")
    assert bad.stderr == (
        b"redactor: error: unknown engine 'turbo': choose one of auto, ahocorasick, hyperscan\n"
    )


def test_auto_falls_back_to_the_reference_when_hyperscan_fails(monkeypatch) -> None:
    """Fault injection: a compile error (out of memory, an unsupported CPU) must not break output."""
    from redactor import RedactorWarning
    from redactor.engine.matchers import matcher_class as real

    class Broken:
        def __init__(self, patterns, binary=False, **options) -> None:
            raise MemoryError("hunter2-password")  # a message that quotes a pattern

    monkeypatch.setattr(
        engine_module, "matcher_class", lambda e: Broken if e == "hyperscan" else real(e)
    )
    monkeypatch.setattr(engine_module, "AUTO_MIN_WORK", 10)
    monkeypatch.setattr(engine_module, "AUTO_WORK_PER_PATTERN_CHAR", 0)
    r = Redactor(engine="auto")
    r.add("hunter2-password", name="db")
    # The compile that fails runs in the background: the call that asked for it is answered by
    # the reference, and the next call says that the fast engine failed.
    assert r.redact("x" * 20 + " hunter2-password") == "x" * 20 + " [REDACTED]"
    assert r.settle(timeout=60)
    with pytest.warns(RedactorWarning) as caught:
        assert r.redact("x" * 20 + " hunter2-password") == "x" * 20 + " [REDACTED]"
    assert [str(w.message) for w in caught] == [
        "the hyperscan engine failed (MemoryError); using the reference engine"
    ]
    r.add("second-secret-value", name="other")  # a new snapshot does not try again
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert r.redact("second-secret-value " * 3) == "[REDACTED] " * 3
        r.announce(1000)
        assert r.matcher().name == "ahocorasick"
    forced = Redactor(engine="hyperscan")
    forced.add("hunter2-password")
    with pytest.raises(MemoryError):
        forced.redact("hunter2-password")


# -- large texts: the databases shared out between two threads -----------------------------------


@contextmanager
def shared_scans() -> Iterator[None]:
    """Every Hyperscan scan of several databases shared with a helper thread of its own (also
    where the process may use only one core, where scans are never shared), and matchers built
    meanwhile compiled as several databases of at most 3 literals."""
    import redactor.engine.matchers as matchers_module

    helper = matchers_module._Helper()
    with pytest.MonkeyPatch.context() as mp, helper.pool:
        mp.setattr(matchers_module, "PARALLEL_SCAN_MIN", 1)
        mp.setattr(matchers_module, "HS_DB_LITERALS", 3)
        mp.setattr(matchers_module, "_helper_state", (os.getpid(), helper))
        yield


@settings_
@given(*binary_cases(9, 12))
@needs_hyperscan
def test_a_scan_shared_between_two_threads_finds_every_hit_once(patterns, parts) -> None:
    pairs = latin1_pairs(patterns)
    ref = AhoCorasickMatcher(pairs, binary=True)
    data = b"".join(assemble(parts, patterns))
    with shared_scans():
        fast = HyperscanMatcher(pairs, binary=True)
        assert sorted(fast._scan(data)) == sorted(fast._scan_dbs(data, 0, 1))
        assert fast.spans(data, with_ids=True) == ref.spans(data.decode("latin-1"), with_ids=True)


@needs_hyperscan
def test_a_large_text_shared_between_two_threads_gives_the_same_output() -> None:
    secrets = [f"secret-number-{i:02d}-value" for i in range(8)]
    block = "".join(f"{i} pw={s}\n" for i, s in enumerate(secrets * 50))
    with shared_scans():
        r = Redactor(engine="hyperscan")
        for i, value in enumerate(secrets):
            r.add(value, name=f"s{i}")
        assert len(r.matcher(binary=True)._dbs) > 2
        expected = "".join(f"{i} pw=[REDACTED]\n" for i in range(len(secrets) * 50))
        assert r.redact_bytes(block.encode()) == expected.encode()
        assert r.redact_with_counts(block) == (
            expected,
            Counter({f"s{i}": 50 for i in range(len(secrets))}),
        )


@settings_
@given(SECRET_LISTS, TEXT_PARTS, CUTS)
@needs_hyperscan
def test_streams_over_shared_scans_give_the_one_shot_reference_output(secrets, parts, cuts):
    """Every form (base64, JSON, repr, URL, ...) in a text cut anywhere, a secret split across
    two writes included: text and bytes streams on shared scans write what the reference writes
    for the whole text at once."""
    ref = Redactor(engine="ahocorasick")
    text = assemble_forms(parts, register(secrets, ref))
    raw = text.encode("utf-8", "surrogatepass")
    with shared_scans():
        fast = Redactor(engine="hyperscan")
        register(secrets, fast)
        assert len(fast.matcher()._dbs) > 1 and len(fast.matcher(binary=True)._dbs) > 1
        s_text, s_bytes = fast.stream(), fast.bytes_stream()
        out = "".join(s_text.feed(piece) for piece in split_at(text, sorted(cuts)))
        assert out + s_text.flush() == ref.redact(text)
        got = b"".join(s_bytes.feed(piece) for piece in split_at(raw, sorted(cuts)))
        assert got + s_bytes.flush() == ref.redact_bytes(raw)


@needs_hyperscan
def test_a_scan_that_finds_the_helper_busy_does_every_database_itself() -> None:
    import redactor.engine.matchers as matchers_module

    with shared_scans():
        r = Redactor(engine="hyperscan")
        r.add("hunter2-password", name="db")
        r.add("other-secret-value", name="other")
        assert len(r.matcher(binary=True)._dbs) > 1
        helper = matchers_module._helper()
        assert helper is not None
        release = threading.Event()
        busy = helper.start(release.wait, 60)  # another thread's scan, say, that takes long
        assert busy is not None and helper.start(print) is None
        try:
            line = b"a=hunter2-password b=other-secret-value\n" * 100
            assert r.redact_bytes(line) == b"a=[REDACTED] b=[REDACTED]\n" * 100  # not waiting
            assert not busy.done()
        finally:
            release.set()
        assert busy.result(60) is True
        again = helper.start(int, "7")  # free again once the long one has ended
        assert again is not None and again.result(60) == 7


@needs_hyperscan
def test_one_core_never_shares_a_scan_and_a_forked_child_makes_its_own_helper() -> None:
    """In fresh interpreters: the helper thread is per process, made on first need."""
    if not hasattr(os, "sched_setaffinity") or not hasattr(os, "fork"):
        pytest.skip("needs Linux")
    code = textwrap.dedent(
        """
        import os, sys
        from redactor import Redactor
        from redactor.engine import matchers
        if sys.argv[1] == "one":
            os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
            print(matchers._helper())
            sys.exit(0)
        matchers.HS_DB_LITERALS = 3  # several databases
        r = Redactor(engine="hyperscan")
        r.add("hunter2-password", name="db")
        block = b"pw=hunter2-password\\n" * 100_000  # 2 MB: shared where there are two cores
        assert r.redact_bytes(block) == b"pw=[REDACTED]\\n" * 100_000
        parent = matchers._helper()
        assert parent is not None
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the parent's helper thread did not come along
            ok = r.redact_bytes(block) == b"pw=[REDACTED]\\n" * 100_000
            os.write(write, f"{ok} {matchers._helper() is not parent}".encode())
            os._exit(0)
        os.close(write)
        print(os.read(read, 100).decode())
        os.waitpid(pid, 0)
        """
    )
    one = subprocess.run(
        [sys.executable, "-c", code, "one"], capture_output=True, text=True, timeout=60
    )
    assert (one.stdout, one.returncode) == ("None\n", 0), one.stderr
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("one core here: no helper to leave behind at a fork")
    forked = subprocess.run(
        [sys.executable, "-c", code, "fork"], capture_output=True, text=True, timeout=60
    )
    assert (forked.stdout, forked.returncode) == ("True True\n", 0), forked.stderr
