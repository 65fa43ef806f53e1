"""The documented import path; the implementation lives in :mod:`redactor.sinks.spark`."""

from redactor.sinks.spark import *  # noqa: F403  (exactly its public names)
from redactor.sinks.spark import __all__ as __all__
