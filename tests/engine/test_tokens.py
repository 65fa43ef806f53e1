"""The catalog of token detectors: every kind finds tokens built to its documented format with the
exact span, and not the near misses (a wrong checksum, one character short, inside a longer word,
a placeholder); the catalog agrees with docs/detectors.md.

``Detector.verify`` is checked directly at every anchor; ``Redactor(detect=[kind])`` end to end
on both engines (the module's second half)."""

from __future__ import annotations

import base64
import json
import random
import re
from pathlib import Path

import pytest
from helpers.chunks import split_at
from helpers.tokenfactory import ALNUM, B64URL, GENERATORS, HEX, b64url, rand, sample, with_crc

from redactor import Redactor
from redactor.engine.detect import Detector
from redactor.engine.tokens import CATALOG, detector_names, get_detector, resolve_detectors

DOCS = Path(__file__).resolve().parents[2] / "docs" / "detectors.md"
KINDS = [d.kind for d in CATALOG]
SAMPLES_PER_KIND = 60


def spans(detector: Detector, text: str) -> list[tuple[int, int]]:
    """What the engine finds with this one detector: ``verify`` at every anchor occurrence."""
    found = set()
    for anchor in detector.anchors:
        at = text.find(anchor)
        while at >= 0:
            hit = detector.verify(text, at)
            if hit is not None:
                assert hit.kind == detector.kind
                found.add((hit.start, hit.stop))
            at = text.find(anchor, at + 1)
    return sorted(found)


def samples(kind: str, n: int = SAMPLES_PER_KIND, seed: int = 15):
    rnd = random.Random(f"{seed}-{kind}")
    return [sample(kind, rnd) for _ in range(n)]


# -- the catalog as a whole ---------------------------------------------------------------------


def documented() -> dict[str, dict[str, str]]:
    """docs/detectors.md's table of kinds: kind -> {default, max length, source}."""
    rows = {}
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        m = re.match(
            r"\| `([a-z0-9-]+)` \| (default|opt-in) \| ([\d,]+) \| <(https://[^>]+)> \|", line
        )
        if m:
            rows[m[1]] = {"default": m[2], "max_length": m[3], "source": m[4]}
    return rows


def test_every_kind_has_a_generator_and_a_documented_row() -> None:
    assert sorted(GENERATORS) == sorted(KINDS)
    docs = documented()
    assert sorted(docs) == sorted(KINDS)
    for d in CATALOG:
        row = docs[d.kind]
        assert row == {
            "default": "default" if d.default else "opt-in",
            "max_length": f"{d.max_length:,}",
            "source": d.source,
        }, d.kind


@pytest.mark.parametrize("kind", KINDS)
def test_source_url_and_max_length_cover_every_valid_example(kind: str) -> None:
    d = get_detector(kind)
    assert d.source.startswith("https://") and " " not in d.source
    assert d.description
    longest = 0
    for s in samples(kind, 200, seed=99):
        anchor_at = min(
            (i for a in d.anchors if (i := s.text.rfind(a, 0, s.start + len(a))) >= 0),
            default=-1,
        )
        assert anchor_at >= 0, s
        longest = max(longest, s.stop - anchor_at)
    assert d.max_length >= longest


def test_the_default_set_and_resolving_detect() -> None:
    opt_in = {"stripe-test-key"}
    assert detector_names(default_only=True) == sorted(set(KINDS) - opt_in)
    assert [d.kind for d in resolve_detectors(True)] == detector_names(default_only=True)
    assert resolve_detectors(False) == ()
    assert [d.kind for d in resolve_detectors(["jwt", "stripe-test-key"])] == [
        "jwt",
        "stripe-test-key",
    ]
    assert len(resolve_detectors(["all"])) == len(KINDS)


# -- valid examples: the exact span --------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_valid_examples_are_found_with_the_exact_span(kind: str) -> None:
    d = get_detector(kind)
    for s in samples(kind):
        assert spans(d, s.text) == [(s.start, s.stop)], s
        # In context: inside JSON, after a word and a space, at the end of a sentence.
        for before, after in (('{"v": "', '"}'), ("value ", ". Next"), ("(", ")\n")):
            text = before + s.text + after
            at = len(before)
            assert spans(d, text) == [(at + s.start, at + s.stop)], (kind, text)


