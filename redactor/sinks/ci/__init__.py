"""CI log streams: the ``::add-mask::`` protocol (:mod:`.protocol`) and the fd pumps with their
signal handling (:mod:`.fdio`) that ``redactor filter`` and ``redactor run`` are built on."""

from __future__ import annotations

from redactor.sinks.ci.fdio import (
    CHUNK_SIZE,
    STOP_GRACE,
    Interrupts,
    OutputClosed,
    pump,
    read_some,
    write_all,
)
from redactor.sinks.ci.protocol import (
    MAX_COMMAND_LINE,
    MaskingFilter,
    escape_mask_data,
    unescape_legacy_data,
    unescape_mask_data,
)

__all__ = [
    "CHUNK_SIZE",
    "MAX_COMMAND_LINE",
    "STOP_GRACE",
    "Interrupts",
    "MaskingFilter",
    "OutputClosed",
    "escape_mask_data",
    "pump",
    "read_some",
    "unescape_legacy_data",
    "unescape_mask_data",
    "write_all",
]
