"""Where the local store's master key (the key-encryption key) comes from.

The master key never encrypts a value: it wraps the store's random data key (envelope
encryption), so changing it re-wraps one small blob. Sources, in order of precedence:

1. ``REDACTOR_MASTER_KEY``: 32 bytes as 64 hex digits or base64 (for CI and containers).
2. ``REDACTOR_PASSPHRASE``, or a hidden prompt on a terminal when the store is locked with a
   passphrase: stretched by Argon2id (64 MiB, 3 passes, 4 lanes), or scrypt (N=2**17) where the
   OpenSSL build lacks Argon2. The salt and parameters live in the store's ``meta`` table.
3. The operating system's keychain through ``keyring`` (:mod:`.keychain`), where one is usable.
4. A key file outside the data directory, so that a copy of ``REDACTOR_HOME`` (a backup, a synced
   folder) does not carry its key: ``<user config dir>/redactor/keys/<location id>/master.key``
   (:func:`key_file_path`; the location id is a hash of the store's resolved path, so the key and
   the integrity counter beside it are found without the database). 32 random bytes, created on
   first use with mode 0600 in a 0700 directory; refused if group or others can read or write
   it, or if another user owns it. A store made before this layout keeps its ``master.key`` in
   ``REDACTOR_HOME``: still read, with a warning naming ``redactor secrets move-key``.

Both variables are registered with the process-wide redactor (named, never shown) whenever they
are read here, as is a passphrase typed at the prompt, so the process never prints them.

A key is identified by ``key_id``, a keyed hash that says which key wrapped the data key without
revealing anything about the key, so a mismatch gets a precise message instead of a bare
"decryption failed".
"""

from __future__ import annotations

import base64
import binascii
import collections
import contextlib
import getpass
import hashlib
import hmac
import json
import os
import stat
import sys
import unicodedata
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from redactor.engine.default import (
    KEY_MATERIAL_VARS,
    held_key_material,
    register_key_material,
    register_once,
)
from redactor.engine.redactor import RedactorWarning
from redactor.sources.scopes.errors import MasterKeyError
from redactor.sources.scopes.local import keychain, perms
from redactor.sources.scopes.local.kdf import check_kdf_params

