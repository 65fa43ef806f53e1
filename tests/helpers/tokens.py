"""Tokens made to their formats' specifications, for the detection tests (valid in shape only,
they belong to no account)."""

from __future__ import annotations

import string

from redactor.engine.tokens import base62_crc32

BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
AWS_ID_CHARS = string.ascii_uppercase + "234567"


def github_token(entropy: str, prefix: str = "ghp_") -> str:
    """``prefix`` + 30 base62 characters + their CRC32 as 6 base62 digits (the catalog's
    :func:`~redactor.engine.tokens.base62_crc32`; github.blog, 2021-04-05)."""
    assert len(entropy) == 30 and set(entropy) <= set(BASE62)
    return prefix + entropy + base62_crc32(entropy)


def aws_key_id(body: str, prefix: str = "AKIA") -> str:
    """An AWS access key id: ``AKIA`` (or ``ASIA``...) + 16 of ``A-Z2-7``."""
    assert len(body) == 16 and set(body) <= set(AWS_ID_CHARS)
    return prefix + body


GITHUB = github_token("T3stT0kenF0rRedact0rSuite12345")
AWS_ID = aws_key_id("QZ7TESTSUITEKEY2")
AWS_SECRET = "Zx9Vb2Lr7Tz0Xw4Kd8Hn1/s5Pc3Yf6Gj+TestOnl"
