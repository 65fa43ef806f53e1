"""THE walker: every string in a nested value redacted, whatever the sink.

:func:`redact_value` is the public entry; :class:`Walker` is the same walk with hooks, for a sink
that needs more (the notebook scrubber counts regions per field and knows output dicts).

The rules, one set for every sink (the kernel, logging, structlog, notebooks, log files, IPython's
disk copies):

* ``str`` is redacted; ``bytes``/``bytearray``/``memoryview`` are redacted as bytes (the result is
  ``bytes`` when something was replaced).
* A number (int, float, Decimal, numpy numbers; not ``bool``) whose text holds a secret becomes
  that text redacted, a string: a digits-only secret (an account number) shows in ``40512938776``
  as much as in ``"40512938776"``. ``None`` and booleans pass.
* ``dict`` (keys included), ``list``, ``tuple`` (namedtuples keep their type), ``set`` and
  ``frozenset`` are walked; subclasses keep their type when it can be rebuilt from the items
  (``NotebookNode``, ``OrderedDict``), else become the plain type. Two keys that redact to the
  same text are kept apart (``"k #2"``) rather than one overwriting the other.
* Any other object: ``objects="check"`` (the default) keeps it when neither its ``repr`` nor its
  ``str`` shows a secret and otherwise replaces it with that text redacted (what a formatter would
  print); ``objects="repr"`` always replaces it with its redacted ``repr``. When ``repr`` or
  ``str`` raises, the exception propagates: the sink fails closed its own way (the logging filter
  withholds the record).
* Copy only what changed: a value without secrets comes back as the very same object (``is``),
  and a changed one shares every unchanged part with the input. The input is never mutated.
* One depth limit, :data:`MAX_DEPTH` containers deep. Past it, ``too_deep="replace"`` (the
  default) replaces the rest with :data:`TOO_DEEP` and ``too_deep="raise"`` raises
  :class:`TooDeep`: nothing below the limit is passed on unchecked. (Not its ``repr``: the repr
  of a structure that shares parts, ``x = [x, x]`` a hundred times, takes exponential time.)
* A container met again inside itself (a reference cycle) does not hang the walk: when the
  container turns out clean it is returned as it is, cycle included; when it changed, the
  back-reference in the copy becomes :data:`CYCLE` (a copy must not refer to the raw original).
  A container shared by several parents is walked once.
"""

from __future__ import annotations

import json
import numbers
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Literal

from redactor.errors import EngineError

if TYPE_CHECKING:
    from redactor.engine.redactor import Redactor

__all__ = [
    "CYCLE",
    "MAX_DEPTH",
    "TOO_DEEP",
    "TooDeep",
    "Walker",
    "dumps_unchanged",
    "finds_any",
    "leaf_texts",
    "redact_number",
    "redact_value",
]

#: Containers nested deeper than this are not walked (see ``too_deep``). The kernel used 64, the
#: logging filter 50; JSON from real outputs (plotly figures, widget state) nests under 20.
MAX_DEPTH = 64

#: What replaces a back-reference (a container inside itself) in a copy that changed.
CYCLE = "[redactor: reference cycle]"
#: What replaces a container nested past :data:`MAX_DEPTH` (with ``too_deep="replace"``).
TOO_DEEP = "[redactor: value nested too deeply]"

Objects = Literal["check", "repr"]
TooDeepPolicy = Literal["replace", "raise"]


class TooDeep(EngineError, ValueError):
    """A value nested deeper than the walker's limit, with ``too_deep="raise"``."""


# A long list of numbers (a plotly figure's data, widget state) is checked with one scan of its
# json.dumps text: walking 200,000 floats and ints took 0.21 s so (0.5 s number by number, 0.12 s
# when numbers were not checked at all), on the 2-core test machine.
_NUMBERS_AT_ONCE = 16
_PLAIN_NUMBERS = (int, float)
_OPEN = object()  # in the memo while a container is being walked: meeting it again is a cycle
_DROP = object()


def redact_number(value: Any, redactor: Redactor) -> Any:
    """A non-string scalar (int, float, Decimal, numpy numbers; not bool or None) whose text form
    holds a secret is replaced by that text redacted, a string (``"[REDACTED]"``). Anything else
    comes back as it is."""
    text = number_text(value)
    # Most numbers are shorter than any secret: no automaton pass for them.
    if text is None or len(text) < redactor.min_length:
        return value
    new = redactor.redact(text)
    return value if new == text else new


