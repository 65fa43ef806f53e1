"""The documented import path; the implementation lives in ``redactor.sinks.spark``."""

from redactor.sinks.spark import (
    redact_dataframe,
    release_secrets,
    scrub_files,
)

__all__ = [
    "redact_dataframe",
    "release_secrets",
    "scrub_files",
]
