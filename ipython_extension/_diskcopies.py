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
* ``%notebook file.ipynb``, ``%history -o -f file`` and ``%save file 1-9`` write the session's
  sources and outputs from the history manager, which IPython keeps raw. While they run they see
  redacted copies (see :class:`ExportHook`).
"""

from __future__ import annotations

from typing import Any

import redactor
from redactor.engine.walk import redact_value

__all__ = ["ExportHook", "HistoryHook", "LogHook"]


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


class ExportHook:
    """``%notebook``, ``%history`` (``-f file``) and ``%save`` read redacted copies of history.

    IPython keeps every cell's source and outputs raw in memory (and inputs in its database);
    these magics write them to a file. While one of them runs, the history manager's readers
    (``get_range``, ``get_range_by_str``, ``get_tail``, ``search``) and its in-memory
    ``outputs``/``exceptions`` are shadowed by redacted copies, so the file is written clean the
    first time (a stream written in pieces is joined before it is redacted). ``%save NAME`` of a
    variable or a file writes that object's own content and is not covered.
    """

    MAGICS = ("notebook", "history", "save")

    def __init__(self, ip: Any) -> None:
        self.ip = ip
        self.wrapped: dict[str, tuple[Any, Any]] = {}

    def install(self) -> bool:
        line_magics = getattr(getattr(self.ip, "magics_manager", None), "magics", {}).get("line")
        find = getattr(self.ip, "find_line_magic", None)
        if not isinstance(line_magics, dict) or find is None:
            return False
        if getattr(self.ip, "history_manager", None) is None:
            return False
        for name in self.MAGICS:
            # IPython 9 may hold a lazy stand-in that resolves through the table: resolve it
            # first, or the stand-in would find the wrapper and call itself.
            original = find(name)
            if original is None:
                continue
            wrapper = self._wrap(original)
            line_magics[name] = wrapper
            self.wrapped[name] = (original, wrapper)
        return bool(self.wrapped)

    def _wrap(self, original: Any) -> Any:
        def magic(*args: Any, **kwargs: Any) -> Any:
            manager = self.ip.history_manager
            with _RedactingHistory(manager, redactor.get_redactor()):
                return original(*args, **kwargs)

        magic.__doc__ = original.__doc__
        return magic

    def uninstall(self) -> None:
        line_magics = self.ip.magics_manager.magics.get("line", {})
        for name, (original, wrapper) in self.wrapped.items():
            if line_magics.get(name) is wrapper:
                line_magics[name] = original
        self.wrapped.clear()


_MISSING = object()
_READERS = ("get_range", "get_range_by_str", "get_tail", "search")


class _RedactingHistory:
    """Shadow the history manager's readers and in-memory outputs with redacted copies."""

    def __init__(self, manager: Any, r: Any) -> None:
        self.manager, self.r = manager, r
        self.shadowed: dict[str, Any] = {}
        self.exceptions: Any = _MISSING

    def __enter__(self) -> None:
        manager, r = self.manager, self.r
        # outputs is a plain class attribute and the readers are methods: both shadowed on the
        # instance for the call; exceptions is a traitlets Dict: assigned, then assigned back.
        for name in ("outputs", *_READERS):
            self.shadowed[name] = vars(manager).get(name, _MISSING)
        for name in _READERS:
            reader = getattr(manager, name, None)
            if callable(reader):
                setattr(manager, name, _redacting_reader(reader, r))
        outputs = getattr(manager, "outputs", None)
        if isinstance(outputs, dict):
            manager.outputs = _redacted_outputs(outputs, r)
        exceptions = getattr(manager, "exceptions", None)
        if isinstance(exceptions, dict):
            self.exceptions = exceptions
            manager.exceptions = {n: redact_value(e, r) for n, e in exceptions.items()}

    def __exit__(self, *exc: Any) -> None:
        manager = self.manager
        if self.exceptions is not _MISSING:
            manager.exceptions = self.exceptions
        for name, value in self.shadowed.items():
            if value is _MISSING:
                vars(manager).pop(name, None)
            else:
                vars(manager)[name] = value


def _redacting_reader(reader: Any, r: Any) -> Any:
    def read(*args: Any, **kwargs: Any) -> Any:
        return [_redacted_entry(entry, r) for entry in reader(*args, **kwargs)]

    return read


def _redacted_entry(entry: Any, r: Any) -> Any:
    """``(session, line, source)`` or ``(session, line, (source, output))``, redacted."""
    if not (isinstance(entry, tuple) and len(entry) == 3):
        return entry
    session, line, data = entry
    if isinstance(data, tuple):
        data = tuple(r.redact(x) if isinstance(x, str) else x for x in data)
    elif isinstance(data, str):
        data = r.redact(data)
    return (session, line, data)


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
