"""The kernel side: one hook on the kernel's ``Session``, which every outgoing message goes through.

ipykernel sends everything (streams, ``display_data``, ``execute_result``, ``error``, every
``*_reply``, ``input_request``, comm messages) through the single ``jupyter_client`` ``Session``
of the kernel, ``ip.kernel.session``. Per-path hooks (``display_pub.register_hook``,
``OutStream.register_hook``) miss most of these, or run on the wrong thread; the session does not.

Two instance attributes of that session are replaced:

* ``serialize(msg, ident)``: redacts every string in ``content`` and ``metadata`` (recursively,
  dict keys too) before packing. Anything serialized by anyone is redacted: the catch-all.
* ``send(stream, msg_or_type, ...)``: does the same, and also keeps ``stream`` messages chunk-safe.
  The kernel flushes stdout/stderr on a 0.2 s timer, so one ``print`` of a secret can arrive as two
  ``stream`` messages. Each (parent ``msg_id``, stream name) gets a stream redactor that passes text
  on at once except the shortest tail that could be the start of a secret; that tail is sent,
  redacted, right before the next non-stream message of the same parent (a ``display_data``, the
  ``execute_reply``, ``input_request``, the ``idle`` status), so output order is kept and nothing
  is lost. Output that arrives after the cell's ``idle`` (from a thread) is released after
  ``late_release`` seconds of silence instead. Binary ``buffers`` (comms) are redacted as bytes.

Header and parent header are left alone: they carry message ids that routing depends on.

Most messages hold no secret, and walking them costs more than finding that out. A message of a
few plain JSON values (:func:`redactor.engine.walk.leaf_texts`: a display, a reply) has its
strings, keys and numbers scanned at once and, when nothing is found, goes on to be packed as
usual. A larger one is packed here and its JSON text scanned once (see
:func:`redactor.engine.walk.dumps_unchanged`, which proves that the walker would return it as it
is); when nothing is found it goes out with that very text as its packed content. Only a message
in which a scan finds something is walked and rebuilt. On Hyperscan at 1,000 secrets the hook's
added time for a DataFrame-sized display (5 KB of HTML and its text, a Session on real sockets)
went from 24 to 9 us with the texts scanned directly (no JSON text to build twice, no escapes
to undo, no brackets to count); in a kernel pinned to one core, 1,000 such displays took 13 ms
more CPU than without the extension, against 28 ms before (``bench_ipython.py``).
"""

from __future__ import annotations

import functools
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from functools import partial
from typing import Any

from redactor import get_redactor
from redactor.engine.redactor import Redactor
from redactor.engine.silence import SilenceTimer
from redactor.engine.stream import Stream
from redactor.engine.walk import dumps_unchanged, finds_any, leaf_texts, redact_value

__all__ = ["SessionHook", "StreamHoldBack", "redact_content"]

#: Seconds of silence after which text held back for a finished cell (thread output) goes out.
LATE_RELEASE_SECONDS = 2.0

#: What the hook announces to each redactor it uses (``Redactor.announce``): a kernel's output
#: over a session is unbounded and every message waits for its scan, so under ``engine="auto"``
#: the fast engine is compiled (in the background, the reference answering meanwhile) from the
#: first message on, not after the work has paid for the compile: 16 bytes per pattern byte,
#: 145 MB of output at 1,000 secrets (144,034 forms), which a notebook may never reach while
#: every display pays the reference's scan (about 0.2 ms for 7 KB). A fixed engine
#: (``REDACTOR_ENGINE=ahocorasick``) ignores it.
KERNEL_WORK = 1 << 40

#: How long ``%load_ext`` waits for that compile: a compile this short (1 to 1.2 s in a kernel at
#: 1,000 secrets of 32 to 52 characters, plan included, since redactor.engine.plan) is better
#: paid once at load than by the first cells, which would run on the reference meanwhile and
#: share the cores with it (a 10 MB print cell 4.5 times as long as without the extension,
#: bench_ipython.py --fresh; with a 1 s wait, which the compile overran, the display cell after
#: it still 1.3 times). A longer one goes on in the background, as before.
LOAD_SETTLE_SECONDS = 2.0


def redact_content(value: Any, redactor: Redactor) -> Any:
    """``value`` (a message's content, metadata or a binary buffer) redacted by the engine's
    walker (:func:`redactor.engine.walk.redact_value`): every string, dict keys included; bytes;
    numbers whose text holds a secret; containers copied only if changed."""
    return redact_value(value, redactor)


