"""The documented import path; the implementation lives in ``redactor.sinks.jupyter``."""

from redactor.sinks.jupyter import (
    clear_cache,
    pre_save_hook,
)

__all__ = [
    "clear_cache",
    "pre_save_hook",
]
