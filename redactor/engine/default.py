"""The process-wide default redactor that the hooks, the secrets API and the CLI share.

Every value fetched through ``dbutils.secrets.get`` or registered with ``add_secret`` lands here,
so every hook installed in the process redacts it from that moment on.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import threading
import weakref
from collections.abc import Callable, Mapping

from redactor.engine.redactor import Redactor

__all__ = [
    "CHILD_HIDDEN_VARS",
    "KEY_MATERIAL_VARS",
    "add_secret",
    "get_redactor",
    "held_key_material",
    "on_redaction_started",
    "on_redaction_stopped",
    "on_secret_added",
    "redact",
    "redaction_started",
    "redaction_stopped",
    "register_key_material",
    "register_once",
    "set_redactor",
    "withhold_key_material",
    "without_key_material",
]

# The local store's key material, which redactor.sources.scopes.local.keys reads: a master key and
# a passphrase.
KEY_MATERIAL_VARS = ("REDACTOR_MASTER_KEY", "REDACTOR_PASSPHRASE")
# What no child process gets: the key material and the new passphrase of `rotate-key`.
CHILD_HIDDEN_VARS = (*KEY_MATERIAL_VARS, "REDACTOR_NEW_PASSPHRASE")
# Key material taken out of os.environ by withhold_key_material(), kept for this process's own
# store reads (redactor.sources.scopes.local.keys reads os.environ first, then this).
_held: dict[str, str] = {}

_default: Redactor | None = None
_lock = threading.Lock()


def get_redactor() -> Redactor:
    """The process-wide redactor, created on first use with the default settings."""
    global _default
    r = _default
    if r is None:
        with _lock:
            if _default is None:
                _default = Redactor()
            r = _default
    return r


def set_redactor(redactor: Redactor) -> Redactor | None:
    """Replace the process-wide redactor (tests, custom settings); returns the previous one."""
    global _default
    with _lock:
        previous, _default = _default, redactor
    return previous


# Hooks the layers above register here, so that the engine calls up into them without importing
# anything above it: the child-process channel (redactor.sources.channel) registers at its import,
# which `import redactor` performs.
SecretAdded = Callable[[str, "str | bytes"], None]
_added_listeners: list[SecretAdded] = []
_started_listeners: list[Callable[[Redactor | None], None]] = []
_stopped_listeners: list[Callable[[], None]] = []


def _listen(listeners: list, listener: Callable) -> Callable[[], None]:
    with _lock:
        if listener not in listeners:  # a module imported twice registers once
            listeners.append(listener)

    def remove() -> None:
        with _lock:
            if listener in listeners:
                listeners.remove(listener)

    return remove


def on_secret_added(listener: SecretAdded) -> Callable[[], None]:
    """Call ``listener(name, value)`` whenever :func:`add_secret` has registered a value, before
    it returns; an exception the listener raises reaches the caller of :func:`add_secret`.
    Returns a function that removes the listener."""
    return _listen(_added_listeners, listener)


def on_redaction_started(listener: Callable[[Redactor | None], None]) -> Callable[[], None]:
    """Call ``listener(redactor)`` from :func:`redaction_started`; returns its remover."""
    return _listen(_started_listeners, listener)


def on_redaction_stopped(listener: Callable[[], None]) -> Callable[[], None]:
    """Call ``listener()`` from :func:`redaction_stopped`; returns its remover."""
    return _listen(_stopped_listeners, listener)


def add_secret(value: str | bytes, name: str | None = None) -> bool:
    """Register a secret with the process-wide redactor.

    In a child of a process that carries its output (a kernel with the extension loaded,
    ``redactor run``), the carrier's redactor is told too before this returns (the listeners of
    :func:`on_secret_added`); raises :class:`redactor.sources.channel.ChannelError` if that
    carrier is alive and does not confirm.
    """
    held = get_redactor().add(value, name)
    if held:
        for listener in list(_added_listeners):
            listener(name or "<unnamed>", value)
    return held


class _Registered:
    """Which (name, value digest) pairs each redactor already holds, so that registering the same
    value again (a ``get`` in a loop, a worker per task) does not grow the redactor's name list.
    Digests live in memory only."""

    def __init__(self) -> None:
        self._seen: weakref.WeakKeyDictionary[Redactor, dict[tuple[str, bytes], bool]] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()

    def register(self, redactor: Redactor, name: str, value: str | bytes) -> bool:
        data = value.encode("utf-8", "surrogatepass") if isinstance(value, str) else bytes(value)
        ident = (name, hashlib.sha256(data).digest())
        with self._lock:
            seen = self._seen.setdefault(redactor, {})
            if ident in seen:
                return seen[ident]
        held = redactor.add(value, name)
        with self._lock:
            seen[ident] = held
        return held


_registered = _Registered()


def _after_fork_in_child() -> None:
    # A lock held by another thread at the fork would never be released in the child.
    global _lock
    _lock = threading.Lock()
    _registered._lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def register_once(value: str | bytes, name: str, redactor: Redactor | None = None) -> bool:
    """Register ``value`` as ``name`` unless ``redactor`` (default: the process-wide one) already
    got this pair; returns whether the redactor holds it (False: refused as too short)."""
    return _registered.register(get_redactor() if redactor is None else redactor, name, value)


def register_key_material(
    redactor: Redactor | None = None, environ: Mapping[str, str] | None = None
) -> None:
    """Register the store's key material found in the environment, named by its variable.

    Called wherever redaction starts (the IPython extension, :func:`redactor.install`,
    ``redactor run``) and wherever the store reads it, so ``%env`` or ``print(os.environ)`` show
    ``[REDACTED]``. Surrounding whitespace is tolerated when the key is parsed, so the stripped
    form is registered too.
    """
    env = os.environ if environ is None else environ
    for var in CHILD_HIDDEN_VARS:
        value = env.get(var)
        if not value:
            continue
        forms = [value, value.strip()]
        if var == KEY_MATERIAL_VARS[0]:
            forms += _key_notations(value.strip())
        for form in dict.fromkeys(forms):
            if form:
                register_once(form, var, redactor)


def withhold_key_material(redactor: Redactor | None = None) -> dict[str, str]:
    """Register the store's key material, then take it out of ``os.environ`` so that no child
    process (``!cmd`` in a kernel, ``subprocess``) inherits it; this process keeps it in memory
    for its own store reads (:func:`held_key_material`). Returns what was taken."""
    register_key_material(redactor)
    taken: dict[str, str] = {}
    for var in CHILD_HIDDEN_VARS:
        value = os.environ.pop(var, None)
        if value:
            taken[var] = value
    with _lock:
        _held.update(taken)
    return taken


def held_key_material() -> dict[str, str]:
    """The key material :func:`withhold_key_material` took out of ``os.environ``."""
    with _lock:
        return dict(_held)


def without_key_material(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """A copy of ``environ`` (default ``os.environ``) without the variables children never see."""
    env = os.environ if environ is None else environ
    return {k: v for k, v in env.items() if k not in CHILD_HIDDEN_VARS}


def redaction_started(redactor: Redactor | None = None) -> None:
    """What every hook does when it starts (:func:`redactor.install`): register the store's key
    material and take it out of the environment children inherit, and call the
    :func:`on_redaction_started` listeners (the channel opens the socket through which child
    processes register what they fetch)."""
    withhold_key_material(redactor)
    for listener in list(_started_listeners):
        listener(redactor)


def redaction_stopped() -> None:
    """Undo :func:`redaction_started` (the :func:`on_redaction_stopped` listeners: the channel
    closes); the registered values stay."""
    for listener in list(_stopped_listeners):
        listener()


def _key_notations(text: str) -> list[str]:
    """The master key in the other notations it may be given or shown in (hex either case,
    base64 standard or URL-safe, padded or not): the same 32 bytes however they are written."""
    key = b""
    if len(text) == 64:
        try:
            key = bytes.fromhex(text)
        except ValueError:
            key = b""
    if not key:
        padded = text + "=" * (-len(text) % 4)
        for altchars in (None, b"-_"):
            try:
                key = base64.b64decode(padded.encode("ascii"), altchars=altchars, validate=True)
                break
            except (binascii.Error, ValueError, UnicodeEncodeError):
                continue
    if len(key) != 32:
        return []
    std, url = base64.b64encode(key).decode(), base64.urlsafe_b64encode(key).decode()
    return [key.hex(), key.hex().upper(), std, std.rstrip("="), url, url.rstrip("=")]


def redact(text: str) -> str:
    """Redact ``text`` with the process-wide redactor."""
    return get_redactor().redact(text)