class _Held:
    """One (parent, stream name): its stream and where to send a released tail."""

    __slots__ = ("ident", "parent", "socket", "stream")

    def __init__(
        self, source: Callable[[], Redactor], socket: Any, parent: dict, ident: Any
    ) -> None:
        # Following the source: when the default redactor is replaced, the stream releases what
        # it holds through the old one and starts afresh on the new one.
        self.stream: Stream[str] = Stream(source)
        self.socket = socket
        self.parent = parent
        self.ident = ident


class StreamHoldBack:
    """The hold-back bookkeeping, without sockets: what to send now, what to release later.

    ``feed(key, text)`` returns the text to send now for that (parent id, stream name) key;
    ``release(parent_id)`` returns ``[(key, held, text)]`` for every stream of that parent that
    still holds something, and forgets them.
    """

    def __init__(self, redactor_getter: Callable[[], Redactor] = get_redactor) -> None:
        self._get = redactor_getter
        self._held: dict[tuple[str, str], _Held] = {}

    def __len__(self) -> int:
        return len(self._held)

    def feed(
        self, key: tuple[str, str], text: str, socket: Any = None, parent: Any = None, ident=None
    ) -> str:
        held = self._held.get(key)
        if held is None:
            held = self._held[key] = _Held(self._get, socket, parent or {}, ident)
        else:
            held.socket, held.ident = socket, ident
            if parent:
                held.parent = parent
        out = held.stream.feed(text)
        if not held.stream.pending:
            del self._held[key]  # nothing held: no state to keep for this key
        return out

    def pending(self, key: tuple[str, str]) -> int:
        held = self._held.get(key)
        return held.stream.pending if held is not None else 0

    def release(self, parent_id: str | None = None) -> list[tuple[tuple[str, str], _Held, str]]:
        """Flush the streams of ``parent_id`` (all of them for ``None``)."""
        out = []
        for key in [k for k in self._held if parent_id is None or k[0] == parent_id]:
            held = self._held.pop(key)
            text = held.stream.flush()
            if text:
                out.append((key, held, text))
        return out


class _Local(threading.local):
    raw = False


