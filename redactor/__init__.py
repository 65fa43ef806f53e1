"""redactor: keep every secret value a process has fetched out of everything it prints.

The public surface is small: the engine (:class:`Redactor`), the process-wide default instance
(:func:`add_secret`, :func:`redact`, :func:`get_redactor`) and the encoder registry. Hooks and
integrations live in their own modules and depend only on these.
"""

from __future__ import annotations

from ._default import add_secret, get_redactor, redact, set_redactor
from ._encodings import Encoding, default_encodings, register as register_encoding, registry
from ._engine import Redactor, RedactorWarning
from ._stream import BytesStreamRedactor, StreamRedactor

__version__ = "0.1.0"

__all__ = [
    "BytesStreamRedactor",
    "Encoding",
    "Redactor",
    "RedactorWarning",
    "StreamRedactor",
    "add_secret",
    "default_encodings",
    "get_redactor",
    "redact",
    "register_encoding",
    "registry",
    "set_redactor",
]


def load_ipython_extension(ip: object) -> None:
    """``%load_ext redactor``: hook every output path of this IPython shell or kernel."""
    from .ipython_extension import load_ipython_extension as load

    load(ip)


def unload_ipython_extension(ip: object) -> None:
    """``%unload_ext redactor``: restore everything the extension changed."""
    from .ipython_extension import unload_ipython_extension as unload

    unload(ip)
