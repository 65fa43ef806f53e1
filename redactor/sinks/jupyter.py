"""A pre-save hook for Jupyter Server: every notebook JupyterLab saves is scrubbed first.

Enable it in ``jupyter_server_config.py``::

    c.FileContentsManager.pre_save_hook = "redactor.jupyter.pre_save_hook"

(or call ``contents_manager.register_pre_save_hook(pre_save_hook)``).

Where the secrets come from, for each save:

* the process-wide redactor of the *server* process (``redactor.add_secret`` or
  ``dbutils.secrets.get`` called in ``jupyter_server_config.py`` or a server extension; the
  kernels are other processes, their secrets are not seen here), and
* the sources of the config file nearest to the notebook (a ``.redactor.toml``, or
  ``[tool.redactor]`` in a ``pyproject.toml``; ``REDACTOR_CONFIG`` names one) (``scopes``, ``secret-env``, ``env-pattern`` read in the server's environment,
  ``secrets-file``), rebuilt when that file or a secrets file changes, and at most every
  five minutes for scopes.

With no secret from either, a save goes through untouched. Outputs, attachments and metadata are
scrubbed; a secret in a cell's source is only logged (cell, line, secret name), since the code is
still open in the browser. A broken ``[tool.redactor]`` rejects the save with an HTTP 400 error
that says what is wrong, rather than write secrets to disk; Jupyter Server would otherwise log an
exception from the hook and save the notebook unscrubbed.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from redactor.config import config_path, resolve
from redactor.engine.default import get_redactor
from redactor.engine.redactor import Redactor
from redactor.errors import RedactorError
from redactor.sinks.notebook import NotebookError, scrub_notebook
from redactor.sources.load import build_redactor

__all__ = ["clear_cache", "pre_save_hook"]

_CACHE_SECONDS = 300.0
_cache: dict[Path, tuple[tuple, float, Redactor]] = {}
_cache_lock = threading.Lock()


def clear_cache() -> None:
    """Forget the redactors built from pyproject files (tests, or after rotating secrets)."""
    with _cache_lock:
        _cache.clear()


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return -1


def _configured_redactor(folder: Path) -> Redactor | None:
    """The redactor for the config file of ``folder`` (cached), or None: the one
    ``REDACTOR_CONFIG`` in the server's environment names, else the nearest ``.redactor.toml`` or
    ``pyproject.toml`` with ``[tool.redactor]``.

    Fails closed: sources that cannot be read, or that hold no secret value (a variable the
    server was not started with), raise ConfigError, which rejects the save; not cached, so the
    next save tries again. ``allow-empty = true`` lets an empty redactor through."""
    pyproject = config_path(cwd=folder)
    if pyproject is None:
        return None
    cfg = resolve(config=pyproject)
    if cfg.empty:
        return None
    key = (_mtime(pyproject), tuple(_mtime(p) for p in cfg.secrets_file))
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(pyproject)
        if hit is not None and hit[0] == key and now - hit[1] < _CACHE_SECONDS:
            return hit[2]
    redactor = build_redactor(cfg)
    with _cache_lock:
        _cache[pyproject] = (key, now, redactor)
    return redactor


def _notebook_folder(path: str, contents_manager: Any) -> Path:
    root = getattr(contents_manager, "root_dir", None) or "."
    return (Path(root) / path.strip("/")).parent


def pre_save_hook(
    model: dict[str, Any], path: str, contents_manager: Any = None, **kwargs: Any
) -> None:
    """Scrub ``model["content"]`` in place of the model before Jupyter Server writes it."""
    if model.get("type") != "notebook" or not isinstance(model.get("content"), dict):
        return
    log = getattr(contents_manager, "log", None)
    redactors = [get_redactor()]
    try:
        configured = _configured_redactor(_notebook_folder(path, contents_manager))
    except RedactorError as exc:  # a broken [tool.redactor] or a source that cannot be read
        from tornado.web import HTTPError

        raise HTTPError(400, f"redactor: cannot scrub {path}: {exc}") from None
    if configured is not None:
        redactors.append(configured)
    if not any(len(r) for r in redactors):
        return
    try:
        content, report = scrub_notebook(model["content"], redactors)
    except NotebookError:
        return  # not a v4 notebook: Jupyter Server's own validation reports it
    if report.changed:
        model["content"] = content
    if log is not None:
        if report.changed:
            log.info(
                "redactor: scrubbed %s before saving: %d redaction(s) (%s)",
                path,
                report.redactions,
                ", ".join(f"{k}: {v}" for k, v in sorted(report.counts.items())),
            )
        for finding in report.source_findings:
            log.warning(
                "redactor: %s: cell %d, line %d: secret %s in the source",
                path,
                finding.cell,
                finding.line,
                finding.secret,
            )
