"""``RedactPreprocessor``: nbconvert exports (HTML, markdown, script, PDF...) that carry no secret.

Use it from the command line or a config file::

    jupyter nbconvert --to html \\
        --Exporter.preprocessors='["redactor.nbconvert.RedactPreprocessor"]' analysis.ipynb

or in Python: ``HTMLExporter(preprocessors=[RedactPreprocessor(redactor=r)])``.

Secrets come from the ``redactor`` trait when it is set; otherwise from the process-wide redactor
(everything registered with ``redactor.add_secret`` or fetched through ``dbutils.secrets``) plus the
configured sources: the ``scopes``, ``secret_env``, ``env_pattern`` and ``secrets_file`` traits (one
per option of :mod:`redactor.config`, which also gives ``min_length``, ``encodings``, ``engine`` and
``allow_empty``; ``secrets_files`` is the deprecated spelling) added to those of the config file
nearest to the notebook (``.redactor.toml``, or ``[tool.redactor]`` in ``pyproject.toml``;
``REDACTOR_CONFIG`` names one). With no secret anywhere the
export fails rather than pass secrets through (``require_secrets=False`` allows it).

User preprocessors run after nbconvert's own, so images that ``ExtractOutputPreprocessor`` has
already written into ``resources["outputs"]`` are checked too: a text file holding a secret is
redacted and a binary one dropped. Cell sources are fixed by default (``fix_sources``), because
a script or HTML export shows the code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

try:  # the class below derives from nbconvert's, so this module needs it on import
    from nbconvert.preprocessors import Preprocessor
    from traitlets import Bool, Dict, Instance, Int, List, Unicode, Union
except ImportError as exc:  # ModuleNotFoundError, or nbconvert itself failing to import
    raise ModuleNotFoundError(
        "redactor.nbconvert needs nbconvert: pip install 'redactor[nbconvert]' "
        f"({type(exc).__name__}: {exc})",
        name=exc.name,
    ) from exc

from redactor.config import BY_KEY, OPTIONS, resolve
from redactor.engine.default import get_redactor
from redactor.engine.detect import Detector
from redactor.engine.redactor import Redactor
from redactor.sinks.notebook import ScrubReport, scrub_notebook
from redactor.sources.load import NoSecretsConfigured, build_redactor

__all__ = ["RedactPreprocessor"]


class RedactPreprocessor(Preprocessor):
    """Replace every known secret value in the notebook (and extracted files) being exported."""

    enabled = Bool(True, help="Run this preprocessor (on by default once listed).").tag(config=True)
    fix_sources = Bool(
        True, help="Also replace secrets in cell sources (an export shows the code)."
    ).tag(config=True)
    require_secrets = Bool(
        True, help="Fail when no secret is known at all, instead of exporting unscrubbed."
    ).tag(config=True)
    use_process_redactor = Bool(
        True, help="Include the secrets registered with the process-wide redactor."
    ).tag(config=True)
    use_pyproject = Bool(
        True,
        help="Read the config file nearest to the notebook (.redactor.toml, or [tool.redactor] "
        "in pyproject.toml), or the one REDACTOR_CONFIG names.",
    ).tag(config=True)
    # The settings of redactor.config, one trait per option, named by its Python keyword; None
    # (or an empty list) leaves it to [tool.redactor], the environment and the defaults.
    scopes = List(Unicode(), help=BY_KEY["scopes"].help).tag(config=True)
    secret_env = List(Unicode(), help=BY_KEY["secret-env"].help).tag(config=True)
    env_pattern = List(Unicode(), help=BY_KEY["env-pattern"].help).tag(config=True)
    secrets_file = List(Unicode(), help=BY_KEY["secrets-file"].help).tag(config=True)
    secrets_files = List(Unicode(), help="Deprecated: use secrets_file.").tag(config=True)
    min_length = Int(None, allow_none=True, help=BY_KEY["min-length"].help).tag(config=True)
    encodings = List(
        Unicode(), default_value=None, allow_none=True, help=BY_KEY["encodings"].help
    ).tag(config=True)
    engine = Unicode(None, allow_none=True, help=BY_KEY["engine"].help).tag(config=True)
    allow_empty = Bool(None, allow_none=True, help=BY_KEY["allow-empty"].help).tag(config=True)
    discover = Union(
        [Bool(), List(Unicode())], default_value=None, allow_none=True, help=BY_KEY["discover"].help
    ).tag(config=True)
    replacement = Unicode(None, allow_none=True, help=BY_KEY["replacement"].help).tag(config=True)
    allow = List(Unicode(), help=BY_KEY["allow"].help).tag(config=True)
    allow_names = List(Unicode(), help=BY_KEY["allow-names"].help).tag(config=True)
    detect = Union(
        [Bool(), List(Unicode())], default_value=None, allow_none=True, help=BY_KEY["detect"].help
    ).tag(config=True)
    detectors = List(Union([Dict(), Instance(Detector)]), help=BY_KEY["detectors"].help).tag(
        config=True
    )
    # `redactor run`'s variables: read here only so that every option has its one name everywhere.
    run_env = Dict(Unicode(), default_value=None, allow_none=True, help=BY_KEY["run-env"].help).tag(
        config=True
    )
    redactor = Instance(
        Redactor, allow_none=True, help="Use exactly this redactor (overrides every source)."
    )

    def _redactors(self, resources: dict[str, Any]) -> list[Redactor]:
        if self.redactor is not None:
            return [self.redactor]
        redactors = [get_redactor()] if self.use_process_redactor else []
        folder = (resources.get("metadata") or {}).get("path") or "."
        given = {o.keyword: getattr(self, o.keyword) for o in OPTIONS}
        given["secrets_files"] = list(self.secrets_files)  # resolve() warns that it is deprecated
        cfg = resolve(given, use_config=self.use_pyproject, cwd=Path(folder))
        if not cfg.empty:
            # Fails closed: configured sources that hold no value (a variable the exporting
            # process does not have) raise NoSecretValues rather than export secrets; the
            # opt-outs are allow-empty in [tool.redactor] and require_secrets=False.
            redactors.append(build_redactor(cfg, require=self.require_secrets))
        return redactors

    def preprocess(self, nb: Any, resources: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        redactors = self._redactors(resources)
        if not any(len(r) for r in redactors):
            if self.require_secrets:
                raise NoSecretsConfigured()
            self.log.warning("RedactPreprocessor: no secret is known; nothing is redacted")
            return nb, resources
        nb, report = scrub_notebook(nb, redactors, fix_sources=self.fix_sources)
        outputs = resources.get("outputs")
        if isinstance(outputs, dict):
            self._scrub_files(outputs, redactors, report)
        for finding in report.unfixed_sources:
            self.log.warning(
                "RedactPreprocessor: secret %s in the source of cell %d, line %d",
                finding.secret,
                finding.cell,
                finding.line,
            )
        if report.redactions:
            self.log.info(
                "RedactPreprocessor: %d redaction(s): %s",
                report.redactions,
                ", ".join(f"{k}: {v}" for k, v in sorted(report.counts.items())),
            )
        resources["redactor"] = report.to_dict()
        return nb, resources

    @staticmethod
    def _scrub_files(
        outputs: dict[str, Any], redactors: list[Redactor], report: ScrubReport
    ) -> None:
        """Files extracted before this preprocessor ran: redact text, drop binaries.

        Counted in the report under the field ``extracted-file``."""
        for name in list(outputs):
            data = outputs[name]
            if not isinstance(data, (bytes, bytearray)):
                continue
            data = bytes(data)
            for r in redactors:
                if not len(r):
                    continue
                spans = r.spans(data, with_ids=True)
                if not spans:
                    continue
                report.counts.update(r.count_names(spans))
                report.fields["extracted-file"] += len(spans)
                try:
                    data.decode("utf-8")
                except UnicodeDecodeError:
                    del outputs[name]  # never edit an image's bytes
                    break
                data = r.redact_bytes(data)
                outputs[name] = data