def number_text(value: Any) -> str | None:
    """The text form of a non-string scalar (int, float, Decimal, numpy numbers; not bool), as
    ``str()`` and ``json.dumps`` write it; None for anything else and for an int too long to
    print (over ``sys.get_int_max_str_digits()``: nothing can print it either)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Number):
        return None
    try:
        return str(value)
    except ValueError:
        return None


def redact_value(
    value: Any,
    redactor: Redactor,
    *,
    objects: Objects = "check",
    too_deep: TooDeepPolicy = "replace",
    max_depth: int = MAX_DEPTH,
) -> Any:
    """``value`` with every secret in it redacted, by the rules of :mod:`redactor.engine.walk`.

    >>> from redactor import Redactor, redact_value
    >>> r = Redactor()
    >>> r.add("hunter2-password")
    True
    >>> redact_value({"pw": ["hunter2-password", 1], "n": 7}, r)
    {'pw': ['[REDACTED]', 1], 'n': 7}
    """
    return Walker(redactor, objects=objects, too_deep=too_deep, max_depth=max_depth).walk(value)


class Walker:
    """One walk's settings and state (the cycle memo). Subclasses override the hooks:

    * :meth:`text`, :meth:`data`, :meth:`number`: one leaf (must return the very same object
      when nothing changed);
    * :meth:`special`: a container the sink treats its own way (return :data:`Walker.PASS` to
      let the walker do it); it may return :data:`Walker.DROP` to remove the entry from its
      parent container;
    * :meth:`list_items`: the items of a list (the notebook joins runs of stream outputs).
    """

    DROP: Any = _DROP
    PASS: Any = NotImplemented

    def __init__(
        self,
        redactor: Redactor,
        *,
        objects: Objects = "check",
        too_deep: TooDeepPolicy = "replace",
        max_depth: int = MAX_DEPTH,
    ) -> None:
        if objects not in ("check", "repr"):
            raise ValueError("objects must be 'check' or 'repr'")
        if too_deep not in ("replace", "raise"):
            raise ValueError("too_deep must be 'replace' or 'raise'")
        self.redactor = redactor
        self.objects = objects
        self.too_deep = too_deep
        self.max_depth = max_depth
        self.depth = 0
        self._memo: dict[int, Any] = {}
        self._cycles: set[int] = set()
        self._breaking = False

    # -- leaves ---------------------------------------------------------------------------------

    def text(self, s: str) -> str:
        if not s:
            return s
        new = self.redactor.redact(s)
        return s if new == s else new

    def data(self, b: bytes | bytearray | memoryview) -> Any:
        raw = bytes(b)
        new = self.redactor.redact_bytes(raw)
        return b if new == raw else new

    def number(self, value: Any) -> Any:
        text = number_text(value)
        if text is None or len(text) < self.redactor.min_length:
            return value
        new = self.text(text)
        return value if new is text else new

    def other(self, value: Any) -> Any:
        """An object that is neither a leaf nor a container the walker knows."""
        renders: tuple[Callable[[Any], str], ...] = (
            (repr,) if self.objects == "repr" else (repr, str)
        )
        for render in renders:
            text = render(value)
            new = self.text(text)
            if new is not text or self.objects == "repr":
                return new
        return value

    # -- the walk -------------------------------------------------------------------------------

    def walk(self, value: Any) -> Any:
        """``value`` redacted (the same object when nothing changed)."""
        if isinstance(value, str):
            return self.text(value)
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, (bytes, bytearray, memoryview)):
            return self.data(value)
        if isinstance(value, numbers.Number):
            return self.number(value)
        if isinstance(value, (dict, list, tuple, set, frozenset)):
            return self._container(value)
        return self.other(value)

    def special(self, value: Any) -> Any:
        """Hook: a container handled by the sink, or :data:`PASS`."""
        return self.PASS

    def _container(self, value: Any) -> Any:
        key = id(value)
        seen = self._memo.get(key)
        if seen is _OPEN:
            self._cycles.add(key)
            return CYCLE if self._breaking else value
        if seen is not None:
            return seen[1]
        if self.depth >= self.max_depth:
            return self.beyond_limit(value)
        self._memo[key] = _OPEN
        self.depth += 1
        try:
            new = self._walk_container(value)
            if new is not value and key in self._cycles and not self._breaking:
                # The copy may hold raw back-references to ``value`` (through parts that came
                # back unchanged): walk it again with every back-reference replaced.
                self._breaking = True
                saved = self._memo
                self._memo = {key: _OPEN}
                try:
                    new = self._walk_container(value)
                finally:
                    # Parts walked again replace what the first pass recorded for them (which
                    # may hold raw back-references).
                    saved.update(self._memo)
                    self._memo = saved
                    self._breaking = False
        finally:
            self.depth -= 1
        # The value is kept alive with its result, so that its id cannot be reused meanwhile.
        self._memo[key] = (value, new)
        return new

    def _walk_container(self, value: Any) -> Any:
        special = self.special(value)
        if special is not self.PASS:
            return special
        if isinstance(value, dict):
            return self.map_dict(value, self.walk, lambda _, item: self.walk(item))
        if isinstance(value, list):
            return self.list_items(value)
        if isinstance(value, tuple):
            return self.tuple_items(value)
        return self.set_items(value)

    def beyond_limit(self, value: Any) -> Any:
        """Hook: a container past the depth limit (``too_deep`` says what happens)."""
        if self.too_deep == "raise":
            raise TooDeep(f"a value nested more than {self.max_depth} containers deep")
        return TOO_DEEP

    # -- containers -----------------------------------------------------------------------------

    def map_dict(
        self, value: dict, walk_key: Callable[[Any], Any], walk_item: Callable[[Any, Any], Any]
    ) -> Any:
        """``value`` with ``walk_key(key)`` for each key and ``walk_item(key, item)`` for each
        value; copied only when something changed. An item that comes back as :data:`DROP` is
        left out; a new key equal to one already there gets a suffix (``"k #2"``)."""
        out: dict | None = None
        for i, (k, item) in enumerate(value.items()):
            new_key = walk_key(k)
            new = walk_item(k, item)
            if out is None and (new is not item or new_key is not k):
                out = {}
                for j, (k2, v2) in enumerate(value.items()):
                    if j == i:
                        break
                    out[k2] = v2
            if out is not None and new is not _DROP:
                out[_unique(out, new_key)] = new
        return value if out is None else rebuild(value, out)

    def list_items(self, value: list) -> Any:
        return self.sequence(value)

    def tuple_items(self, value: tuple) -> Any:
        return self.sequence(value)

    def sequence(self, value: list | tuple, walk_item: Callable[[Any], Any] | None = None) -> Any:
        """Each item walked; a list or tuple copied only when an item changed."""
        walk = self.walk if walk_item is None else walk_item
        plain_skip = (
            walk_item is None
            and len(value) > _NUMBERS_AT_ONCE
            and not _numbers_hold_secret(value, self)
        )
        out: list | None = None
        for i, item in enumerate(value):
            new = item if plain_skip and type(item) in _PLAIN_NUMBERS else walk(item)
            if out is None and new is not item:
                out = list(value[:i])
            if out is not None and new is not _DROP:
                out.append(new)
        return value if out is None else rebuild(value, out)

    def set_items(self, value: set | frozenset) -> Any:
        items = [(item, self.walk(item)) for item in value]
        if all(a is b for a, b in items):
            return value
        return rebuild(value, [b for _, b in items if b is not _DROP])


def rebuild(original: Any, items: Any) -> Any:
    """A container of ``original``'s type made of ``items`` (a dict or list): subclasses that
    cannot be rebuilt so (``defaultdict``) become the plain type."""
    kind = type(original)
    if kind in (dict, list):
        return items
    if kind in (tuple, set, frozenset):
        return kind(items)
    try:
        if isinstance(original, tuple) and hasattr(original, "_fields"):
            return kind(*items)  # a namedtuple
        return kind(items)
    except Exception:
        for base in (dict, list, tuple, frozenset, set):
            if isinstance(original, base):
                return base(items)
        raise


def _unique(d: dict, key: Any) -> Any:
    """``key``, or ``"key #2"`` (``#3``...) when a redacted key would overwrite another."""
    if key not in d:
        return key
    n = 2
    while f"{key} #{n}" in d:
        n += 1
    return f"{key} #{n}"


def _numbers_hold_secret(items: list | tuple, walker: Walker) -> bool:
    """Whether the ints and floats among ``items`` (not bools), written as JSON writes them,
    might hold a secret; True when that cannot be told cheaply."""
    plain = [v for v in items if type(v) in _PLAIN_NUMBERS]
    if not plain:
        return False
    try:
        text = json.dumps(plain)
    except ValueError:  # an int too long to write: check one by one
        return True
    return walker.redactor.contains_secret(text)


# -- one scan of the JSON text instead of a walk -------------------------------------------------

_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKETS = re.compile(r"[\[\]{}]")
# Longer texts are not checked in one piece on a matcher that copies its input (pyahocorasick:
# 4 bytes a character); the engine's redact() windows them the same way (its _WINDOW).
_CHECK_AT_ONCE = 1 << 22


class _NotPlain(TypeError):
    """Raised by the ``default`` of :func:`dumps_unchanged`: a value json cannot write by itself."""


def _refuse(value: Any) -> Any:
    raise _NotPlain


def json_unescaped(text: str) -> str:
    """The JSON text ``text`` with its string escapes undone in place: every string of the
    document then appears in it as it is, between the document's quotes, commas and brackets.

    JSON's escapes (``\\"``, ``\\\\``, ``\\n``, ``\\uXXXX``...) mean what they mean in Python's
    ``unicode_escape``, which undoes them in C: 14 us for a 5 KB display message where a
    ``str.replace`` per escape took 98 us. Characters outside ASCII are first written as
    Python escapes themselves (``backslashreplace``), since ``unicode_escape`` reads bytes as
    latin-1; they stand between JSON escapes, never inside one, so the decoding stays exact."""
    if "\\" not in text:
        return text
    return text.encode("ascii", "backslashreplace").decode("unicode_escape")


def finds_any(text: str, redactor: Redactor) -> bool:
    """Whether ``text`` holds anything ``redactor.redact`` could act on: a registered form, a
    detector's anchor (a token or not), or an ESC. False proves that ``redact`` leaves ``text``,
    and every substring of it, unchanged; True may be a false alarm. One scan, counted towards
    ``engine="auto"`` as ``redact`` counts it; nothing is learned."""
    if not text:
        return False
    if "\x1b" in text:
        return True  # matches across escape sequences: for the walk to settle
    redactor.announce(len(text))
    matcher = redactor.matcher(False)
    if len(text) > _CHECK_AT_ONCE and matcher.windowed:
        return True
    if matcher.anchor_count:
        spans, hits = matcher.scan(text)
        return bool(spans or hits)
    return bool(matcher.spans(text))


def _too_deep(text: str, max_depth: int) -> bool:
    """Does the JSON document ``text`` nest containers more than ``max_depth`` deep?"""
    if text.count("[") + text.count("{") <= max_depth:
        return False  # every level needs a bracket: the usual case, two memchr-speed counts
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_JSON_STRING.sub("", text)):
        if bracket in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
        else:
            depth -= 1
    return deepest > max_depth


