"""IPython's own copies on disk: the ``%logstart`` log file and the history database's outputs.

Both are written by IPython itself, below every output hook, so both get their own hook.

* ``%logstart`` (``IPython.core.logger.Logger.log_write``): what a cell writes to the log (its
  input line and, with ``-o``, its ``#[Out]#`` lines) is held until ``post_run_cell`` and then
  written redacted. Holding it until the cell has run means a cell that types a secret value and
  registers it (``redactor.add_secret("...")``) does not leave that value in the log either;
  lines logged in earlier cells, before a value was registered, stay as they were written.
  Anything written outside a cell (``%logstop`` in the middle of one, ``%logstart``'s replay of
  earlier input) is written out, redacted, first.
* The history database (``HistoryManager(db_log_output=True)``): the output repr stored for each
  cell in the ``output_history`` table is redacted before it is queued for the database. The
  ``history`` table of inputs is left alone: IPython reads it back (arrow-up, ``%rerun``,
  ``%recall``), and a rewritten input would run differently.
* ``%notebook file.ipynb`` exports the session from the history manager's in-memory record of
  every cell's outputs (streams, results, displays, errors), which IPython keeps raw. While the
  magic runs it sees redacted copies (a stream's pieces joined first, so a secret split across
  writes is caught) and redacted cell sources, so the file is written clean the first time.
"""

from __future__ import annotations

from typing import Any

import redactor
from redactor.logging import redact_value

__all__ = ["HistoryHook", "LogHook", "NotebookExportHook"]


