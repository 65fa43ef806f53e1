"""The process-wide default redactor that the hooks, the secrets API and the CLI share.

Every value fetched through ``dbutils.secrets.get`` or registered with ``add_secret`` lands here,
so every hook installed in the process redacts it from that moment on.
"""

from __future__ import annotations

import threading

from ._engine import Redactor

__all__ = ["add_secret", "get_redactor", "redact", "set_redactor"]

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


def add_secret(value: str | bytes, name: str | None = None) -> bool:
    """Register a secret with the process-wide redactor."""
    return get_redactor().add(value, name)


def redact(text: str) -> str:
    """Redact ``text`` with the process-wide redactor."""
    return get_redactor().redact(text)
