"""The documented import path; the implementation lives in :mod:`redactor.sinks.jupyter`."""

from redactor.sinks.jupyter import *  # noqa: F403  (exactly its public names)
from redactor.sinks.jupyter import __all__ as __all__