CONCRETE = {
    # Documented example values and hand-built ones whose exact span is checked.
    "aws-access-key-id": ("key AKIAIOSFODNN7EXAMPLE end", "AKIAIOSFODNN7EXAMPLE"),
    "aws-secret-access-key": (
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    ),
    "url-password": (
        "connect postgresql://etl:p%40ss-W0rd@db.internal:5432/sales now",
        "p%40ss-W0rd",
    ),
    "authorization-header": (
        "{'Authorization': 'Basic ZXRsX3NlcnZpY2U6VHIwdWI0ZG9yJjM='}",
        "ZXRsX3NlcnZpY2U6VHIwdWI0ZG9yJjM=",
    ),
    "private-key": (
        '{"key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\n'
        '-----END PRIVATE KEY-----\\n"}',
        "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\n"
        "-----END PRIVATE KEY-----",
    ),
}


@pytest.mark.parametrize("kind", sorted(CONCRETE))
def test_concrete_examples(kind: str) -> None:
    text, secret = CONCRETE[kind]
    start = text.index(secret)
    assert spans(get_detector(kind), text) == [(start, start + len(secret))]


def test_a_private_key_without_end_hides_the_header_and_its_body_lines_only() -> None:
    head = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nMIIEpAIBAAKCAQEA3\nq9x+/Zz=="
    text = head + "\n\nTraceback (most recent call last):\n"
    assert spans(get_detector("private-key"), text) == [(0, len(head))]
    # With an END of another label, the same: the labels must match.
    other = head + "\n-----END EC PRIVATE KEY-----\n"
    assert spans(get_detector("private-key"), other) == [(0, len(head))]


def test_pgp_private_key_block() -> None:
    block = (
        "-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\n\nlQOYBF0iA7kBCAC2\n=Vx0S\n"
        "-----END PGP PRIVATE KEY BLOCK-----"
    )
    assert spans(get_detector("private-key"), f"x\n{block}\ny") == [(2, 2 + len(block))]


FIXED_LENGTH = [
    "aws-access-key-id",
    "github-token",
    "github-fine-grained-token",
    "anthropic-api-key",
    "google-api-key",
    "databricks-token",
    "huggingface-token",
    "npm-token",
]


@pytest.mark.parametrize("kind", FIXED_LENGTH)
def test_a_fixed_length_token_with_one_more_character_is_none(kind: str) -> None:
    """The look-ahead past the token sees its next character (``Detector.lookahead``)."""
    d = get_detector(kind)
    for s in samples(kind, 20):
        for extra in "aZ_":
            assert spans(d, s.text + extra) == [], (kind, s.text + extra)


# -- near misses ----------------------------------------------------------------------------------


def _bad_crc(prefix: str) -> str:
    token = with_crc(prefix, random.Random(5))
    last = token[-1]
    return token[:-1] + ("a" if last != "a" else "b")


def _jwt_without_alg() -> str:
    header = b64url(json.dumps({"typ": "JWT"}).encode())
    payload = b64url(json.dumps({"sub": "1"}).encode())
    return f"{header}.{payload}.c2lnbmF0dXJl"


