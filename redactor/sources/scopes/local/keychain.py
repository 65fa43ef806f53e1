"""The operating system's keychain as the local store's master-key source, through ``keyring``.

Optional (``pip install 'redactor[keyring]'``) and imported only when a store asks for it: a new
store, a keychain-locked one, or a missing database. Importing ``keyring`` and probing its
backends took 570 ms on the shared 2-core machine (load 8), more than every other step of a
command together; a key-file store never pays it. One entry per store:
service ``redactor``, user name the store's location id (see :func:`.keys.store_location_id`),
the key in base64. A rotation writes the new key under ``ID.new`` first and moves it into place
only after the store committed, as the key file does.

A backend counts as a keychain when ``keyring`` would pick it on its own with priority >= 1
(macOS Keychain, Windows Credential Locker, the Secret Service, KWallet), or when the user
named it in ``PYTHON_KEYRING_BACKEND``. The fallbacks keyring uses when there is no keychain
(``fail``, ``null``, an empty ``chainer``) are unavailable, and so are the low-priority
plaintext files of ``keyrings.alt``, which are no better than our own key file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

__all__ = ["SERVICE", "available", "backend_name", "delete", "get", "set_key"]

SERVICE = "redactor"
_UNUSABLE = ("keyring.backends.fail", "keyring.backends.null")


def _backend(environ: Mapping[str, str] | None = None) -> Any | None:
    """The keyring backend to use, or None if there is no usable keychain."""
    env = os.environ if environ is None else environ
    if env.get("PYTHON_KEYRING_BACKEND", "").startswith(_UNUSABLE):
        return None  # named as no keychain: skip the import
    try:
        import keyring
        from keyring.backends import chainer
    except ImportError:
        return None
    try:
        kr = keyring.get_keyring()
    except Exception:  # a broken backend configuration is "no keychain", not a crash
        return None
    if type(kr).__module__.startswith(_UNUSABLE):
        return None
    if env.get("PYTHON_KEYRING_BACKEND"):
        return kr  # chosen by the user
    if isinstance(kr, chainer.ChainerBackend):
        usable = [b for b in kr.backends if not type(b).__module__.startswith(_UNUSABLE)]
        return kr if any(getattr(b, "priority", 0) >= 1 for b in usable) else None
    return kr if getattr(kr, "priority", 0) >= 1 else None


def available(environ: Mapping[str, str] | None = None) -> bool:
    return _backend(environ) is not None


def backend_name(environ: Mapping[str, str] | None = None) -> str:
    kr = _backend(environ)
    return "none" if kr is None else f"{type(kr).__module__}.{type(kr).__name__}"


def get(username: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The entry for ``username``, or None (also when there is no keychain)."""
    kr = _backend(environ)
    if kr is None:
        return None
    try:
        value = kr.get_password(SERVICE, username)
    except Exception as exc:  # keyring's errors carry no secret; the class name is enough
        raise OSError(f"the keychain failed ({type(exc).__name__})") from None
    return value if isinstance(value, str) else None


def set_key(username: str, value: str, environ: Mapping[str, str] | None = None) -> None:
    kr = _backend(environ)
    if kr is None:
        raise OSError("no usable keychain")
    try:
        kr.set_password(SERVICE, username, value)
    except Exception as exc:
        raise OSError(f"the keychain refused the key ({type(exc).__name__})") from None


def delete(username: str, environ: Mapping[str, str] | None = None) -> None:
    """Remove the entry; a missing entry or keychain is not an error."""
    kr = _backend(environ)
    if kr is None:
        return
    try:
        kr.delete_password(SERVICE, username)
    except Exception:  # keyring.errors.PasswordDeleteError: already gone
        return
