"""Demo step: one automaton over two secrets and their encodings, applied to a fixture CI log."""

from __future__ import annotations

from redactor import Redactor, hyperscan_available
from redactor.cli._demo import DemoContext
from redactor.config import Settings
from redactor.sources.load import iter_secrets

TITLE = "The engine: a CI log with two (fake) secrets in nine disguises"


def run(ctx: DemoContext) -> None:
    redactor = Redactor()
    cfg = Settings(secrets_file=(ctx.fixture("demo-secrets.env"),))
    for name, value in iter_secrets(cfg):
        redactor.add(value, name)
    ctx.say(
        f"registered {len(redactor)} secrets ({', '.join(redactor.secret_names)}) as "
        f"{redactor.pattern_count} patterns; encodings: {', '.join(redactor.encodings)}"
    )
    log = ctx.fixture("ci-demo.log").read_text(encoding="utf-8")
    redacted, counts = redactor.redact_with_counts(log)
    ctx.say("\nfixtures/ci-demo.log after redaction:")
    for line in redacted.splitlines():
        ctx.say("  " + line)
    ctx.say("\nregions replaced per secret: " + ", ".join(f"{n}: {c}" for n, c in counts.items()))
    ctx.check(sum(counts.values()) == 9, "9 regions replaced, one per disguise")
    ctx.check(
        not any(redactor.contains_secret(line) for line in redacted.splitlines()),
        "no form of either secret is left",
    )
    ctx.check(log.count("\n") == redacted.count("\n"), "every other line is kept as it was")
    # The same log through each engine installed here: the output must not depend on the engine.
    engines = ["ahocorasick"] + (["hyperscan"] if hyperscan_available() else [])
    outputs = set()
    for engine in engines:
        other = Redactor(engine=engine)
        for name, value in iter_secrets(cfg):
            other.add(value, name)
        outputs.add(other.redact(log))
    ctx.check(
        outputs == {redacted}, f"the same output from every engine here ({', '.join(engines)})"
    )
    if len(engines) == 1:
        ctx.say("(for bulk work: pip install 'redactor[fast]' adds the Hyperscan engine)")