R = random.Random(3)
AWS_SECRET = rand(R, ALNUM, 40)
NEAR_MISSES: dict[str, list[str]] = {
    "aws-access-key-id": [
        "AKIA" + "IOSFODNN7EXAMPL",  # 15 after the prefix
        "AKIAIOSFODNN7EXAMPLEX",  # 17
        "xAKIAIOSFODNN7EXAMPLE",  # inside a longer word
        "AKIAiosfodnn7example",  # lower case
        "AXYZIOSFODNN7EXAMPLE",  # not a documented prefix
    ],
    "aws-secret-access-key": [
        "aws_secret_access_key = " + AWS_SECRET[:39],
        "aws_secret_access_key = " + AWS_SECRET + "A",
        "aws_secret_access_key = ${AWS_SECRET_ACCESS_KEY}",
        "secret_key = " + AWS_SECRET,  # no AWS key name
    ],
    "github-token": [
        _bad_crc("ghp_"),
        with_crc("ghp_", random.Random(6))[:-1],
        "x" + with_crc("ghp_", random.Random(7)),
        with_crc("ghp_", random.Random(8)) + "Z",
        "ghx_" + with_crc("ghp_", random.Random(9))[4:],
    ],
    "github-fine-grained-token": [
        f"github_pat_{rand(R, ALNUM, 21)}_{rand(R, ALNUM, 59)}",
        f"github_pat_{rand(R, ALNUM, 22)}{rand(R, ALNUM, 60)}",
        f"my_github_pat_{rand(R, ALNUM, 22)}_{rand(R, ALNUM, 59)}",
    ],
    "gitlab-token": [
        "glpat-" + rand(R, ALNUM, 19),
        "xglpat-" + rand(R, ALNUM, 20),
        "glxyz-" + rand(R, ALNUM, 20),
    ],
    "slack-token": ["xoxb-not-a-token-here", "xoxb-12345", "axoxb-1234-" + rand(R, ALNUM, 24)],
    "slack-webhook": [
        "https://hooks.slack.com/services/T0000/B0000/short",
        "https://hooks.slack.com/services/",
    ],
    "stripe-live-key": [
        "sk_live_" + rand(R, ALNUM, 23),
        "pk_live_" + rand(R, ALNUM, 24),  # publishable: not a secret
        "sk_test_" + rand(R, ALNUM, 24),  # opt-in, another kind
        "ask_live_" + rand(R, ALNUM, 24),
    ],
    "stripe-test-key": ["sk_test_" + rand(R, ALNUM, 23), "pk_test_" + rand(R, ALNUM, 30)],
    "openai-api-key": [
        f"sk-{rand(R, ALNUM, 20)}T3BlbkFX{rand(R, ALNUM, 20)}",
        f"sk-{rand(R, ALNUM, 19)}T3BlbkFJ{rand(R, ALNUM, 20)}",
        "sk-proj-" + rand(R, B64URL, 39),
        "task-proj-" + rand(R, B64URL, 80),
        "sk-ant-api03-" + rand(R, B64URL, 93) + "AA",  # Anthropic's
    ],
    "anthropic-api-key": [
        "sk-ant-api03-" + rand(R, B64URL, 92) + "AA",
        "sk-ant-api03-" + rand(R, B64URL, 93) + "AB",
        "sk-ant-api02-" + rand(R, B64URL, 93) + "AA",
    ],
    "google-api-key": ["AIza" + rand(R, ALNUM, 34), "xAIza" + rand(R, ALNUM, 35)],
    "databricks-token": [
        "dapi" + rand(R, HEX, 31),
        "dapi" + rand(R, HEX, 31) + "g",
        "rapidapi" + rand(R, HEX, 32),
    ],
    "huggingface-token": [
        "hf_" + rand(R, "abcdefghijklmnop", 33),
        "hf_" + rand(R, "abcdefghijklmnop", 33) + "1",
        "self_hf_" + rand(R, "abcdefghijklmnop", 34),
    ],
    "npm-token": [_bad_crc("npm_"), with_crc("npm_", random.Random(4))[:-1]],
    "pypi-token": ["pypi-AgEIcHlwaS5vcmc" + rand(R, B64URL, 49), "pypi-AgEIcHlwaS5vcmc"],
    "azure-storage-key": [
        "AccountKey=" + base64.b64encode(bytes(63)).decode(),  # 63 bytes: 84 characters
        "AccountKey=" + rand(R, ALNUM, 87) + "=",
        "AccountKey=<your-account-key>",
    ],
    "azure-sas-signature": [
        "https://a.blob.core.windows.net/c?sv=2022&sig=" + base64.b64encode(bytes(31)).decode(),
        "signature: sig=" + base64.b64encode(bytes(32)).decode(),  # not in a query
        "https://a.blob.core.windows.net/c?sv=2022&sig=<signature>",
    ],
    "jwt": [
        _jwt_without_alg(),
        "eyJhbGciOiJIUzI1NiJ9." + b64url(b'{"a": 1}'),  # two parts
        "eyJub3QganNvbg.eyJhIjoxfQ.c2ln",  # header is not JSON
    ],
    "private-key": [
        "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOC\n-----END PUBLIC KEY-----",
        'if line.startswith("-----BEGIN RSA PRIVATE KEY-----"):\n    pass',
        '_SK_START = b"-----BEGIN OPENSSH PRIVATE KEY-----"\n'
        '_SK_END = b"-----END OPENSSH PRIVATE KEY-----"',
    ],
    "url-password": [
        "postgresql://user:password@db.example.com/app",
        "postgresql://user:***@db.example.com/app",
        "postgresql://user:${DB_PASSWORD}@db.example.com/app",
        "postgresql://user:<password>@db.example.com/app",
        "postgresql://user:{password}@db.example.com/app",
        "redis://:P%40SSW0RD@cache:6379",
        "postgresql://postgres:postgres@localhost/app",  # the default, user = password
        "postgresql://user:@db.example.com/app",  # empty
        "see ftp://user:s3cr3t-Pw@ for details",  # no host
        "http://[::1]:8080/index.html",
        "http://example.com:8080/a@b",
        "://user:s3cr3t-Pw@host",  # no scheme
    ],
    "authorization-header": [
        "Authorization: Bearer <token>",
        "Authorization: Bearer ${GITHUB_TOKEN}",
        "Authorization: Bearer YOUR_ACCESS_TOKEN",
        'headers = {"Authorization": "Bearer " + token}',
        'headers = {"Authorization": f"Bearer {token}"}',
        "Authorization: Basic " + base64.b64encode(b"user:password").decode(),
        "Authorization: Bearer abc",
        "Authorization: Digest username=alice",
    ],
}


