"""Redact ``sys.stdout`` / ``sys.stderr`` (and optionally file descriptors 1 and 2) of a process.

Three parts, along their seams: :mod:`.textio` (the text wrapper, :class:`RedactingTextIO`),
:mod:`.fdpump` (:class:`FdPump`, the pipe and reader thread behind a file descriptor, and the
exit hand-over) and :mod:`.state` (:func:`install` / :func:`uninstall`, and what stays in force
at interpreter exit). :mod:`.pty` puts a command on a pseudo-terminal whose output it redacts,
for ``redactor run --pty``; it is imported from there, not re-exported here.
"""

from __future__ import annotations

from redactor.sinks.stdio.fdpump import (
    FD_HOLD_SECONDS,
    FdPump,
    flush_c_stdio,
    write_fd,
)
from redactor.sinks.stdio.state import fds_routed, install, installed, uninstall
from redactor.sinks.stdio.textio import RedactingTextIO

__all__ = [
    "FD_HOLD_SECONDS",
    "FdPump",
    "RedactingTextIO",
    "fds_routed",
    "flush_c_stdio",
    "install",
    "installed",
    "uninstall",
    "write_fd",
]
