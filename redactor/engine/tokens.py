"""The built-in token detectors (the catalog) and what ``detect=`` resolves to.

Each entry cites where its format is documented. ``default=True`` marks the curated
high-precision set that is on unless turned off; the rest are opt-in by kind.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from redactor.engine.detect import Detector, register_detector, registered
from redactor.errors import ConfigError

__all__ = ["detector_names", "get_detector", "resolve_detectors"]

# -- the catalog -------------------------------------------------------------------------------

register_detector(
    Detector(
        kind="github-token",
        anchors=("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
        pattern=r"(?<![A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]{36}(?![A-Za-z0-9_])",
        max_length=40,
        source="https://github.blog/2021-04-05-behind-githubs-new-authentication-token-formats/",
    )
)

# -- resolving detect= -------------------------------------------------------------------------


def detector_names(*, default_only: bool = False) -> list[str]:
    """The registered kinds, sorted (only the on-by-default set with ``default_only``)."""
    return sorted(k for k, d in registered().items() if d.default or not default_only)


def get_detector(kind: str) -> Detector:
    found = registered().get(kind)
    if found is None:
        close = difflib.get_close_matches(kind, detector_names(), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"unknown detector {kind!r}{hint} (see `redactor detectors`)")
    return found


def resolve_detectors(spec: bool | Iterable[str | Detector] | None) -> tuple[Detector, ...]:
    """What ``detect=`` means: ``True``/``None`` the default set, ``False`` none, a list of
    kinds (``"default"`` stands for the default set, ``"all"`` for every kind) and
    :class:`Detector` objects (a user's own)."""
    if spec is None or spec is True:
        return tuple(get_detector(k) for k in detector_names(default_only=True))
    if spec is False:
        return ()
    out: dict[str, Detector] = {}
    for item in spec:
        if isinstance(item, Detector):
            out[item.kind] = item
        elif item == "default":
            out.update((k, get_detector(k)) for k in detector_names(default_only=True))
        elif item == "all":
            out.update((k, get_detector(k)) for k in detector_names())
        else:
            out[item] = get_detector(item)
    return tuple(out.values())
