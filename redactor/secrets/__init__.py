"""The documented import path; the implementation lives in :mod:`redactor.sources.scopes`."""

from redactor.sources.scopes import *  # noqa: F403  (exactly its public names)
from redactor.sources.scopes import __all__ as __all__
