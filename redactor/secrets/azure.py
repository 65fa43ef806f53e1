"""The documented import path; the implementation lives in :mod:`redactor.sources.scopes.azure`."""

from redactor.sources.scopes.azure import *  # noqa: F403  (exactly its public names)
from redactor.sources.scopes.azure import __all__ as __all__
