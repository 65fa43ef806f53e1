"""The documented import path; the implementation lives in :mod:`redactor.sinks.nbconvert`."""

from redactor.sinks.nbconvert import *  # noqa: F403  (exactly its public names)
from redactor.sinks.nbconvert import __all__ as __all__
