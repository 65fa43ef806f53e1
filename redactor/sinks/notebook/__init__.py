"""Scrub known secret values out of one Jupyter notebook, keeping every output that is safe.

Two pure functions, no I/O (files, git, Jupyter and nbconvert are the callers' business), in
three modules along the seams: :mod:`.cells` (the walk over cells and outputs), :mod:`.jsontext`
(the byte-for-byte patching of the file's JSON text) and :mod:`.report` (what was found). Nothing
here imports nbformat, IPython or nbconvert at import time (``redactor scrub`` works without the
Jupyter stack); nbformat is imported only to hand a ``NotebookNode`` back to a caller that passed
one.

* :func:`scrub_notebook` takes a notebook (a ``dict`` as ``json.load`` returns it, or an
  ``nbformat.NotebookNode``) and returns a scrubbed notebook and a :class:`ScrubReport`. The input
  is never mutated; unchanged parts of the result are shared with it.
* :func:`scrub_text` does the same on the JSON text of an ``.ipynb`` file and returns text that
  differs from the input only in the redacted strings: a notebook with nothing to redact comes back
  as the very same string, and a rewritten one keeps its indentation, key order, escaping, line
  endings and trailing newline.

What is scrubbed (nbformat v4): stream text (``stdout``, ``stderr`` and the ``stdin`` stream that
JupyterLab saves for ``input()``), each run of consecutive stream outputs of one name matched as
the one text frontends display (nbclient and papermill save one print as several outputs); a
region that spans outputs is replaced in the output where it starts and removed from the ones it
continues into, which are kept (possibly empty); every text-like type of ``display_data`` and
``execute_result`` (``text/*``, ``image/svg+xml``, ``application/javascript``;
``application/json`` and ``*+json`` walked recursively, keys included); error ``ename``,
``evalue`` and the ANSI ``traceback``; output metadata; markdown and raw cell attachments; cell
and notebook metadata (widget state under ``metadata.widgets``, nested Output-widget outputs and
base64 buffers, papermill parameters).
In every nested value a number (int or float; not a boolean) whose text form holds a secret, such
as an account number in ``application/json``, becomes that text redacted, a JSON string.

Binary entries (``image/png``, ``image/jpeg``, ``application/pdf``, any base64 value) are decoded and
never edited: when the decoded bytes hold a secret, the entry is dropped and a ``text/plain`` note
says so. A secret in a cell's *source* is user code: it is reported (cell, line, secret name) and
left alone unless ``fix_sources=True``.
"""

from __future__ import annotations

from redactor.sinks.notebook.cells import (
    Redactors,
    is_binary_mime,
    is_json_mime,
    is_text_mime,
    scrub_notebook,
)
from redactor.sinks.notebook.jsontext import json_path_at, parse_notebook, scrub_text
from redactor.sinks.notebook.report import NotebookError, RemovedOutput, ScrubReport, SourceFinding

__all__ = [
    "NotebookError",
    "Redactors",
    "RemovedOutput",
    "ScrubReport",
    "SourceFinding",
    "is_binary_mime",
    "is_json_mime",
    "is_text_mime",
    "json_path_at",
    "parse_notebook",
    "scrub_notebook",
    "scrub_text",
]
