"""Where the local store's master key (the key-encryption key) comes from.

The master key never encrypts a value: it wraps the store's random data key (envelope
encryption), so changing it re-wraps one small blob. Sources, in order of precedence:

1. ``REDACTOR_MASTER_KEY``: 32 bytes as 64 hex digits or base64 (for CI and containers).
2. ``REDACTOR_PASSPHRASE``, or a hidden prompt on a terminal when the store is locked with a
   passphrase: stretched by Argon2id (64 MiB, 3 passes, 4 lanes), or scrypt (N=2**17) where the
   OpenSSL build lacks Argon2. The salt and parameters live in the store's ``meta`` table.
3. The key file ``master.key`` in ``REDACTOR_HOME``: 32 random bytes, created on first use with
   mode 0600 and ``O_EXCL``; refused if group or others can read or write it, or if another user
   owns it.

Both variables are registered with the process-wide redactor (named, never shown) whenever they
are read here, as is a passphrase typed at the prompt, so the process never prints them.

A key is identified by ``key_id``, a keyed hash that says which key wrapped the data key without
revealing anything about the key, so a mismatch gets a precise message instead of a bare
"decryption failed".
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import getpass
import hashlib
import hmac
import json
import os
import stat
import sys
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redactor.engine.default import KEY_MATERIAL_VARS, register_key_material, register_once
from redactor.sources.scopes.errors import MasterKeyError

__all__ = [
    "ENV_MASTER_KEY",
    "ENV_PASSPHRASE",
    "KEY_FILE_NAME",
    "KEY_LEN",
    "KIND_ENV",
    "KIND_FILE",
    "KIND_PASSPHRASE",
    "PENDING_KEY_FILE_NAME",
    "MasterKey",
    "WrappingInfo",
    "create_key_file",
    "derive_from_passphrase",
    "fsync_dir",
    "kdf_to_json",
    "key_id_of",
    "new_kdf_params",
    "parse_master_key",
    "read_key_file",
    "resolve_master_key",
]

# "REDACTOR_MASTER_KEY", "REDACTOR_PASSPHRASE": one list, shared with the hooks that register them.
ENV_MASTER_KEY, ENV_PASSPHRASE = KEY_MATERIAL_VARS
KEY_FILE_NAME = "master.key"
PENDING_KEY_FILE_NAME = "master.key.new"
KEY_LEN = 32

# Argon2id at 64 MiB, t=3, p=4 takes about 0.15 s on a 2-core machine: well above OWASP's minimum
# (19 MiB, t=2, p=1). scrypt N=2**17, r=8, p=1 is OWASP's recommendation (about 0.35 s).
ARGON2_PARAMS = {"memory_cost": 65536, "iterations": 3, "lanes": 4}
SCRYPT_PARAMS = {"n": 2**17, "r": 8, "p": 1}

KIND_ENV = "env"
KIND_FILE = "file"
KIND_PASSPHRASE = "passphrase"  # noqa: S105 - a kind name


def key_id_of(key: bytes) -> str:
    """A public identifier of a master key (HMAC of a constant under the key)."""
    return hmac.new(key, b"redactor/master-key-id/v1", hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True)
class MasterKey:
    kind: str  # "env", "file" or "passphrase"
    key: bytes = field(repr=False)
    source: str  # for messages: "REDACTOR_MASTER_KEY", "key file /x/master.key", ...
    kdf: dict[str, Any] | None = None  # passphrase only: name, salt (base64) and parameters

    @property
    def key_id(self) -> str:
        return key_id_of(self.key)


@dataclass(frozen=True)
class WrappingInfo:
    """What the store's ``meta`` table says about the key that wrapped its data key."""

    kind: str
    key_id: str
    kdf: dict[str, Any] | None = None


# -- parsing and files -----------------------------------------------------------------------


