"""Tokens built to each detector's documented format (valid checksums), shared by the catalog's
tests and benchmarks/bench_detect.py.

``sample(kind, rnd)`` returns a :class:`Sample`: ``text`` is the token with the least context its
detector needs (the key name before an AWS secret key, ``scheme://user:`` before a password, the
``Authorization:`` header name...), ``secret`` the part that must be hidden, at ``start``.
Only fake values: random characters in the right alphabet.
"""

from __future__ import annotations

import base64
import json
import random
import string
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass

from redactor.engine.tokens import AWS_KEY_ID_PREFIXES, base62_crc32

ALNUM = string.ascii_letters + string.digits
B64 = ALNUM + "+/"
B64URL = ALNUM + "-_"
HEX = "0123456789abcdef"
UPPER_DIGITS = string.ascii_uppercase + string.digits
AWS_ID_CHARS = string.ascii_uppercase + "234567"


@dataclass(frozen=True)
class Sample:
    kind: str
    text: str
    secret: str

    @property
    def start(self) -> int:
        return self.text.index(self.secret)

    @property
    def stop(self) -> int:
        return self.start + len(self.secret)


def rand(rnd: random.Random, alphabet: str, n: int) -> str:
    return "".join(rnd.choice(alphabet) for _ in range(n))


def github_token(entropy: str, prefix: str = "ghp_") -> str:
    """``prefix`` + 30 base62 characters + their CRC32 as 6 base62 digits (the catalog's
    :func:`~redactor.engine.tokens.base62_crc32`; github.blog, 2021-04-05)."""
    assert len(entropy) == 30 and set(entropy) <= set(ALNUM)
    return prefix + entropy + base62_crc32(entropy)


def with_crc(prefix: str, rnd: random.Random) -> str:
    """GitHub's and npm's format: prefix, 30 random base-62 characters, their CRC32 in base 62."""
    return github_token(rand(rnd, ALNUM, 30), prefix)


def aws_key_id(body: str, prefix: str = "AKIA") -> str:
    """An AWS access key id: ``AKIA`` (or ``ASIA``...) + 16 of ``A-Z2-7``."""
    assert len(body) == 16 and set(body) <= set(AWS_ID_CHARS)
    return prefix + body


# Fixed tokens for exact-output tests.
GITHUB = github_token("T3stT0kenF0rRedact0rSuite12345")
AWS_ID = aws_key_id("QZ7TESTSUITEKEY2")
AWS_SECRET = "Zx9Vb2Lr7Tz0Xw4Kd8Hn1/s5Pc3Yf6Gj+TestOnl"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def jwt(rnd: random.Random) -> str:
    header = {"alg": rnd.choice(["HS256", "RS256", "ES256"]), "typ": "JWT"}
    payload = {"sub": rand(rnd, ALNUM, 12), "iat": rnd.randrange(1_600_000_000, 1_800_000_000)}
    sig = rnd.randbytes(rnd.choice([32, 64, 256]))
    return ".".join(
        (b64url(json.dumps(header).encode()), b64url(json.dumps(payload).encode()), b64url(sig))
    )


def pem(rnd: random.Random) -> str:
    label = rnd.choice(["", "RSA ", "EC ", "OPENSSH ", "ENCRYPTED "])
    body = base64.encodebytes(rnd.randbytes(rnd.choice([121, 1190]))).decode().strip()
    return f"-----BEGIN {label}PRIVATE KEY-----\n{body}\n-----END {label}PRIVATE KEY-----"


def _aws_secret(rnd: random.Random) -> Sample:
    value = rand(rnd, B64, 40)
    name = rnd.choice(
        [
            "aws_secret_access_key = ",
            "AWS_SECRET_ACCESS_KEY=",
            '"SecretAccessKey": "',
            "secret_access_key: ",
            "aws_secret_access_key='",
        ]
    )
    return Sample("aws-secret-access-key", name + value, value)


def _url_password(rnd: random.Random) -> Sample:
    password = rand(rnd, ALNUM, rnd.randint(1, 4)) + rand(rnd, ALNUM + "-._~!$&'()+,;=%", 12)
    password = password.replace("%", "%25")  # a literal % is percent-encoded in a URL
    password = "".join(c for c in password if c not in "'")  # and quotes would end a literal
    scheme, host = rnd.choice(
        [
            ("postgresql", "db.example.com:5432/app"),
            ("https", "example.com/path"),
            ("redis", "cache:6379/0"),
            ("mongodb+srv", "cluster0.example.net"),
            ("amqp", "broker.internal"),
        ]
    )
    user = rnd.choice(["admin", "app_user", "", "svc.reader"])
    return Sample("url-password", f"{scheme}://{user}:{password}@{host}", password)


def _authorization(rnd: random.Random) -> Sample:
    if rnd.random() < 0.5:
        # token68; a final "." would read as the end of a sentence
        cred = rand(rnd, ALNUM + "-._~", rnd.randint(20, 60)) + rnd.choice(ALNUM)
        scheme = rnd.choice(["Bearer", "bearer"])
    else:
        pair = f"{rand(rnd, string.ascii_lowercase, 6)}:{rand(rnd, ALNUM, 16)}"
        cred = base64.b64encode(pair.encode()).decode()
        scheme = "Basic"
    form = rnd.choice(["Authorization: {} {}", "'Authorization': '{} {}'", "authorization={} {}"])
    return Sample("authorization-header", form.format(scheme, cred), cred)


