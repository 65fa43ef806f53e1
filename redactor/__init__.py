"""redactor: keep every secret value a process has fetched out of everything it prints.

The public surface is small: the engine (:class:`Redactor`), the process-wide default instance
(:func:`add_secret`, :func:`redact`, :func:`get_redactor`), the encoder registry and
:func:`resolve` for ``{{secrets/scope/key}}`` references. Hooks and integrations live in their own
modules and depend only on these.
"""

from __future__ import annotations

import importlib as _importlib

from redactor.engine.default import (
    add_secret,
    get_redactor,
    on_redaction_started,
    on_redaction_stopped,
    on_secret_added,
    redact,
    set_redactor,
)
from redactor.engine.encodings import Encoding, default_encodings, registry
from redactor.engine.encodings import register as register_encoding
from redactor.engine.matchers import ENGINES, hyperscan_available
from redactor.engine.redactor import EngineUnavailable, Redactor, RedactorWarning, Region
from redactor.engine.silence import SilenceTimer
from redactor.engine.stream import BytesStreamRedactor, Stream, StreamRedactor
from redactor.engine.walk import redact_value
from redactor.errors import RedactorError

__version__ = "0.1.0"

# Integrations load on first use, so `import redactor` stays cheap for the engine alone.
_LAZY = {
    "dbutils": "redactor.sources.scopes",
    "install": "redactor.sinks.stdio",
    "uninstall": "redactor.sinks.stdio",
    "RedactingFilter": "redactor.sinks.logging",
    "structlog_processor": "redactor.sinks.structlog",
    "resolve": "redactor.sources.references",
    "UnresolvedReferenceError": "redactor.sources.references",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'redactor' has no attribute {name!r}")
    return getattr(_importlib.import_module(module), name)


__all__ = [
    "ENGINES",
    "BytesStreamRedactor",
    "Encoding",
    "EngineUnavailable",
    "RedactingFilter",
    "Redactor",
    "RedactorError",
    "RedactorWarning",
    "Region",
    "SilenceTimer",
    "Stream",
    "StreamRedactor",
    "UnresolvedReferenceError",
    "add_secret",
    "dbutils",
    "default_encodings",
    "get_redactor",
    "hyperscan_available",
    "install",
    "redact",
    "redact_value",
    "register_encoding",
    "registry",
    "resolve",
    "set_redactor",
    "structlog_processor",
    "uninstall",
]


# The channel that carries secrets from child processes to the process carrying their output
# (redactor.sources.channel) hooks into the default redactor here, since the engine imports nothing
# above it: add_secret announces, install() opens and closes it. The module loads on first use:
# its socket and tempfile imports add 10 ms to `import redactor` (70 -> 80 ms, measured), which a
# Spark executor or a script that never adds a secret does not need.
_CHANNEL = "redactor.sources.channel"


def _announce(name: str | None, value: str | bytes) -> None:
    _importlib.import_module(_CHANNEL).announce(name, value)


def _open_channel(redactor: Redactor | None) -> None:
    _importlib.import_module(_CHANNEL).open_for_install(redactor)


def _close_channel() -> None:
    _importlib.import_module(_CHANNEL).close_for_install()


on_secret_added(_announce)
on_redaction_started(_open_channel)
on_redaction_stopped(_close_channel)


# The IPython adapter (the folder ipython_extension/, installed as redactor.ipython_extension) is
# loaded by name when IPython asks for it, like the integrations above: it imports this package,
# so a static import here would be a cycle, and `import redactor` would pull in the adapter.
_ADAPTER = "redactor.ipython_extension"


def load_ipython_extension(ip: object) -> None:
    """``%load_ext redactor``: hook every output path of this IPython shell or kernel."""
    _importlib.import_module(_ADAPTER).load_ipython_extension(ip)


def unload_ipython_extension(ip: object) -> None:
    """``%unload_ext redactor``: restore everything the extension changed."""
    _importlib.import_module(_ADAPTER).unload_ipython_extension(ip)
