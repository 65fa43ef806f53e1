"""The plan (redactor.engine.plan) against a brute-force oracle: every engine that compiles its
literals finds exactly the matches of the full pattern list (the forms, every window of every
fragment, the detectors' anchors), with the same ids and hold-back lengths.

Small alphabets and short fragments make anchors repeat at many offsets and alignments
(periodic text, fragments that overlap each other), which is where checking by extension could
go wrong; ``form_anchor`` is lowered so that short forms are checked through their anchors too.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from redactor import Redactor, hyperscan_available
from redactor.engine.matchers import AhoCorasickMatcher, HyperscanMatcher, IndexMatcher
from redactor.engine.plan import Plan, fragment_anchor

ENGINES = [AhoCorasickMatcher, IndexMatcher]
if hyperscan_available():
    ENGINES.append(HyperscanMatcher)

small = st.sampled_from("abc")
mixed = st.sampled_from("abcé€\n")  # non-ASCII text around ASCII fragments (UTF-8 offsets)
settings_ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def oracle_matches(
    text: str, forms: list[tuple[str, int]], parts: list[tuple[str, int]], length: int
) -> list[tuple[int, int, int]]:
    """Every occurrence of every form (first id of a repeated form) and of every window of
    every fragment (first id of a repeated fragment), as (start, stop, id)."""
    out = []
    first: dict[str, int] = {}
    for form, sid in forms:
        first.setdefault(form, sid)
    for form, sid in first.items():
        out += [(i, i + len(form), sid) for i in range(len(text)) if text.startswith(form, i)]
    seen: dict[str, int] = {}
    for part, sid in parts:
        seen.setdefault(part, sid)
    for part, sid in seen.items():
        windows = {part[k : k + length] for k in range(len(part) - length + 1)}
        for w in windows:
            out += [(i, i + length, sid) for i in range(len(text)) if text.startswith(w, i)]
    return out


def merged(matches: list[tuple[int, int, int]]) -> list[tuple[int, int, frozenset[int]]]:
    out: list[list] = []
    for s, e, i in sorted(matches):
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
            out[-1][2].add(i)
        else:
            out.append([s, e, {i}])
    return [(s, e, frozenset(ids)) for s, e, ids in out]


def oracle_hold(text: str, patterns: list[str], maxlen: int) -> int:
    limit = min(len(text), maxlen - 1)
    for i in range(len(text) - limit, len(text)):
        suffix = text[i:]
        if any(p.startswith(suffix) for p in patterns):
            return len(text) - i
    return 0


def build_text(pieces: list, sources: list[str]) -> str:
    out = []
    for p in pieces:
        if isinstance(p, tuple):
            src = sources[p[0] % len(sources)]
            a = p[1] % (len(src) + 1)
            b = a + p[2] % (len(src) + 1 - a)
            out.append(src[a:b])  # any piece of a form or fragment, whole ones included
        else:
            out.append(p)
    return "".join(out)


pieces_st = st.lists(
    st.one_of(
        st.text(mixed, max_size=5),
        st.tuples(st.integers(0, 9), st.integers(0, 60), st.integers(0, 60)),
    ),
    max_size=8,
)


@settings_
@given(
    forms=st.lists(st.text(st.sampled_from("abA1\n"), min_size=1, max_size=12), max_size=4),
    parts=st.lists(st.text(small, min_size=7, max_size=30), min_size=1, max_size=3),
    length=st.sampled_from([6, 7, 8, 16]),
    pieces=pieces_st,
)
@pytest.mark.parametrize("engine", ENGINES, ids=lambda c: c.name)
def test_every_engine_finds_exactly_the_full_patterns_matches(
    engine, forms, parts, length, pieces
) -> None:
    # case twins (anchored where they agree) and both spellings of a line break (anchored at
    # the line feed, or at the characters before it)
    forms = forms + [f.lower() for f in forms] + [f.replace("\n", "\r\n") for f in forms]
    form_pairs = [(f, i) for i, f in enumerate(forms)]
    part_pairs = [(p, 10 + i) for i, p in enumerate(parts) if len(p) > length]
    plan = Plan(form_pairs, part_pairs, length, form_anchor=3)
    matcher = engine(plan)
    text = build_text(pieces, forms + parts or ["a"])
    want = oracle_matches(text, form_pairs, part_pairs, length)
    assert matcher.spans(text, with_ids=True) == (merged(want) if want else [])
    patterns = plan.patterns()
    for k in range(len(text) + 1):
        assert matcher.hold_length(text[:k]) == oracle_hold(text[:k], patterns, plan.maxlen)


@settings_
@given(
    parts=st.lists(st.text(small, min_size=9, max_size=40), min_size=1, max_size=3),
    pieces=pieces_st,
)
@pytest.mark.parametrize("engine", ENGINES, ids=lambda c: c.name)
def test_the_bytes_view_gives_the_same_regions(engine, parts, pieces) -> None:
    plan = Plan([], [(p, i) for i, p in enumerate(parts)], 8)
    text = build_text(pieces, parts)
    data = text.encode("utf-8")
    view = data.decode("latin-1")
    ref = merged(oracle_matches(view, [], [(p, i) for i, p in enumerate(parts)], 8))
    matcher = engine(plan, binary=True)
    assert matcher.spans(data, with_ids=True) == ref
    assert matcher.spans(view, with_ids=True) == ref


@settings_
@given(
    secrets=st.lists(
        st.text(st.sampled_from("abcd-_"), min_size=17, max_size=40), min_size=1, max_size=3
    ),
    pieces=pieces_st,
    cuts=st.lists(st.integers(1, 30), max_size=12),
    engine=st.sampled_from(
        ["ahocorasick", "hyperscan"] if hyperscan_available() else ["ahocorasick"]
    ),
)
def test_streams_of_fragments_equal_one_shot_on_every_engine(secrets, pieces, cuts, engine):
    """Partial copies of long secrets, cut anywhere: a stream's output is the one-shot output,
    and the reference and Hyperscan agree (both through the whole Redactor)."""
    r = Redactor(engine=engine, replacement="#")
    for i, s in enumerate(secrets):
        r.add(s, f"s{i}")
    text = build_text(pieces, secrets)
    stream = r.stream()
    out, pos = [], 0
    for c in cuts:
        out.append(stream.feed(text[pos : pos + c]))
        pos += c
    out.append(stream.feed(text[pos:]))
    out.append(stream.flush())
    one_shot = r.redact(text)
    assert "".join(out) == one_shot
    reference = Redactor(engine="ahocorasick", replacement="#", fragment_length=16)
    for i, s in enumerate(secrets):
        reference.add(s, f"s{i}")
    assert reference.redact(text) == one_shot
    # no run of 16 characters of a secret survives
    for s in secrets:
        for k in range(len(s) - 15):
            assert s[k : k + 16] not in one_shot


def test_anchor_length_and_stride_cover_every_window() -> None:
    for length in range(1, 257):
        q, s = fragment_anchor(length)
        assert q + s - 1 == length and q >= 1 and s >= 1
    assert fragment_anchor(16) == (9, 8)


def test_case_twins_share_one_literal_where_they_agree() -> None:
    upper, lower = "5479474A4D754862454C33314965", "5479474a4d754862454c33314965"
    plan = Plan([(upper, 0), (lower, 0)])
    assert plan.raw == ["754862454"]  # 9 characters without a letter, at offset 10
    matcher = AhoCorasickMatcher(plan)
    assert matcher.spans(f"x{lower}y{upper}z{upper.lower()[:-1]}") == [
        (1, 29, None),
        (30, 58, None),
    ]


def test_a_detector_anchor_that_is_also_a_fragment_anchor_keeps_both_roles() -> None:
    part = "abcdefghijklmnopqrstuvwxyz"
    plan = Plan([("cdefghijk", -1)], [(part, 0)], 16)  # part[2:11]: not a literal of the part
    assert plan.anchor_count == 1
    plan = Plan([("ijklmnopq", -1)], [(part, 0)], 16)  # part[8:17]: an anchor of the part
    matcher = AhoCorasickMatcher(plan)
    spans, hits = matcher.scan("xx" + part[4:24] + "!!")
    assert spans == [(2, 22, None)]
    assert hits == [(6, 0)]
    plan = Plan([("abcdefghijklmnop", -1)], [(part, 0)], 16)  # a window: the secret's
    assert plan.anchor_count == 0


def test_a_periodic_value_registers_its_distinct_windows_instead_of_anchors() -> None:
    """ "ab" * 20,000: its anchors would be found at every position of a copy, each at 2,500
    offsets (seconds to check); its two distinct windows are forms instead (milliseconds)."""
    r = Redactor(engine="ahocorasick")
    value = "ab" * 20_000
    r.add(value, "periodic")
    plan = r._current()._plan(False)
    assert plan.parts == []
    assert {"ab" * 8, "ba" * 8} <= set(plan.patterns())
    text = "<" + value[3:] + ">"
    assert r.redact(text) == "<[REDACTED]>"


def test_many_forms_on_one_anchor_are_looked_up_by_length() -> None:
    forms = [("prefix-00" + "x" * k, k) for k in range(20)] + [("prefix-00yz", 99)]
    plan = Plan(forms)
    assert "prefix-00" in plan._big  # 21 forms share it
    for engine in ENGINES:
        spans = engine(plan).spans("..prefix-00xxxxx!.prefix-00yz.", with_ids=True)
        assert spans == [(2, 16, frozenset(range(6))), (18, 29, frozenset({0, 99}))]


@pytest.mark.skipif(not hyperscan_available(), reason="hyperscan is not installed")
def test_hyperscan_splits_many_literals_into_databases_with_the_same_answers(monkeypatch) -> None:
    import redactor.engine.matchers as matchers

    parts = [(f"part-{i:03d}-abcdefghijklmnopqrstuvwxyz", i) for i in range(12)]
    forms = [(f"form{i}\x00tail-{i}", 100 + i) for i in range(4)]  # NUL: an escaped database
    plan = Plan(forms, parts, 16)
    text = "..".join(p[3:30] for p, _ in parts) + "form2\x00tail-2" + parts[5][0]
    want = AhoCorasickMatcher(plan).spans(text, with_ids=True)
    monkeypatch.setattr(matchers, "HS_DB_LITERALS", 5)
    split = HyperscanMatcher(plan)
    assert len(split._dbs) == -(-len([r for r in plan.raw if "\x00" not in r]) // 5) + 1
    assert split.spans(text, with_ids=True) == want
    side_by_side = HyperscanMatcher(plan, side_by_side=True)  # on threads, where there are cores
    assert len(side_by_side._dbs) == len(split._dbs)
    assert side_by_side.spans(text, with_ids=True) == want
    # more databases than threads: each thread takes the next one; the order is kept
    smaller = HyperscanMatcher(plan, side_by_side=True, db_literals=2)
    assert len(smaller._dbs) == -(-len([r for r in plan.raw if "\x00" not in r]) // 2) + 1
    assert smaller.spans(text, with_ids=True) == want
    assert len(want) == 12  # the form touches the whole part after it: one region
