"""Plaintext held for the length of one store call, out of reach of tracebacks with locals.

A traceback printed with its frames' locals (``pytest --showlocals``, rich's
``show_locals``, ``traceback.TracebackException(capture_locals=True)``, a debugger) shows every
local of every frame by ``repr``. So the store's frames never keep a value in a plain local at
a point where they can raise: the value lives in a :class:`Plain`, whose ``repr`` hides it and
which the call empties (:meth:`Plain.clear`) in a ``finally`` before the traceback is formatted.
"""

from __future__ import annotations

__all__ = ["Plain"]


class Plain:
    """One value (str or bytes) in transit; ``repr`` never shows it."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value: object = value

    def __repr__(self) -> str:
        return "<plaintext hidden>" if self.value is not None else "<plaintext cleared>"

    def clear(self) -> None:
        self.value = None
