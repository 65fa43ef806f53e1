"""The documented import path; the implementation lives in :mod:`redactor.sinks.logging`."""

from redactor.sinks.logging import *  # noqa: F403  (exactly its public names)
from redactor.sinks.logging import __all__ as __all__
