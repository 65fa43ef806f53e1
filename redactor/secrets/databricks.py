"""The documented import path; the implementation lives in
:mod:`redactor.sources.scopes.databricks`."""

from redactor.sources.scopes.databricks import *  # noqa: F403  (exactly its public names)
from redactor.sources.scopes.databricks import __all__ as __all__
