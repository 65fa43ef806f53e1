"""The built-in token detectors (the catalog) and what ``detect=`` resolves to.

Each entry cites where its format is documented. ``default=True`` marks the curated
high-precision set that is on unless turned off; the rest are opt-in by kind.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import json
import re
import urllib.parse
import zlib
from collections.abc import Iterable

from redactor.engine.detect import Detector, register_detector, registered
from redactor.errors import ConfigError

__all__ = ["CATALOG", "base62_crc32", "detector_names", "get_detector", "resolve_detectors"]

# -- validators (checksums and structure) --------------------------------------------------------

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def base62_crc32(payload: str) -> str:
    """The 6-character checksum of GitHub's and npm's tokens: CRC32 of the random part, in
    base 62 (digits, then upper, then lower case), left-padded with ``0``."""
    n = zlib.crc32(payload.encode("ascii"))
    digits = ""
    while n:
        n, r = divmod(n, 62)
        digits = _BASE62[r] + digits
    return digits.rjust(6, "0")


def _crc32_suffix_ok(token: str) -> bool:
    """``<prefix>_<30 random><6 checksum>`` (GitHub classic, npm): the checksum matches."""
    body = token.split("_", 1)[1]
    return base62_crc32(body[:-6]) == body[-6:]


def _b64decode(text: str, *, urlsafe: bool = False) -> bytes | None:
    text = text.rstrip("=")
    padded = text + "=" * (-len(text) % 4)
    try:
        if urlsafe:
            return base64.urlsafe_b64decode(padded)
        return base64.b64decode(padded, validate=True)
    except (binascii.Error, ValueError):
        return None


def _azure_account_key_ok(value: str) -> bool:
    """An Azure storage account key is 64 random bytes in base64 (88 characters)."""
    decoded = _b64decode(value)
    return decoded is not None and len(decoded) == 64


def _sas_signature_ok(value: str) -> bool:
    """A SAS ``sig`` is an HMAC-SHA256 (32 bytes) in base64, usually percent-encoded."""
    decoded = _b64decode(urllib.parse.unquote(value))
    return decoded is not None and len(decoded) == 32


def _jwt_ok(token: str) -> bool:
    """The header is base64url of a JSON object naming its ``alg`` (RFC 7515 section 4.1.1)."""
    header = _b64decode(token.split(".", 1)[0], urlsafe=True)
    if header is None:
        return False
    try:
        parsed = json.loads(header)
    except ValueError:  # UnicodeDecodeError and JSONDecodeError are both ValueErrors
        return False
    return isinstance(parsed, dict) and "alg" in parsed


# Values that stand for a password in documentation and templates, not a password.
_PLACEHOLDERS = frozenset(
    {
        "pass",
        "passwd",
        "password",
        "pwd",
        "secret",
        "pw",
        "changeme",
        "redacted",
        "token",
        "example",
        "placeholder",
        "none",
        "null",
        "xxxx",
    }
)
_TEMPLATE_START = tuple("$<{[%(")
_LEET = str.maketrans("@0$1!3", "aosiie")  # P@SSW0RD is a placeholder too


def _is_placeholder(value: str) -> bool:
    """``password``, ``***``, ``${VAR}``, ``<token>``, ``{password}``, ``%(pw)s``, ``YOUR_TOKEN``:
    what documentation and templates print where a credential goes."""
    low = value.lower().translate(_LEET)
    return (
        low in _PLACEHOLDERS
        or len(set(value)) == 1
        or value.startswith(_TEMPLATE_START)
        or value.endswith(("}", ">"))
        or (value.isupper() and all(c.isalpha() or c == "_" for c in value))
        or "xxxx" in low
        or "***" in value
    )


def _not_placeholder(value: str) -> bool:
    return not _is_placeholder(value)


def _url_password_ok(value: str) -> bool:
    return not _is_placeholder(urllib.parse.unquote(value))


def _authorization_ok(value: str) -> bool:
    """Not a placeholder; and when it reads as a Basic credential (base64 of ``user:password``),
    its password is none either (the scheme is not passed to ``validate``: told apart by shape)."""
    if _is_placeholder(value):
        return False
    decoded = _b64decode(value)
    if decoded is None:
        return True
    try:
        text = decoded.decode("utf-8")
    except UnicodeDecodeError:
        return True
    _user, sep, password = text.partition(":")
    return not (sep and text.isprintable()) or (bool(password) and not _is_placeholder(password))


# -- the catalog ---------------------------------------------------------------------------------

#: Before a token: not a letter, digit or ``_`` (so ``xghp_...`` or ``my_AKIA...`` is no token).
_B = r"(?<![A-Za-z0-9_])"
#: After a token: not another character of its alphabet (``lookahead=1``, the default, lets
#: ``verify`` see that one character past ``max_length``, which is the longest token exactly).
_E = r"(?![A-Za-z0-9_])"
_GITLEAKS = "https://github.com/gitleaks/gitleaks/blob/master/config/gitleaks.toml"

AWS_KEY_ID_PREFIXES = (
    "AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AROA", "AIPA", "ANPA", "ANVA", "APKA",
)  # fmt: skip
GITLAB_PREFIXES = (
    "glpat-", "gldt-", "glrt-", "glrtr-", "glptt-", "glsoat-", "gloas-", "glcbt-", "glimt-",
    "glagent-", "glffct-", "glft-", "glwt-", "GR1348941",
)  # fmt: skip
SLACK_PREFIXES = ("xoxb-", "xoxp-", "xoxa-", "xoxo-", "xoxs-", "xoxr-", "xoxe.xoxp-", "xoxe.xoxb-", "xoxe-")  # fmt: skip

CATALOG: tuple[Detector, ...] = (
    Detector(
        kind="aws-access-key-id",
        anchors=AWS_KEY_ID_PREFIXES,
        pattern=_B + r"(?:" + "|".join(AWS_KEY_ID_PREFIXES) + r")[A-Z0-9]{16}" + _E,
        max_length=20,
        source="https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-unique-ids",
        description="AWS access key ids and other unique ids with a documented 4-letter prefix",
    ),
    Detector(
        kind="aws-secret-access-key",
        # Every spelling contains one of these; aws_secret_access_key contains the first.
        anchors=("secret_access_key", "SECRET_ACCESS_KEY", "SecretAccessKey", "secretAccessKey"),
        pattern=(
            r"(?:secret_access_key|SECRET_ACCESS_KEY|SecretAccessKey|secretAccessKey)"
            # Quotes around the name and the value, also escaped as in JSON inside JSON.
            r"(?:\\{0,2}[\"'])?[ \t]{0,4}(?:=>|[:=])[ \t]{0,4}(?:\\{0,2}[\"'])?"
            r"(?P<secret>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])"
        ),
        max_length=73,
        validate=_not_placeholder,
        source="https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-envvars.html",
        description="a 40-character AWS secret access key after one of its key names",
    ),
    Detector(
        kind="github-token",
        anchors=("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
        pattern=_B + r"gh[pousr]_[A-Za-z0-9]{36}" + _E,
        max_length=40,
        validate=_crc32_suffix_ok,
        source="https://github.blog/2021-04-05-behind-githubs-new-authentication-token-formats/",
        description="GitHub classic, OAuth, app and refresh tokens (CRC32 checksum checked)",
    ),
    Detector(
        kind="github-fine-grained-token",
        anchors=("github_pat_",),
        pattern=_B + r"github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}" + _E,
        max_length=93,
        source="https://github.blog/security/application-security/introducing-fine-grained-personal-access-tokens-for-github/",
        description="GitHub fine-grained personal access tokens (22 + 59 characters)",
    ),
    Detector(
        kind="gitlab-token",
        anchors=GITLAB_PREFIXES,
        # Legacy tokens are the prefix and 20 characters; routable ones (GitLab 17.x) are longer
        # and end in ".<version>.<base-36 CRC>".
        pattern=(
            _B + r"(?:gl(?:pat|dt|rt|rtr|ptt|soat|oas|cbt|imt|agent|ffct|ft|wt)-|GR1348941)"
            r"[0-9A-Za-z_-]{20,300}(?:\.[0-9a-z]{2}\.[0-9a-z]{7,9})?(?![0-9A-Za-z_-])"
        ),
        max_length=322,
        source="https://docs.gitlab.com/security/tokens/#token-prefixes",
        description="GitLab personal, project, group, deploy, runner, CI/CD, OAuth, SCIM tokens",
    ),
    Detector(
        kind="slack-token",
        anchors=SLACK_PREFIXES,
        pattern=(
            r"(?<![A-Za-z0-9_.-])(?:xox[bpaosr]-|xoxe\.xox[bp]-|xoxe-)"
            r"[0-9]{1,13}-[0-9A-Za-z-]{8,240}(?![0-9A-Za-z_-])"
        ),
        max_length=264,
        source="https://api.slack.com/concepts/token-types",
        description="Slack bot, user, app-level, legacy and configuration tokens",
    ),
    Detector(
        kind="slack-webhook",
        anchors=("hooks.slack.com/",),
        pattern=(
            r"hooks\.slack\.com/(?:services|workflows|triggers)/"
            r"(?P<secret>T[A-Z0-9]{8,12}/[A-Z0-9]{8,12}/[A-Za-z0-9]{24,32})(?![A-Za-z0-9])"
        ),
        max_length=85,
        source="https://api.slack.com/messaging/webhooks",
        description="the path of a Slack incoming-webhook URL (the URL is the credential)",
    ),
    Detector(
        kind="stripe-live-key",
        anchors=("sk_live_", "rk_live_"),
        pattern=_B + r"[sr]k_live_[0-9A-Za-z]{24,247}" + _E,
        max_length=255,
        source="https://docs.stripe.com/keys#obtain-api-keys",
        description="Stripe live secret and restricted keys",
    ),
    Detector(
        kind="stripe-test-key",
        anchors=("sk_test_", "rk_test_"),
        pattern=_B + r"[sr]k_test_[0-9A-Za-z]{24,247}" + _E,
        max_length=255,
        default=False,
        source="https://docs.stripe.com/keys#obtain-api-keys",
        description="Stripe test-mode keys (no money moves: opt-in)",
    ),
    Detector(
        kind="openai-api-key",
        anchors=("sk-",),
        # T3BlbkFJ is base64 of "OpenAI", in the middle of every legacy key and most new ones.
        pattern=(
            r"(?<![A-Za-z0-9_-])sk-(?:(?:proj|svcacct|admin|None)-[A-Za-z0-9_-]{40,250}"
            r"|[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20})(?![A-Za-z0-9_-])"
        ),
        max_length=261,
        source="https://platform.openai.com/docs/api-reference/authentication",
        description="OpenAI project, service-account, admin and legacy user keys",
    ),
    Detector(
        kind="anthropic-api-key",
        anchors=("sk-ant-api03-", "sk-ant-admin01-"),
        pattern=r"(?<![A-Za-z0-9_-])sk-ant-(?:api03|admin01)-[A-Za-z0-9_-]{93}AA(?![A-Za-z0-9_-])",
        max_length=110,
        source="https://docs.anthropic.com/en/api/overview#authentication",
        description="Anthropic API and admin keys",
    ),
    Detector(
        kind="google-api-key",
        anchors=("AIza",),
        pattern=r"(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])",
        max_length=39,
        source="https://cloud.google.com/docs/authentication/api-keys",
        description="Google Cloud / Maps / Firebase API keys",
    ),
    Detector(
        kind="databricks-token",
        anchors=("dapi",),
        pattern=_B + r"dapi[0-9a-f]{32}(?:-[0-9]{1,2})?" + r"(?![A-Za-z0-9_-])",
        max_length=39,
        source="https://docs.databricks.com/en/dev-tools/auth/pat.html",
        description="Databricks personal access tokens",
    ),
    Detector(
        kind="huggingface-token",
        anchors=("hf_",),
        pattern=_B + r"hf_[A-Za-z]{34}" + _E,
        max_length=37,
        source="https://huggingface.co/docs/hub/security-tokens",
        description="Hugging Face user access tokens",
    ),
    Detector(
        kind="npm-token",
        anchors=("npm_",),
        pattern=_B + r"npm_[A-Za-z0-9]{36}" + _E,
        max_length=40,
        validate=_crc32_suffix_ok,
        source="https://github.blog/security/announcing-npms-new-access-token-format/",
        description="npm access tokens (CRC32 checksum checked, as GitHub's)",
    ),
    Detector(
        kind="pypi-token",
        anchors=("pypi-AgEIcHlwaS5vcmc",),
        # A macaroon in base64url whose first field is the location "pypi.org".
        pattern=_B + r"pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,1000}" + r"(?![A-Za-z0-9_-])",
        max_length=1019,
        source="https://pypi.org/help/#apitoken",
        description="PyPI API tokens",
    ),
    Detector(
        kind="azure-storage-key",
        anchors=("AccountKey=",),
        pattern=r"AccountKey=(?P<secret>[A-Za-z0-9+/]{86}==)(?![A-Za-z0-9+/=])",
        max_length=99,
        validate=_azure_account_key_ok,
        source="https://learn.microsoft.com/en-us/azure/storage/common/storage-configure-connection-string",
        description="the account key of an Azure storage connection string (64 bytes)",
    ),
    Detector(
        kind="azure-sas-signature",
        anchors=("sig=",),
        pattern=(
            r"(?<=[?&;])sig=(?P<secret>(?:[A-Za-z0-9+/]|%2[BbFf]){43}(?:=|%3[Dd]))"
            r"(?![A-Za-z0-9+/%=])"
        ),
        max_length=136,  # "sig=" and 44 characters, each up to 3 when percent-encoded
        validate=_sas_signature_ok,
        source="https://learn.microsoft.com/en-us/rest/api/storageservices/create-service-sas#specify-the-signature",
        description="the signature of an Azure shared access signature in a URL or connection string",
    ),
    Detector(
        kind="jwt",
        anchors=("eyJ",),
        pattern=(
            r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{2,}\.[A-Za-z0-9_-]*"
            r"(?![A-Za-z0-9_-])"
        ),
        max_length=8192,
        validate=_jwt_ok,
        source="https://datatracker.ietf.org/doc/html/rfc7519#section-3",
        description="JSON Web Tokens (the header decodes to JSON naming its alg)",
    ),
    Detector(
        kind="private-key",
        anchors=("-----BEGIN ",),
        # The whole block, when what lies between BEGIN and END can be a PEM body (base64, line
        # breaks raw or escaped as in JSON, "Name: value" headers): source code that names both
        # markers is no key. When no matching END comes within max_length, the header and the
        # lines after it that look like a PEM body are hidden; a header alone is no detection.
        pattern=(
            r"-----BEGIN (?P<label>(?:[A-Z0-9]+ ){0,3})PRIVATE KEY(?P<block>(?: BLOCK)?)-----"
            r"(?:[A-Za-z0-9+/=\s\\,:.()-]*?-----END (?P=label)PRIVATE KEY(?P=block)-----"
            r"|(?:[ \t]*(?:\r?\n|\\r\\n|\\n)(?:[A-Za-z-]+:[^\r\n]*|[A-Za-z0-9+/=]{4,}))+)"
        ),
        flags=re.DOTALL,
        max_length=16384,
        # The body alternative runs up to the window's end: no look-ahead past it, so a body
        # longer than the bound is hidden up to the bound rather than not at all.
        lookahead=0,
        source="https://datatracker.ietf.org/doc/html/rfc7468#section-10",
        description="PEM and OpenSSH/PGP private-key blocks, across lines",
    ),
    Detector(
        kind="url-password",
        anchors=("://",),
        pattern=(
            r"(?<=[A-Za-z0-9])://(?P<user>[^\s:/?#@\"'<>\[\]]{0,128}):(?!(?P=user)@)"
            r"(?P<secret>[^\s:/?#\"'<>]{1,256})@(?=[A-Za-z0-9\[])"
        ),
        max_length=389,
        validate=_url_password_ok,
        source="https://datatracker.ietf.org/doc/html/rfc3986#section-3.2.1",
        description="the password in scheme://user:password@host",
    ),
    Detector(
        kind="authorization-header",
        anchors=("Authorization", "authorization", "AUTHORIZATION"),
        pattern=(
            r"(?:Authorization|authorization|AUTHORIZATION)"
            r"(?:\\{0,2}[\"'])?[ \t]{0,4}[:=][ \t]{0,4}(?:\\{0,2}[\"'])?"
            # token68 (RFC 9110): a final "." ends the sentence, not the credential.
            r"(?i:bearer|basic)[ \t]{1,4}(?P<secret>[A-Za-z0-9._~+/-]{7,4095}[A-Za-z0-9_~+/-]={0,2})"
            r"(?![A-Za-z0-9_~+/=-]|\.[A-Za-z0-9_~+/-])"
        ),
        max_length=4136,
        lookahead=2,  # "." and the character after it
        validate=_authorization_ok,
        source="https://datatracker.ietf.org/doc/html/rfc9110#section-11.6.2",
        description="the credential of an Authorization: Bearer or Basic header",
    ),
)

for _detector in CATALOG:
    register_detector(_detector)


# -- resolving detect= -------------------------------------------------------------------------


def detector_names(*, default_only: bool = False) -> list[str]:
    """The registered kinds, sorted (only the on-by-default set with ``default_only``)."""
    return sorted(k for k, d in registered().items() if d.default or not default_only)


def get_detector(kind: str) -> Detector:
    found = registered().get(kind)
    if found is None:
        close = difflib.get_close_matches(kind, detector_names(), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"unknown detector {kind!r}{hint} (see `redactor detectors`)")
    return found


def resolve_detectors(spec: bool | Iterable[str | Detector] | None) -> tuple[Detector, ...]:
    """What ``detect=`` means: ``True``/``None`` the default set, ``False`` none, a list of
    kinds (``"default"`` stands for the default set, ``"all"`` for every kind) and
    :class:`Detector` objects (a user's own)."""
    if spec is None or spec is True:
        return tuple(get_detector(k) for k in detector_names(default_only=True))
    if spec is False:
        return ()
    out: dict[str, Detector] = {}
    for item in spec:
        if isinstance(item, Detector):
            out[item.kind] = item
        elif item == "default":
            out.update((k, get_detector(k)) for k in detector_names(default_only=True))
        elif item == "all":
            out.update((k, get_detector(k)) for k in detector_names())
        else:
            out[item] = get_detector(item)
    return tuple(out.values())
