"""THE silence timer: release what a stream holds back once nothing has followed for a while.

A :class:`redactor.engine.stream.Stream` holds back a tail that could still grow into a secret.
Where output can stop for good in the middle of a line (a prompt, a progress bar, a thread that
prints after its cell ended), someone must decide that nothing more is coming: the fd pumps of
:mod:`redactor.sinks.stdio` after ``FD_HOLD_SECONDS`` of silence, the kernel hook after
``LATE_RELEASE_SECONDS``. One timer serves both.

It lives in the engine because it belongs to the stream (it ends a stream's hold-back, and
knows nothing of fds, sockets or IPython), and the engine is the one place that every area
(sinks, the IPython adapter) may import publicly. It uses only the standard library.

The guarantee the owners need: once the owner, holding its ``lock``, has called :meth:`restart`
or :meth:`cancel`, an earlier arming never fires. A ``threading.Timer`` alone cannot promise that
(``cancel()`` does not stop a callback already waiting for the owner's lock), so each arming
carries a token that the firing thread checks under that lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

__all__ = ["SilenceTimer"]


class SilenceTimer:
    """Calls ``action`` once ``delay`` seconds pass after the latest :meth:`restart`, unless
    :meth:`cancel` or another :meth:`restart` comes first.

    ``action`` runs on the timer's thread while holding ``lock`` (the owner's lock, which the
    owner also holds when it feeds its stream, restarts or cancels), so a release never
    interleaves with a feed. What must happen outside that lock (sending on a socket that another
    thread may be waiting to use while it wants the lock) ``action`` returns as a callable, which
    is called once the lock is released. The threads are daemons: a timer never keeps a process
    alive.
    """

    __slots__ = ("_action", "_delay", "_lock", "_name", "_thread", "_token")

    def __init__(
        self,
        delay: float,
        action: Callable[[], Callable[[], Any] | None],
        lock: Any,
        *,
        name: str = "redactor-silence",
    ) -> None:
        self._delay = delay
        self._action = action
        self._lock = lock
        self._name = name
        self._thread: threading.Timer | None = None
        self._token: object | None = None

    @property
    def delay(self) -> float:
        return self._delay

    @property
    def armed(self) -> bool:
        """Whether a release is due (restarted, and neither fired nor cancelled since)."""
        return self._token is not None

    def restart(self) -> None:
        """Fire ``delay`` seconds from now (and not at the time set before). Call under ``lock``."""
        self.cancel()
        token = self._token = object()
        thread = threading.Timer(self._delay, self._fire, args=(token,))
        thread.name = self._name
        thread.daemon = True
        self._thread = thread
        thread.start()

    def cancel(self) -> None:
        """Do not fire (more output came, or it was released otherwise). Call under ``lock``."""
        self._token = None
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.cancel()

    def _fire(self, token: object) -> None:
        with self._lock:
            if token is not self._token:
                return  # cancelled or restarted meanwhile
            self._token = None
            self._thread = None
            after = self._action()
        if after is not None:
            after()
