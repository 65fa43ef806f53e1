"""The documented import path; the implementation lives in :mod:`redactor.sources.scopes.vault`."""

from redactor.sources.scopes.vault import *  # noqa: F403  (exactly its public names)
from redactor.sources.scopes.vault import __all__ as __all__