@pytest.mark.parametrize("kind", KINDS)
def test_near_misses_are_not_found(kind: str) -> None:
    d = get_detector(kind)
    assert NEAR_MISSES[kind], kind
    for text in NEAR_MISSES[kind]:
        assert spans(d, text) == [], (kind, text)


def test_no_detector_finds_another_kinds_tokens() -> None:
    """The kinds do not overlap: each sample is found by its own detector only (an Authorization
    header's credential and a URL password are contexts, built of random characters)."""
    for kind in KINDS:
        for s in samples(kind, 10):
            found = {d.kind for d in CATALOG if spans(d, s.text)}
            assert found == {kind}, (kind, s.text, found)


# -- end to end: Redactor(detect=...) on both engines ---------------------------------------------


def hidden(text: str, secret_spans: list[tuple[int, int]], label: str = "[REDACTED]") -> str:
    out, last = [], 0
    for start, stop in sorted(secret_spans):
        out += [text[last:start], label]
        last = stop
    return "".join([*out, text[last:]])


@pytest.mark.usefixtures("each_engine")
@pytest.mark.parametrize("kind", KINDS)
def test_redactor_hides_each_kind_exactly(kind: str) -> None:
    for s in samples(kind, 12, seed=21):
        text = f"2026-12-01 INFO got {s.text} from the server\n"
        start = text.index(s.text) + s.start
        expected = hidden(text, [(start, start + len(s.secret))])
        assert Redactor(detect=[kind]).redact(text) == expected
        labelled = Redactor(detect=[kind], replacement="[REDACTED:{name}]")
        assert labelled.redact(text) == hidden(
            text, [(start, start + len(s.secret))], f"[REDACTED:{kind}]"
        )


@pytest.mark.usefixtures("each_engine")
@pytest.mark.parametrize("kind", KINDS)
def test_redactor_leaves_near_misses_alone(kind: str) -> None:
    r = Redactor(detect=[kind])
    for text in NEAR_MISSES[kind]:
        assert r.redact(text) == text


@pytest.mark.usefixtures("each_engine")
def test_the_default_set_hides_one_of_every_default_kind_in_one_text() -> None:
    parts, spans_ = [], []
    pos = 0
    for kind in KINDS:
        s = samples(kind, 1, seed=33)[0]
        line = f"[{kind}] {s.text}\n"
        parts.append(line)
        if get_detector(kind).default:
            at = pos + len(f"[{kind}] ") + s.start
            spans_.append((at, at + len(s.secret)))
        pos += len(line)
    text = "".join(parts)
    assert Redactor(detect=True).redact(text) == hidden(text, spans_)
    assert Redactor(detect=False).redact(text) == text


def _streamed(r: Redactor, text: str, cuts) -> str:
    s = r.stream()
    out = [s.feed(piece) for piece in split_at(text, cuts)]
    out.append(s.flush())
    return "".join(out)


@pytest.mark.usefixtures("each_engine")
@pytest.mark.parametrize("kind", KINDS)
def test_any_chunking_of_each_kind_equals_one_shot(kind: str) -> None:
    """A stream holds an open anchor back for the kind's reach: one character at a time and cuts
    through the token give the one-shot output."""
    rnd = random.Random(f"chunks-{kind}")
    for s in samples(kind, 3, seed=44):
        text = f"INFO got {s.text}\nnext line\n"
        want = Redactor(detect=[kind], learn=False).redact(text)
        assert s.secret not in want
        assert _streamed(Redactor(detect=[kind], learn=False), text, range(len(text))) == want
        for _ in range(5):
            cuts = [rnd.randrange(len(text) + 1) for _ in range(rnd.randint(1, 4))]
            assert _streamed(Redactor(detect=[kind], learn=False), text, cuts) == want, cuts


@pytest.mark.usefixtures("each_engine")
def test_a_private_key_longer_than_its_bound_is_hidden_up_to_its_body_in_a_stream() -> None:
    """No END within 16 KiB: the BEGIN line and the body lines after it are hidden up to the
    bound, the same in one shot and chunked."""
    body = "\n".join(["QUJDRA" * 12] * 300)  # 300 lines of 72: over 16 KiB
    head = "-----BEGIN PRIVATE KEY-----\n"
    text = f"{head}{body}\n-----END PRIVATE KEY-----\ndone\n"
    r = Redactor(detect=["private-key"], learn=False)
    want = r.redact(text)
    assert want == "[REDACTED]" + text[16384:]
    assert _streamed(Redactor(detect=["private-key"], learn=False), text, [5000, 9000]) == want