#: How many dict items and list items :func:`leaf_texts` reads before leaving a value to
#: :func:`dumps_unchanged`: a display message has a dozen, a plotly figure thousands (where one
#: json.dumps pass beats a Python step per number).
LEAF_BUDGET = 256


def leaf_texts(values: Iterable[Any], max_depth: int = MAX_DEPTH) -> list[str] | None:
    """The texts the walker would check in ``values`` (every string, dict key and number),
    when each of them is made of the exact JSON types only (``dict`` with ``str`` keys, ``list``,
    ``str``, ``int``, ``float``, ``bool``, ``None``), nests at most ``max_depth`` containers deep
    and holds at most :data:`LEAF_BUDGET` items; None otherwise.

    For such a value the walker returns the value itself unless one of these texts changes
    when redacted, so ``not finds_any("\\x00".join(texts))`` proves it unchanged (a NUL between
    two texts can only add a false alarm). On a 5 KB display message at 1,000 secrets this,
    the join and the scan take 4.7 us, where :func:`dumps_unchanged` takes 19.7 (11 beyond the
    json.dumps the session then skips): no JSON escapes to undo, no brackets to count, and
    the message is packed as usual."""
    out: list[str] = []
    budget = LEAF_BUDGET
    stack = [(value, 1) for value in values]
    append, push, pop = out.append, stack.append, stack.pop
    while stack:
        value, depth = pop()
        kind = type(value)
        if kind is str:
            append(value)
        elif kind is dict:
            budget -= len(value)
            if depth > max_depth or budget < 0:
                return None
            for key, item in value.items():
                if type(key) is not str:
                    return None
                append(key)
                push((item, depth + 1))
        elif kind is list:
            budget -= len(value)
            if depth > max_depth or budget < 0:
                return None
            for item in value:
                push((item, depth + 1))
        elif value is None or kind is bool:
            continue
        elif kind is int or kind is float:
            text = number_text(value)
            if text is None:
                return None
            append(text)
        else:
            return None
    return out