def parse_master_key(text: str, where: str = ENV_MASTER_KEY) -> bytes:
    """32 bytes from 64 hex digits or base64 (standard or URL-safe, padding optional)."""
    s = text.strip()
    if len(s) == 2 * KEY_LEN:
        with contextlib.suppress(ValueError):
            return bytes.fromhex(s)
    padded = s + "=" * (-len(s) % 4)
    for altchars in (None, b"-_"):
        try:
            raw = base64.b64decode(padded.encode("ascii"), altchars=altchars, validate=True)
        except (binascii.Error, ValueError, UnicodeEncodeError):
            continue
        if len(raw) == KEY_LEN:
            return raw
    raise MasterKeyError(
        f"{where} must hold 32 bytes as 64 hex digits or as base64 "
        '(make one with: python -c "import secrets; print(secrets.token_hex(32))")'
    )


def _check_private(path: Path, st: os.stat_result) -> None:
    if os.name != "posix":
        return
    if not stat.S_ISREG(st.st_mode):
        raise MasterKeyError(f"key file {path} is not a regular file")
    if st.st_uid != os.geteuid():
        raise MasterKeyError(f"key file {path} belongs to another user (uid {st.st_uid}); refused")
    if st.st_mode & 0o077:
        raise MasterKeyError(
            f"key file {path} can be read or written by group or others "
            f"(mode {stat.S_IMODE(st.st_mode):04o}); refused. Run: chmod 600 {path}"
        )