def _sas(rnd: random.Random) -> Sample:
    sig = urllib.parse.quote(base64.b64encode(rnd.randbytes(32)).decode(), safe="")
    text = (
        "https://acct.blob.core.windows.net/container/blob.csv"
        f"?sv=2022-11-02&ss=b&srt=o&sp=r&se=2026-12-31T00:00:00Z&sig={sig}"
    )
    return Sample("azure-sas-signature", text, sig)


def _azure_key(rnd: random.Random) -> Sample:
    key = base64.b64encode(rnd.randbytes(64)).decode()
    text = (
        "DefaultEndpointsProtocol=https;AccountName=acct;"
        f"AccountKey={key};EndpointSuffix=core.windows.net"
    )
    return Sample("azure-storage-key", text, key)


def _webhook(rnd: random.Random) -> Sample:
    path = f"T{rand(rnd, UPPER_DIGITS, 8)}/B{rand(rnd, UPPER_DIGITS, 10)}/{rand(rnd, ALNUM, 24)}"
    return Sample("slack-webhook", f"https://hooks.slack.com/services/{path}", path)


def _whole(kind: str, make: Callable[[random.Random], str]) -> Callable[[random.Random], Sample]:
    def build(rnd: random.Random) -> Sample:
        token = make(rnd)
        return Sample(kind, token, token)

    return build


def _gitlab(rnd: random.Random) -> str:
    prefix = rnd.choice(["glpat-", "gldt-", "glrt-", "glptt-", "glsoat-", "glcbt-", "GR1348941"])
    if prefix == "glpat-" and rnd.random() < 0.5:  # a routable token (GitLab 17.x)
        return f"glpat-{rand(rnd, B64URL, 27)}.01.{rand(rnd, string.digits + 'abcdefghij', 9)}"
    return prefix + rand(rnd, B64URL, 20)


def _slack(rnd: random.Random) -> str:
    shape = rnd.randrange(3)
    if shape == 0:  # bot
        return f"xoxb-{rand(rnd, string.digits, 12)}-{rand(rnd, string.digits, 13)}-{rand(rnd, ALNUM, 24)}"
    if shape == 1:  # user
        ids = "-".join(rand(rnd, string.digits, 12) for _ in range(3))
        return f"xoxp-{ids}-{rand(rnd, HEX, 32)}"
    return f"xoxe.xoxp-1-{rand(rnd, UPPER_DIGITS, 163)}"  # configuration token


def _openai(rnd: random.Random) -> str:
    if rnd.random() < 0.3:
        return f"sk-{rand(rnd, ALNUM, 20)}T3BlbkFJ{rand(rnd, ALNUM, 20)}"
    kind = rnd.choice(["proj", "svcacct", "admin"])
    return f"sk-{kind}-{rand(rnd, B64URL, 74)}T3BlbkFJ{rand(rnd, B64URL, 74)}"


def _databricks(rnd: random.Random) -> str:
    return "dapi" + rand(rnd, HEX, 32) + rnd.choice(["", "-2"])


GENERATORS: dict[str, Callable[[random.Random], Sample]] = {
    "aws-access-key-id": _whole(
        "aws-access-key-id",
        lambda rnd: rnd.choice(AWS_KEY_ID_PREFIXES) + rand(rnd, AWS_ID_CHARS, 16),
    ),
    "aws-secret-access-key": _aws_secret,
    "github-token": _whole(
        "github-token",
        lambda rnd: with_crc(rnd.choice(["ghp_", "gho_", "ghu_", "ghs_", "ghr_"]), rnd),
    ),
    "github-fine-grained-token": _whole(
        "github-fine-grained-token",
        lambda rnd: f"github_pat_{rand(rnd, ALNUM, 22)}_{rand(rnd, ALNUM, 59)}",
    ),
    "gitlab-token": _whole("gitlab-token", _gitlab),
    "slack-token": _whole("slack-token", _slack),
    "slack-webhook": _webhook,
    "stripe-live-key": _whole(
        "stripe-live-key", lambda rnd: rnd.choice(["sk_live_", "rk_live_"]) + rand(rnd, ALNUM, 99)
    ),
    "stripe-test-key": _whole("stripe-test-key", lambda rnd: "sk_test_" + rand(rnd, ALNUM, 99)),
    "openai-api-key": _whole("openai-api-key", _openai),
    "anthropic-api-key": _whole(
        "anthropic-api-key",
        lambda rnd: f"sk-ant-{rnd.choice(['api03', 'admin01'])}-{rand(rnd, B64URL, 93)}AA",
    ),
    "google-api-key": _whole("google-api-key", lambda rnd: "AIza" + rand(rnd, B64URL, 35)),
    "databricks-token": _whole("databricks-token", _databricks),
    "huggingface-token": _whole(
        "huggingface-token", lambda rnd: "hf_" + rand(rnd, string.ascii_letters, 34)
    ),
    "npm-token": _whole("npm-token", lambda rnd: with_crc("npm_", rnd)),
    "pypi-token": _whole(
        "pypi-token",
        lambda rnd: "pypi-AgEIcHlwaS5vcmc" + b64url(rnd.randbytes(rnd.randint(60, 160))),
    ),
    "azure-storage-key": _azure_key,
    "azure-sas-signature": _sas,
    "jwt": _whole("jwt", jwt),
    "private-key": _whole("private-key", pem),
    "url-password": _url_password,
    "authorization-header": _authorization,
}


def sample(kind: str, rnd: random.Random) -> Sample:
    return GENERATORS[kind](rnd)