def dumps_unchanged(value: Any, redactor: Redactor, *, max_depth: int = MAX_DEPTH) -> str | None:
    """``json.dumps(value, ensure_ascii=False, allow_nan=False)`` when one scan of that text
    proves that :func:`redact_value` (default settings) would return ``value`` itself; None
    when it might not, or when json cannot write ``value`` without a ``default``.

    Why one scan is enough: json writes every string and dict key of a JSON-native value
    (dict, list, tuple, str, int, float, bool, None, and their subclasses) through a
    per-character escape, so with the escapes undone (:func:`json_unescaped`) each of them
    appears in the text as it is, and each int and float as its ``repr``, which is the text the
    walker checks. A form, a detector's anchor or an ESC in any of them is then in the text, and
    :func:`finds_any` sees it (it may also see one that spans two strings: a
    false alarm, for the walk to settle). Anything else (bytes, datetimes, numpy ints, other
    objects) makes json call ``default``, which refuses, and so do cycles, NaN and nesting past
    ``max_depth`` (which the walker replaces). The one assumption: an int or float subclass
    prints (``str``) as its value, as json writes it (``bool``, ``IntEnum`` since Python 3.11,
    numpy's float64).
    """
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, default=_refuse)
    except (TypeError, ValueError, RecursionError):
        return None
    if _too_deep(text, max_depth):
        return None
    if finds_any(json_unescaped(text), redactor):
        return None
    return text
