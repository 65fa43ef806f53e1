"""One example value per option kind of :data:`redactor.config.OPTIONS`, as TOML text: the
configuration tests write it under every key, in ``[tool.redactor]`` and in ``.redactor.toml``."""

from __future__ import annotations

from redactor.engine.detect import Detector

# A user detector, as a TOML inline table, as the table tomllib gives, and as the Detector it makes.
OWN_TABLE = {
    "kind": "acme-key",
    "anchors": ["acme_"],
    "pattern": r"acme_[0-9a-f]{32}",
    "max-length": 37,
    "source": "https://acme.example/docs/keys",
    "description": "Acme API keys",
}
OWN_TOML = (
    '[{kind = "acme-key", anchors = ["acme_"], pattern = "acme_[0-9a-f]{32}", max-length = 37, '
    'source = "https://acme.example/docs/keys", description = "Acme API keys"}]'
)
OWN = Detector(
    kind="acme-key",
    anchors=("acme_",),
    pattern=r"acme_[0-9a-f]{32}",
    max_length=37,
    source="https://acme.example/docs/keys",
    description="Acme API keys",
)

TOML = {
    "names": '["abc"]',
    "paths": '["abc.env"]',
    "int": "7",
    "bool": "true",
    "engine": '"ahocorasick"',
    "encodings": '["plain"]',
    "discover": '"env"',
    "replacement": '"<{name}>"',
    "detect": '"github-token"',
    "detectors": OWN_TOML,
    "env": '{ DB_URL = "jdbc:x;password={{secrets/s/k}}" }',
}
