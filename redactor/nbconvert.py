"""The documented import path; the implementation lives in ``redactor.sinks.nbconvert``."""

from redactor.sinks.nbconvert import (
    RedactPreprocessor,
)

__all__ = [
    "RedactPreprocessor",
]
