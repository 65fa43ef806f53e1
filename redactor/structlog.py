"""The documented import path; the implementation lives in :mod:`redactor.sinks.structlog`."""

from redactor.sinks.structlog import *  # noqa: F403  (exactly its public names)
from redactor.sinks.structlog import __all__ as __all__