__all__ = [
    "COUNTER_FILE_NAME",
    "ENV_MASTER_KEY",
    "ENV_PASSPHRASE",
    "KEY_FILE_NAME",
    "KEY_LEN",
    "KIND_ENV",
    "KIND_FILE",
    "KIND_KEYRING",
    "KIND_PASSPHRASE",
    "PENDING_KEY_FILE_NAME",
    "MasterKey",
    "WrappingInfo",
    "abandon_pending",
    "commit_pending",
    "create_key_file",
    "creation_lock",
    "derive_from_passphrase",
    "ensure_key_dir",
    "find_key_file",
    "fsync_dir",
    "kdf_to_json",
    "key_file_path",
    "key_id_of",
    "key_material",
    "keys_root",
    "legacy_key_file_path",
    "move_key_file",
    "new_kdf_params",
    "new_pending_key",
    "parse_master_key",
    "pending_key_file_path",
    "read_key_file",
    "resolve_master_key",
    "store_location_id",
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
KIND_KEYRING = "keyring"
COUNTER_FILE_NAME = (
    "store.counter"  # the integrity counter (:mod:`.integrity`), beside the key file
)


def key_id_of(key: bytes) -> str:
    """A public identifier of a master key (HMAC of a constant under the key)."""
    return hmac.new(key, b"redactor/master-key-id/v1", hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True)
class MasterKey:
    kind: str  # "env", "file", "keyring" or "passphrase"
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
    """Refuse a key file that is not a regular file, not ours, or open to group or others.
    Always strict: ``REDACTOR_STRICT_MODES=0`` is for the data directory's mount, and the key
    lives elsewhere."""
    if os.name != "posix":
        return
    if not stat.S_ISREG(st.st_mode):
        raise MasterKeyError(f"key file {path} is not a regular file")
    if st.st_uid != os.geteuid():
        raise MasterKeyError(
            f"key file {path} belongs to another user (uid {st.st_uid}); refused. "
            f"Run: chown {perms.user_name()} {path}"
        )
    if st.st_mode & 0o077:
        raise MasterKeyError(
            f"key file {path} can be read or written by group or others "
            f"(mode {stat.S_IMODE(st.st_mode):04o}); refused. Run: chmod 600 {path}"
        )


# -- where the key file lives ----------------------------------------------------------------


def keys_root() -> Path:
    """``<user config dir>/redactor/keys`` (``$XDG_CONFIG_HOME/redactor/keys`` on Linux)."""
    return platformdirs.user_config_path("redactor", appauthor=False) / "keys"


def store_location_id(home: Path) -> str:
    """The id of the store in ``home``: a hash of its resolved path, so that its key (and the
    integrity counter) can be found, and found missing, without opening the database."""
    where = os.fsencode(str(Path(home).expanduser().resolve()))
    return hashlib.sha256(b"redactor/store-location/v1\0" + where).hexdigest()[:32]


def key_file_path(home: Path) -> Path:
    """Where the master key file of the store in ``home`` lives (its directory holds only this
    store's key files and counter)."""
    return keys_root() / store_location_id(home) / KEY_FILE_NAME


def legacy_key_file_path(home: Path) -> Path:
    """Where stores made before the key moved out of the data directory keep it."""
    return Path(home) / KEY_FILE_NAME


def pending_key_file_path(home: Path) -> Path:
    return key_file_path(home).with_name(PENDING_KEY_FILE_NAME)


def key_dir_problems(home: Path) -> list[perms.Problem]:
    """The problems of the key directory and the two above it that redactor creates
    (``<config>/redactor`` and ``keys``): whoever can write those can swap the key."""
    d = key_file_path(home).parent
    problems = []
    for parent in (d.parent.parent, d.parent):
        problems += perms.check_path(parent, "the key directory", directory=True)
    return problems + perms.check_path(d, "the key directory", directory=True, private=True)


def ensure_key_dir(home: Path) -> Path:
    """The key directory of the store in ``home``, created 0700 (and checked)."""
    d = key_file_path(home).parent
    try:
        d.parent.parent.parent.mkdir(parents=True, exist_ok=True)  # ~/.config: not ours
        # Each level of ours with 0700: mkdir(parents=True) would make the parents with the
        # umask's mode (0775 under the common umask 002), which the check then refuses.
        for level in (d.parent.parent, d.parent, d):
            level.mkdir(mode=0o700, exist_ok=True)
    except OSError as exc:
        raise MasterKeyError(f"cannot create the key directory {d}: {exc.strerror}") from None
    _check_key_dir(home)
    return d


def _check_key_dir(home: Path) -> None:
    # Strict whatever REDACTOR_STRICT_MODES says: the key directory is in the user's own
    # config directory, never on the shared mount the escape hatch is for.
    perms.enforce(key_dir_problems(home), {})


def key_material(home: Path, environ: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """What exists of the master key of the store in ``home``, each with the command that
    removes it: if anything does while ``secrets.db`` does not, the database was lost or moved
    aside, and a fresh store would silently take its place."""
    found = []
    path = key_file_path(home)
    for p in (path, path.with_name(PENDING_KEY_FILE_NAME), legacy_key_file_path(home)):
        if os.path.lexists(p):
            found.append((f"key file {p}", f"rm {p}"))
    user = store_location_id(home)
    try:
        if keychain.get(user, environ) is not None:
            found.append(
                (
                    f"keychain entry {keychain.SERVICE}/{user}",
                    f"python -m keyring del {keychain.SERVICE} {user}",
                )
            )
    except OSError:
        pass
    counter = path.with_name(COUNTER_FILE_NAME)  # last: the key is what matters most
    if os.path.lexists(counter):
        found.append((f"counter file {counter}", f"rm {counter}"))
    return found


@contextlib.contextmanager
def creation_lock(home: Path) -> Iterator[None]:
    """Serialise the creation of the store in ``home`` between processes, so that a process
    that finds no database while another is creating it waits instead of taking the new key
    file for the key of a lost database (``flock`` on a file in the key directory)."""
    d = ensure_key_dir(home)
    try:
        import fcntl  # POSIX; elsewhere creation relies on the no-clobber link alone
    except ImportError:
        yield
        return
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(d / "create.lock", flags, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


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
    check_kdf_params(kdf)  # from the database: bounded before use (see .kdf)
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
    # The key material redaction took out of os.environ (so that children do not inherit it) is
    # still this process's: os.environ first (a value set since), then what was withheld.
    env = collections.ChainMap(os.environ, held_key_material()) if environ is None else environ
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
    if wrapping is not None and wrapping.kind == KIND_KEYRING:
        return _keyring_key(home, wrapping, env)
    if wrapping is None and create and keychain.available(env):
        return _new_keyring_key(home, env)
    return _file_key(home, wrapping, create=create)


def _try_read(path: Path) -> bytes | None:
    try:
        return read_key_file(path)
    except FileNotFoundError:
        return None


_legacy_warned: set[str] = set()


def _warn_moved(home: Path, path: Path) -> None:
    """Say once per process that the key was found somewhere other than its place."""
    if str(path) in _legacy_warned:
        return
    _legacy_warned.add(str(path))
    where = "beside the database" if path.parent == Path(home) else "in another store's place"
    warnings.warn(
        f"the master key of the store in {home} is {where} ({path}), where a copy of "
        f"the store carries it; move it to {key_file_path(home)} with: "
        f"redactor secrets move-key --home {home}",
        RedactorWarning,
        stacklevel=4,
    )


def _search_keys_root(key_id: str) -> Path | None:
    """A key file under :func:`keys_root` with ``key_id``: the key of a store that was moved
    to another directory (its location id changed, its key did not)."""
    try:
        dirs = sorted(keys_root().iterdir())
    except OSError:
        return None
    for d in dirs:
        p = d / KEY_FILE_NAME
        try:
            if key_id_of(read_key_file(p)) == key_id:
                return p
        except (OSError, MasterKeyError):
            continue
    return None


def find_key_file(home: Path, wrapping: WrappingInfo | None) -> tuple[Path, bytes] | None:
    """The key file of the store in ``home`` and its key: its place, else (for an existing
    store) the old place beside the database, else one under :func:`keys_root` whose key id
    matches (a moved store). Finishes a rotation that a crash interrupted after its commit."""
    path = key_file_path(home)
    _check_key_dir(home)
    found: tuple[Path, bytes] | None = None
    # Its place first; for an existing store also the old place beside the database, preferring
    # whichever holds the key that wrapped the store.
    for candidate in (path, legacy_key_file_path(home)) if wrapping is not None else (path,):
        key = _try_read(candidate)
        if key is None:
            continue
        if found is None:
            found = (candidate, key)
        if wrapping is not None and key_id_of(key) == wrapping.key_id:
            found = (candidate, key)
            break
    if wrapping is not None and wrapping.kind == KIND_FILE:
        if found is None or key_id_of(found[1]) != wrapping.key_id:
            # A rotate-key that committed the new wrapping but crashed before renaming the new
            # key file into place: finish it.
            pending = path.with_name(PENDING_KEY_FILE_NAME)
            new_key = _try_read(pending)
            if new_key is not None and key_id_of(new_key) == wrapping.key_id:
                os.replace(pending, path)
                fsync_dir(path.parent)
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(legacy_key_file_path(home))
                return path, new_key
        if found is None:
            elsewhere = _search_keys_root(wrapping.key_id)
            if elsewhere is not None:
                found = (elsewhere, read_key_file(elsewhere))
    return found


def _file_key(home: Path, wrapping: WrappingInfo | None, *, create: bool) -> MasterKey:
    path = key_file_path(home)
    found = find_key_file(home, wrapping)
    if found is None:
        if wrapping is not None or not create:
            raise MasterKeyError(
                f"key file {path} is missing; the store in {home} cannot be opened without "
                f"the key that wrapped its data key (key id "
                f"{wrapping.key_id if wrapping else '?'}), or set {ENV_MASTER_KEY} / "
                f"{ENV_PASSPHRASE} if it was locked with one"
            )
        ensure_key_dir(home)
        return MasterKey(KIND_FILE, create_key_file(path), f"key file {path}")
    where, key = found
    if where != path:
        _warn_moved(home, where)
    return MasterKey(KIND_FILE, key, f"key file {where}")


def _keyring_key(home: Path, wrapping: WrappingInfo, env: Mapping[str, str]) -> MasterKey:
    user = store_location_id(home)
    source = f"the keychain ({keychain.SERVICE}/{user})"
    if not keychain.available(env):
        raise MasterKeyError(
            f"the store in {home} is locked with a key in the OS keychain, but no keychain is "
            "usable here (install redactor[keyring] and a keyring backend, or set "
            f"{ENV_MASTER_KEY})"
        )
    try:
        text = keychain.get(user, env)
        if text is not None and key_id_of(parse_master_key(text, source)) == wrapping.key_id:
            return MasterKey(KIND_KEYRING, parse_master_key(text, source), source)
        # A rotation that committed but crashed before moving the new entry into place.
        pending = keychain.get(f"{user}.new", env)
        if pending is not None:
            key = parse_master_key(pending, source)
            if key_id_of(key) == wrapping.key_id:
                keychain.set_key(user, pending, env)
                keychain.delete(f"{user}.new", env)
                return MasterKey(KIND_KEYRING, key, source)
    except OSError as exc:
        raise MasterKeyError(f"cannot read {source}: {exc}") from None
    if text is None:
        raise MasterKeyError(
            f"{source} has no key for the store in {home} (key id {wrapping.key_id}); set "
            f"{ENV_MASTER_KEY} if you have the key"
        )
    return MasterKey(KIND_KEYRING, parse_master_key(text, source), source)


def _new_keyring_key(home: Path, env: Mapping[str, str]) -> MasterKey:
    user = store_location_id(home)
    source = f"the keychain ({keychain.SERVICE}/{user})"
    try:
        keychain.set_key(user, base64.b64encode(os.urandom(KEY_LEN)).decode("ascii"), env)
        # Read back what the keychain holds: that, not what we sent, is what opens the store.
        text = keychain.get(user, env)
    except OSError as exc:
        raise MasterKeyError(f"cannot store the new master key in {source}: {exc}") from None
    if text is None:
        raise MasterKeyError(f"{source} did not keep the new master key")
    return MasterKey(KIND_KEYRING, parse_master_key(text, source), source)


# -- rotation's key files and entries ----------------------------------------------------------


def new_pending_key(home: Path, kind: str, environ: Mapping[str, str] | None = None) -> MasterKey:
    """A new random master key of ``kind`` (file or keyring), stored beside the current one
    under a pending name until :func:`commit_pending` moves it into place."""
    key = os.urandom(KEY_LEN)
    if kind == KIND_KEYRING:
        user = store_location_id(home)
        try:
            keychain.set_key(f"{user}.new", base64.b64encode(key).decode("ascii"), environ)
        except OSError as exc:
            raise MasterKeyError(
                f"cannot store the new master key in the keychain: {exc}"
            ) from None
        return MasterKey(KIND_KEYRING, key, f"the keychain ({keychain.SERVICE}/{user}.new)")
    ensure_key_dir(home)
    pending = pending_key_file_path(home)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(pending)  # a stale one from a rotation that never committed
    create_key_file(pending, key)
    return MasterKey(KIND_FILE, key, f"key file {pending}")


def abandon_pending(home: Path, kind: str, environ: Mapping[str, str] | None = None) -> None:
    """Remove the pending key of a rotation that did not commit."""
    if kind == KIND_KEYRING:
        keychain.delete(f"{store_location_id(home)}.new", environ)
    elif kind == KIND_FILE:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(pending_key_file_path(home))


def commit_pending(
    home: Path, old_kind: str, new_kind: str, environ: Mapping[str, str] | None = None
) -> None:
    """After the rotation committed: move the pending key into place, and remove the retired
    key (file, old file beside the database, keychain entry), which would keep old backups of
    the store readable."""
    path = key_file_path(home)
    user = store_location_id(home)
    if new_kind == KIND_FILE:
        # Already moved if a reader of the store finished the rotation first (find_key_file).
        with contextlib.suppress(FileNotFoundError):
            os.replace(pending_key_file_path(home), path)
    elif new_kind == KIND_KEYRING:
        with contextlib.suppress(OSError):
            pending = keychain.get(f"{user}.new", environ)
            if pending is not None:
                keychain.set_key(user, pending, environ)
                keychain.delete(f"{user}.new", environ)
    if old_kind == KIND_FILE:
        if new_kind != KIND_FILE:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(legacy_key_file_path(home))
    if old_kind == KIND_KEYRING and new_kind != KIND_KEYRING:
        keychain.delete(user, environ)
    with contextlib.suppress(OSError):
        fsync_dir(path.parent)
    with contextlib.suppress(OSError):
        fsync_dir(Path(home))


def move_key_file(home: Path, wrapping: WrappingInfo) -> tuple[Path, Path] | None:
    """Move the key file of the store in ``home`` to its place; ``(from, to)``, or None if it
    is there already. A key beside the database is removed once the copy is durable; one found
    in another store's place is copied (another copy of the store may still use it)."""
    found = find_key_file(home, wrapping)
    path = key_file_path(home)
    if found is None:
        raise MasterKeyError(
            f"the store in {home} has no key file to move (key id {wrapping.key_id})"
        )
    where, key = found
    if where == path:
        return None
    ensure_key_dir(home)
    if create_key_file(path, key) != key:
        raise MasterKeyError(
            f"{path} exists and holds another key; nothing was moved. Check which key the store "
            f"needs with: redactor secrets status --home {home}"
        )
    if where == legacy_key_file_path(home):
        os.unlink(where)
        fsync_dir(Path(home))
    return where, path
