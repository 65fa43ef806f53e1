"""The documented import path; the implementation lives in ``redactor.sinks.logging``."""

from redactor.sinks.logging import (
    RedactingFilter,
    redact_number,
    redact_value,
)

__all__ = [
    "RedactingFilter",
    "redact_number",
    "redact_value",
]
