"""What a scrub found: the report (by secret name and field, never a value) and the error type."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from redactor.errors import NotebookSinkError

__all__ = ["Detected", "NotebookError", "RemovedOutput", "ScrubReport", "SourceFinding"]


class NotebookError(NotebookSinkError, ValueError):
    """The input is not a notebook this module can scrub. The message never quotes the content."""


@dataclass(frozen=True)
class SourceFinding:
    """A secret found in a cell's source. ``cell`` and ``line`` count from 1, as editors do."""

    cell: int
    line: int
    secret: str
    cell_id: str | None = None
    fixed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "cell": self.cell,
            "cell_id": self.cell_id,
            "line": self.line,
            "secret": self.secret,
            "fixed": self.fixed,
        }


@dataclass(frozen=True)
class RemovedOutput:
    """A binary entry dropped because its decoded bytes held a secret (``cell`` is None at the
    notebook level, e.g. a widget buffer)."""

    cell: int | None
    where: str
    mime: str
    secrets: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "cell": self.cell,
            "where": self.where,
            "mime": self.mime,
            "secrets": list(self.secrets),
        }


@dataclass(frozen=True, order=True)
class Detected:
    """Where a token that nobody registered was found, by its detector's kind: ``cell`` counts
    from 1 (None at the notebook level), ``where`` is the field (``stream.stdout``,
    ``execute_result.text/plain``, ``source``). Never the value."""

    kind: str
    cell: int | None
    where: str


@dataclass
class ScrubReport:
    """What was found, by secret name and by field; never a value.

    ``counts`` and ``fields`` count the regions replaced or removed (source literals only when they
    were fixed); ``source_findings`` lists every secret found in a source, fixed or not.
    """

    counts: Counter[str] = field(default_factory=Counter)
    fields: Counter[str] = field(default_factory=Counter)
    source_findings: list[SourceFinding] = field(default_factory=list)
    removed: list[RemovedOutput] = field(default_factory=list)
    detections: Counter[Detected] = field(default_factory=Counter)
    changed: bool = False

    @property
    def redactions(self) -> int:
        return sum(self.counts.values())

    @property
    def unfixed_sources(self) -> list[SourceFinding]:
        return [f for f in self.source_findings if not f.fixed]

    def merge(self, other: ScrubReport) -> ScrubReport:
        """Add ``other`` (a second pass with another redactor) to this report."""
        self.counts.update(other.counts)
        self.fields.update(other.fields)
        self.source_findings.extend(other.source_findings)
        self.removed.extend(other.removed)
        self.detections.update(other.detections)
        self.changed = self.changed or other.changed
        return self

    def to_dict(self) -> dict[str, Any]:
        return {
            "changed": self.changed,
            "redactions": self.redactions,
            "counts": dict(sorted(self.counts.items())),
            "fields": dict(sorted(self.fields.items())),
            "source_findings": [f.to_dict() for f in self.source_findings],
            "removed": [r.to_dict() for r in self.removed],
            "detections": [
                {"kind": d.kind, "cell": d.cell, "where": d.where, "count": n}
                for d, n in sorted(self.detections.items(), key=_place)
            ],
        }


def _place(item: tuple[Detected, int]) -> tuple[int, str, str]:
    d = item[0]
    return (-1 if d.cell is None else d.cell, d.where, d.kind)