def read_key_file(path: Path) -> bytes:
    """The key in ``path``, refused unless only its owner (this user) can read and write it."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise MasterKeyError(f"cannot open key file {path}: {exc.strerror}") from None
    try:
        _check_private(path, os.fstat(fd))
        data = b""
        while chunk := os.read(fd, 4096):
            data += chunk
            if len(data) > 4096:
                break
    finally:
        os.close(fd)
    try:
        return parse_master_key(data.decode("ascii"), where=f"key file {path}")
    except UnicodeDecodeError:
        raise MasterKeyError(f"key file {path} is not a redactor key file") from None


def _write_new(path: Path, content: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        os.write(fd, content)
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Make the entries just linked, renamed or removed in ``path`` durable (POSIX)."""
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def create_key_file(path: Path, key: bytes | None = None, *, replace: bool = False) -> bytes:
    """Write a key file with mode 0600, complete before anyone can see it.

    The key goes to a temporary file (``O_EXCL``, 0600) that is then hard-linked to ``path``, which
    fails if ``path`` exists: of two processes creating the key at once, one wins and the other
    reads the winner's complete key. With ``replace`` the file is swapped in with ``os.replace``.
    """
    key = os.urandom(KEY_LEN) if key is None else key
    content = base64.b64encode(key) + b"\n"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    _write_new(tmp, content)
    try:
        if replace:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                return read_key_file(path)
            except OSError:
                # No hard links on this file system: fall back to an exclusive create.
                try:
                    _write_new(path, content)
                except FileExistsError:
                    return read_key_file(path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    fsync_dir(path.parent)
    return key


# -- passphrases -----------------------------------------------------------------------------


def _argon2_available() -> bool:
    try:
        from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

        Argon2id(salt=b"\0" * 16, length=32, iterations=1, lanes=1, memory_cost=8).derive(b"x")
    except Exception:  # ImportError, UnsupportedAlgorithm on OpenSSL builds without Argon2
        return False
    return True


def new_kdf_params() -> dict[str, Any]:
    """Fresh salt and the strongest KDF this build of ``cryptography`` offers."""
    salt = base64.b64encode(os.urandom(16)).decode("ascii")
    if _argon2_available():
        return {"name": "argon2id", "salt": salt, **ARGON2_PARAMS}
    return {"name": "scrypt", "salt": salt, **SCRYPT_PARAMS}


def derive_from_passphrase(passphrase: str, kdf: dict[str, Any]) -> bytes:
    """The master key for ``passphrase`` under the stored KDF parameters."""
    if not passphrase:
        raise MasterKeyError("the passphrase is empty")
    secret = unicodedata.normalize("NFC", passphrase).encode("utf-8")
    try:
        salt = base64.b64decode(kdf["salt"])
        name = kdf["name"]
        if name == "argon2id":
            from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

            return Argon2id(
                salt=salt,
                length=KEY_LEN,
                iterations=int(kdf["iterations"]),
                lanes=int(kdf["lanes"]),
                memory_cost=int(kdf["memory_cost"]),
            ).derive(secret)
        if name == "scrypt":
            from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

            return Scrypt(
                salt=salt, length=KEY_LEN, n=int(kdf["n"]), r=int(kdf["r"]), p=int(kdf["p"])
            ).derive(secret)
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise MasterKeyError("the store's passphrase KDF parameters are malformed") from None
    except ImportError:
        raise MasterKeyError(
            f"this build of cryptography lacks the {kdf.get('name')} KDF the store was locked with"
        ) from None
    raise MasterKeyError(f"unknown passphrase KDF {kdf.get('name')!r} (newer redactor?)")


def kdf_to_json(kdf: dict[str, Any] | None) -> str:
    return json.dumps(kdf, sort_keys=True) if kdf else ""


# -- resolution ------------------------------------------------------------------------------


def _stdin_is_tty() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (ValueError, OSError):
        return False


def _prompt_passphrase(prompt: str) -> str:
    return getpass.getpass(prompt)


def resolve_master_key(
    home: Path,
    wrapping: WrappingInfo | None,
    *,
    environ: Mapping[str, str] | None = None,
    prompt: Callable[[str], str] | None = None,
    create: bool = True,
) -> MasterKey:
    """The master key to use for the store in ``home``, given how its data key is wrapped.

    ``wrapping`` is None for a store that has no data key yet; then a missing key file is
    created (if ``create``). ``prompt`` asks for a passphrase on a terminal (default: getpass
    when stdin is a TTY).
    """
    env = os.environ if environ is None else environ
    # Key material is a secret like any other: whatever this process prints (`%env`,
    # `print(os.environ)`) must not show it. Registered under the variable's name.
    register_key_material(environ=env)
    if env.get(ENV_MASTER_KEY):
        return MasterKey(KIND_ENV, parse_master_key(env[ENV_MASTER_KEY]), ENV_MASTER_KEY)
    stored_kdf = wrapping.kdf if wrapping and wrapping.kind == KIND_PASSPHRASE else None
    if env.get(ENV_PASSPHRASE):
        kdf = stored_kdf or new_kdf_params()
        return MasterKey(
            KIND_PASSPHRASE, derive_from_passphrase(env[ENV_PASSPHRASE], kdf), ENV_PASSPHRASE, kdf
        )
    if wrapping is not None and wrapping.kind == KIND_PASSPHRASE and stored_kdf:
        if prompt is None and _stdin_is_tty():
            prompt = _prompt_passphrase
        if prompt is None:
            raise MasterKeyError(
                f"the store in {home} is locked with a passphrase: set {ENV_PASSPHRASE} "
                "or run on a terminal to be asked for it"
            )
        typed = prompt(f"passphrase for the secret store in {home}: ")
        if typed.strip():
            register_once(typed, "passphrase prompt")
        return MasterKey(
            KIND_PASSPHRASE,
            derive_from_passphrase(typed, stored_kdf),
            "passphrase prompt",
            stored_kdf,
        )
    if wrapping is not None and wrapping.kind == KIND_ENV:
        raise MasterKeyError(
            f"the store in {home} is locked with {ENV_MASTER_KEY} (key id {wrapping.key_id}), "
            "which is not set"
        )
    path = home / KEY_FILE_NAME
    try:
        key = read_key_file(path)
    except FileNotFoundError:
        if wrapping is not None or not create:
            raise MasterKeyError(
                f"key file {path} is missing; the store in {home} cannot be opened without "
                f"the key that wrapped its data key (key id "
                f"{wrapping.key_id if wrapping else '?'}), or set {ENV_MASTER_KEY} / "
                f"{ENV_PASSPHRASE} if it was locked with one"
            ) from None
        key = create_key_file(path)
    if wrapping is not None and wrapping.kind == KIND_FILE and key_id_of(key) != wrapping.key_id:
        # A rotate-key that committed the new wrapping but crashed before renaming the new key
        # file into place: finish it.
        pending = home / PENDING_KEY_FILE_NAME
        try:
            new_key = read_key_file(pending)
        except FileNotFoundError:
            pass
        else:
            if key_id_of(new_key) == wrapping.key_id:
                os.replace(pending, path)
                fsync_dir(home)
                key = new_key
    return MasterKey(KIND_FILE, key, f"key file {path}")