class SessionHook:
    """Installs itself on one ``jupyter_client.session.Session`` instance, and removes itself."""

    def __init__(
        self,
        session: Any,
        redactor: Redactor | None = None,
        *,
        late_release: float = LATE_RELEASE_SECONDS,
        redact_buffers: bool = True,
    ) -> None:
        self.session = session
        self.redactor = redactor
        self.late_release = late_release
        self.redact_buffers = redact_buffers
        self.active = False
        self._holdback = StreamHoldBack(self._redactor)
        self._lock = threading.RLock()
        self._local = _Local()
        self._finished: OrderedDict[str, None] = OrderedDict()
        self._timers: dict[tuple[str, str], SilenceTimer] = {}
        self._saved: dict[str, Any] = {}
        self.messages = 0  # how many messages went through the hook (for %redactor)
        #: Check a message with one scan of its packed JSON before walking it (see the module's
        #: docstring); False walks every message (the tests compare the two).
        self.fast_path = True
        self.prepacked = 0  # how many of them went out on one scan, unwalked
        self._announced: Redactor | None = None

    def _redactor(self) -> Redactor:
        redactor = self.redactor or get_redactor()
        if redactor is not self._announced:
            # a new process-wide redactor (%redactor detect, replacement, set_redactor) starts
            # its auto policy afresh: tell it once what a kernel's output amounts to
            self._announced = redactor
            redactor.announce(KERNEL_WORK)
        return redactor

    # -- install / uninstall -----------------------------------------------------------------

    def install(self) -> None:
        if self.active:
            return
        instance_attrs = vars(self.session)
        for name in ("send", "serialize"):
            self._saved[name] = instance_attrs.get(name, _MISSING)
        self._orig_send = self.session.send
        self._orig_serialize = self.session.serialize
        self.session.send = self._send
        self.session.serialize = self._serialize
        self.active = True
        # The automaton now, not in the first cell's first output: %load_ext has just swapped
        # the process-wide redactor for one with the detectors, whose matcher is built on first
        # use (0.9 s at 1,000 secrets under load). Under auto this also asks for the background
        # compile (KERNEL_WORK), so it starts before the first cell; a short one is waited for.
        redactor = self._redactor()
        redactor.matcher(False)
        redactor.settle(LOAD_SETTLE_SECONDS)
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._after_fork)

    def uninstall(self) -> None:
        """Send whatever is held back, then put the session's methods back."""
        if not self.active:
            return
        self.release_all()
        instance_attrs = vars(self.session)
        for name, ours in (("send", self._send), ("serialize", self._serialize)):
            if instance_attrs.get(name) == ours:
                saved = self._saved.get(name, _MISSING)
                if saved is _MISSING:
                    delattr(self.session, name)
                else:
                    setattr(self.session, name, saved)
        # If someone wrapped the session after us, our wrappers stay in their chain but pass
        # everything through untouched from now on.
        self.active = False

    def _after_fork(self) -> None:
        # A forked child (multiprocessing) must not inherit a lock held by another thread.
        self._lock = threading.RLock()
        self._timers = {}

    # -- the wrappers --------------------------------------------------------------------------

    def _serialize(self, msg: dict, ident: Any = None, **kwargs: Any) -> list[bytes]:
        if self.active and not self._local.raw:
            redactor = self._redactor()
            msg = self._prepacked(msg, redactor) or self._redact_msg(msg, redactor)
        return self._orig_serialize(msg, ident, **kwargs)

    def _send(
        self,
        stream: Any,
        msg_or_type: Any,
        content: dict | None = None,
        parent: dict | None = None,
        ident: Any = None,
        buffers: list | None = None,
        track: bool = False,
        header: dict | None = None,
        metadata: dict | None = None,
        **kwargs: Any,
    ) -> Any:
        if not self.active:
            return self._orig_send(
                stream,
                msg_or_type,
                content,
                parent,
                ident,
                buffers,
                track,
                header,
                metadata,
                **kwargs,
            )
        if isinstance(msg_or_type, dict):
            msg = msg_or_type
        else:
            msg = self.session.msg(
                msg_or_type, content=content, parent=parent, header=header, metadata=metadata
            )
        self.messages += 1
        msg_type = (msg.get("header") or {}).get("msg_type") or msg.get("msg_type")
        parent_header = msg.get("parent_header") or {}
        parent_id = parent_header.get("msg_id") or ""
        body = msg.get("content")
        if (
            msg_type == "stream"
            and isinstance(body, dict)
            and isinstance(body.get("text"), str)
            and isinstance(body.get("name"), str)
        ):
            return self._send_stream(
                stream, msg, body, parent_id, parent_header, ident, track, kwargs
            )
        redactor = self._redactor()
        if parent_id:
            self._release(parent_id)
        if msg_type == "status" and isinstance(body, dict):
            if body.get("execution_state") == "idle" and parent_id:
                with self._lock:
                    self._finished[parent_id] = None
                    while len(self._finished) > 512:
                        self._finished.popitem(last=False)
        bufs = buffers or msg.get("buffers") or []
        if bufs and self.redact_buffers:
            bufs = [redact_content(b, redactor) for b in bufs]
        packed = self._prepacked(msg, redactor)
        if packed is not None:
            self.prepacked += 1
            sent = self._send_raw(stream, packed, ident, bufs, track, kwargs)
            if not isinstance(sent, dict) or packed is msg:
                return sent  # (a leaf-checked message went out with its content as it is)
            # The caller gets the message as a dict (ipykernel reads reply["content"]["status"]):
            # the content that went out, unpacked, which is the content it gave.
            sent = dict(sent)
            sent["content"] = msg["content"]
            return sent
        out = self._redact_msg(msg, redactor)
        return self._send_raw(stream, out, ident, bufs, track, kwargs)

    def _send_stream(
        self,
        socket: Any,
        msg: dict,
        body: dict,
        parent_id: str,
        parent_header: dict,
        ident: Any,
        track: bool,
        kwargs: dict[str, Any],
    ) -> Any:
        key = (parent_id, body["name"])
        # The lock guards the bookkeeping only; nothing is sent while it is held (sending from a
        # non-IO thread queues on the IOPub thread, which may itself be waiting for this lock).
        with self._lock:
            self._cancel_timer(key)
            text = self._holdback.feed(key, body["text"], socket, parent_header, ident)
            # Output of a finished cell (a thread), or with no parent at all, gets no further
            # message that could release it: a timer does.
            finished = not parent_id or parent_id in self._finished
            if finished and self._holdback.pending(key):
                self._schedule(key)
        if not text:
            msg = dict(msg)
            msg["tracker"] = _done_tracker()
            return msg  # everything is held back for now: nothing to send yet
        out = dict(msg)
        out["content"] = dict(body, text=text)
        if out.get("metadata"):
            out["metadata"] = redact_content(out["metadata"], self._redactor())
        return self._send_raw(socket, out, ident, [], track, kwargs)

    def _send_raw(
        self,
        stream: Any,
        msg: dict,
        ident: Any,
        buffers: list,
        track: bool,
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        """The original send, with serialize told that the message is redacted already."""
        local = self._local
        was, local.raw = local.raw, True
        try:
            return self._orig_send(
                stream, msg, ident=ident, buffers=buffers, track=track, **(kwargs or {})
            )
        finally:
            local.raw = was

    def _prepacked(self, msg: dict, redactor: Redactor) -> dict | None:
        """``msg`` ready to send as it is, when one scan proves that redaction would change
        neither content nor metadata; None when the message needs the walk.

        A message of a few plain JSON values (a display, a reply: :func:`leaf_texts`) is
        checked on its texts and goes on to be packed as usual. A larger one is packed here
        (``Session.serialize`` passes bytes content through) and its packed text scanned
        (:func:`dumps_unchanged`), only with the session's standard packer
        (``jupyter_client.session.json_packer``, whose bytes are exactly that text in UTF-8)
        and no version adapter, which would need the content as a dict."""
        if not self.fast_path:
            return None
        content = msg.get("content")
        if not isinstance(content, dict):
            return None
        metadata = msg.get("metadata")
        # A small message of plain JSON types: one scan of its texts, and it is packed as usual.
        texts = leaf_texts((content, metadata) if metadata else (content,))
        if texts is not None:
            return None if finds_any("\x00".join(texts), redactor) else msg
        session = self.session
        if getattr(session, "pack", None) is not _json_packer() or getattr(
            session, "adapt_version", None
        ):
            return None
        text = dumps_unchanged(content, redactor)
        if text is None:
            return None
        if metadata and dumps_unchanged(metadata, redactor) is None:
            return None
        try:
            packed = text.encode("utf8", errors="surrogateescape")  # as json_packer encodes
        except UnicodeEncodeError:
            return None  # a lone surrogate: json_packer raises too, let the usual path do so
        out = dict(msg)
        out["content"] = packed
        return out

    def _redact_msg(self, msg: dict, redactor: Redactor) -> dict:
        content = msg.get("content")
        metadata = msg.get("metadata")
        new_content = redact_content(content, redactor) if content else content
        new_metadata = redact_content(metadata, redactor) if metadata else metadata
        if new_content is content and new_metadata is metadata:
            return msg
        out = dict(msg)
        out["content"] = new_content
        out["metadata"] = new_metadata
        return out

    # -- releasing held-back stream text -----------------------------------------------------

    def _release(self, parent_id: str | None) -> None:
        with self._lock:
            released = self._take(parent_id)
        self._send_released(released)

    def _take(self, parent_id: str | None) -> list[tuple[tuple[str, str], _Held, str]]:
        """Under the lock: what the streams of ``parent_id`` release, their timers cancelled."""
        released = self._holdback.release(parent_id)
        for key, _, _ in released:
            self._cancel_timer(key)
        return released

    def _send_released(self, released: list[tuple[tuple[str, str], _Held, str]]) -> None:
        for key, held, text in released:
            msg = self.session.msg(
                "stream", content={"name": key[1], "text": text}, parent=held.parent
            )
            self._send_raw(held.socket, msg, held.ident, [], False)

    def release_all(self) -> None:
        """Send everything held back for every cell (unload, shutdown)."""
        self._release(None)

    def _schedule(self, key: tuple[str, str]) -> None:
        """Under the lock: release ``key``'s cell after ``late_release`` s of silence."""
        timer = self._timers.get(key)
        if timer is None:
            timer = self._timers[key] = SilenceTimer(
                self.late_release, partial(self._late, key), self._lock, name="redactor-late"
            )
        timer.restart()

    def _cancel_timer(self, key: tuple[str, str]) -> None:
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()

    def _late(self, key: tuple[str, str]) -> Callable[[], None] | None:
        # Called by the timer under self._lock (a stale timer never gets here); sending
        # happens after the lock is released.
        self._timers.pop(key, None)
        released = self._take(key[0])
        return partial(self._send_released, released) if released else None

    @property
    def pending(self) -> int:
        """How many (cell, stream) pairs hold text back right now."""
        return len(self._holdback)


_MISSING = object()


@functools.cache
def _json_packer() -> Any:
    """jupyter_client's standard packer (the session's ``pack`` unless configured otherwise, or
    when orjson is installed), or None."""
    try:
        from jupyter_client.session import json_packer
    except ImportError:  # pragma: no cover
        return None
    return json_packer


def _done_tracker() -> Any:
    try:
        from jupyter_client.session import DONE

        return DONE
    except ImportError:  # pragma: no cover
        return None
