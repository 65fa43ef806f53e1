"""The documented import path; the implementation lives in ``redactor.sinks.structlog``."""

from redactor.sinks.structlog import (
    StructlogRedactor,
    structlog_processor,
)

__all__ = [
    "StructlogRedactor",
    "structlog_processor",
]