class LogHook:
    """Redacts what IPython's ``Logger`` writes, holding a cell's writes until it has run."""

    def __init__(self, ip: Any) -> None:
        self.ip = ip
        self.logger: Any = None
        self.pending: list[tuple[str, str, bool]] = []
        self.in_cell = False
        self._originals: dict[str, Any] = {}

    def install(self) -> bool:
        logger = getattr(self.ip, "logger", None)
        if logger is None or not callable(getattr(logger, "log_write", None)):
            return False
        self.logger = logger
        for name, hook in (
            ("log_write", self._log_write),
            ("logstop", self._before(logger.logstop)),
            ("switch_log", self._before(logger.switch_log)),
            ("close_log", self._before(logger.close_log)),
        ):
            if name in vars(logger):  # an instance attribute already: leave that one alone
                continue
            self._originals[name] = getattr(logger, name)
            setattr(logger, name, hook)
        self.ip.events.register("pre_run_cell", self._pre_run_cell)
        self.ip.events.register("post_run_cell", self._post_run_cell)
        return True

    def _before(self, method: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            self.flush()
            return method(*args, **kwargs)

        return call

    def _log_write(self, data: str, kind: str = "input") -> None:
        logger = self.logger
        if not (logger.log_active and data):
            return
        if self.in_cell:
            self.pending.append((data, kind, bool(logger.timestamp)))
            return
        self._write(data, kind, bool(logger.timestamp))

    def _write(self, data: str, kind: str, timestamp: bool) -> None:
        logger = self.logger
        write = self._originals["log_write"]
        text = redactor.get_redactor().redact(data) if isinstance(data, str) else data
        saved = logger.timestamp, logger.log_active
        logger.timestamp, logger.log_active = timestamp, True
        try:
            write(text, kind)
        finally:
            logger.timestamp, logger.log_active = saved

    def flush(self) -> None:
        pending, self.pending = self.pending, []
        if self.logger is None or self.logger.logfile is None:
            return
        for data, kind, timestamp in pending:
            self._write(data, kind, timestamp)

    def _pre_run_cell(self, *args: Any) -> None:
        self.flush()
        self.in_cell = True

    def _post_run_cell(self, *args: Any) -> None:
        self.in_cell = False
        self.flush()

    def uninstall(self) -> None:
        self.in_cell = False
        self.flush()
        for event, callback in (
            ("pre_run_cell", self._pre_run_cell),
            ("post_run_cell", self._post_run_cell),
        ):
            try:
                self.ip.events.unregister(event, callback)
            except ValueError:
                pass
        if self.logger is not None:
            for name in self._originals:
                self.logger.__dict__.pop(name, None)
        self._originals.clear()


class HistoryHook:
    """Redacts each output repr before the history manager queues it for ``output_history``."""

    def __init__(self, ip: Any) -> None:
        self.ip = ip
        self.manager: Any = None

    def install(self) -> bool:
        manager = getattr(self.ip, "history_manager", None)
        if manager is None or not callable(getattr(manager, "store_output", None)):
            return False
        if "store_output" in vars(manager):
            return False
        original = manager.store_output

        def store_output(line_num: int) -> None:
            reprs = getattr(manager, "output_hist_reprs", None)
            if not isinstance(reprs, dict) or line_num not in reprs:
                return original(line_num)
            raw = reprs[line_num]
            # The database gets the redacted text; the in-memory copy (``%history -o``, printed
            # through the redacted streams) stays as it was.
            reprs[line_num] = redactor.get_redactor().redact(raw) if isinstance(raw, str) else raw
            try:
                return original(line_num)
            finally:
                reprs[line_num] = raw

        manager.store_output = store_output
        self.manager = manager
        return True

    def uninstall(self) -> None:
        if self.manager is not None:
            self.manager.__dict__.pop("store_output", None)
            self.manager = None


class NotebookExportHook:
    """``%notebook``: the export reads redacted copies of the in-memory history."""

    def __init__(self, ip: Any) -> None:
        self.ip = ip
        self.original: Any = None
        self.wrapper: Any = None

    def install(self) -> bool:
        line_magics = getattr(getattr(self.ip, "magics_manager", None), "magics", {}).get("line")
        find = getattr(self.ip, "find_line_magic", None)
        if not isinstance(line_magics, dict) or find is None:
            return False
        # IPython 9 may hold a lazy stand-in that resolves through the table: resolve it first,
        # or the stand-in would find this wrapper and call itself.
        original = find("notebook")
        if original is None or getattr(self.ip, "history_manager", None) is None:
            return False

        def notebook(line: str) -> Any:
            manager = self.ip.history_manager
            # outputs is a plain class attribute, get_range a method (both shadowed on the
            # instance for the call), exceptions a traitlets Dict (assigned and assigned back).
            shadowed = {
                name: vars(manager).get(name, _MISSING) for name in ("outputs", "get_range")
            }
            exceptions = manager.exceptions
            plain_range = manager.get_range
            r = redactor.get_redactor()

            def get_range(*args: Any, **kwargs: Any) -> Any:
                for session, line_num, source in plain_range(*args, **kwargs):
                    if isinstance(source, str):
                        source = r.redact(source)
                    yield session, line_num, source

            try:
                manager.outputs = _redacted_outputs(manager.outputs, r)
                manager.exceptions = {n: redact_value(e, r) for n, e in exceptions.items()}
                manager.get_range = get_range
                return original(line)
            finally:
                manager.exceptions = exceptions
                for name, value in shadowed.items():
                    if value is _MISSING:
                        vars(manager).pop(name, None)
                    else:
                        vars(manager)[name] = value

        notebook.__doc__ = original.__doc__
        line_magics["notebook"] = notebook
        self.original, self.wrapper = original, notebook
        return True

    def uninstall(self) -> None:
        line_magics = self.ip.magics_manager.magics.get("line", {})
        if self.wrapper is not None and line_magics.get("notebook") is self.wrapper:
            line_magics["notebook"] = self.original
        self.original = self.wrapper = None


_MISSING = object()


def _redacted_outputs(outputs: Any, r: Any) -> Any:
    import copy
    from collections import defaultdict

    result: defaultdict[int, list[Any]] = defaultdict(list)
    for line_num, items in dict(outputs).items():
        for item in items:
            clone = copy.copy(item)
            bundle = dict(getattr(item, "bundle", {}) or {})
            if isinstance(bundle.get("stream"), list):
                joined = "".join(x for x in bundle["stream"] if isinstance(x, str))
                bundle["stream"] = [r.redact(joined)]
            else:
                bundle = redact_value(bundle, r)
            clone.bundle = bundle
            result[line_num].append(clone)
    return result
