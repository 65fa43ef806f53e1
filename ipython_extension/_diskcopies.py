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
"""

from __future__ import annotations

from typing import Any

import redactor

__all__ = ["HistoryHook", "LogHook"]


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
