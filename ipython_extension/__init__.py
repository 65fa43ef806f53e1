"""The IPython/Jupyter integration, installed as ``redactor.ipython_extension``.

Users type ``%load_ext redactor``; :mod:`redactor` forwards to the functions here.
"""

from __future__ import annotations

from typing import Any


def load_ipython_extension(ip: Any) -> None:  # pragma: no cover - replaced by the hooks issue
    raise NotImplementedError("the IPython extension is not built yet")


def unload_ipython_extension(ip: Any) -> None:  # pragma: no cover
    pass
