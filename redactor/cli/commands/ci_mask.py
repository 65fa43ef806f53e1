"""`redactor ci-mask`: register every secret, in every form redactor knows, with the CI's masker.

After this step the CI system itself masks those values in the log of every later step, also in
steps that do not run through redactor. GitHub Actions and Azure Pipelines read the values from
this step's output (``::add-mask::`` and ``##vso[task.setsecret]`` lines), so the command
prints secret values on stdout **by design**: it refuses when stdout is a terminal, and runs only
where the CI is detected from its environment or named with ``--ci``. Buildkite gets them on the
stdin of ``buildkite-agent redactor add``, never on a command line, so nothing is printed (and
Buildkite, which runs steps on a pseudo-terminal by default, is not refused for it). GitLab has
no such interface (:data:`~redactor.sinks.ci.maskers.GITLAB_EXPLANATION`): the command says why
and exits 2.

The secrets come from the same sources as every other command, and fail closed the same way.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys

from redactor.cli.options import add_source_arguments
from redactor.config import settings_from_args
from redactor.errors import CommandError, ConfigError
from redactor.sinks.ci.maskers import (
    CI_NAMES,
    DETECT_VARIABLES,
    GITLAB_EXPLANATION,
    azure_commands,
    azure_derived,
    buildkite_derived,
    buildkite_payload,
    detect_ci,
    github_commands,
    github_derived,
    masker_groups,
)
from redactor.sources.load import HOW_TO_CONFIGURE, NoSecretsConfigured, load_secrets

__all__ = ["add_parser", "run"]

PRINTS_VALUES = (
    "For GitHub Actions and Azure Pipelines this command PRINTS SECRET VALUES on stdout, by "
    "design: the runner reads them there (and shows '***' in the log instead). It therefore "
    "refuses to run when stdout is a terminal, and runs only where the CI is detected "
    "(GITHUB_ACTIONS=true, TF_BUILD=True, BUILDKITE=true) or named with --ci. Do not redirect "
    "its output anywhere but the runner."
)

# redactor.sources.channel.ENV_CHANNEL, spelled out: importing that module (its socket import)
# would add 21 ms to every `redactor --help`, which loads each verb's module.
ENV_CHANNEL = "REDACTOR_CHANNEL"

# Above this many values, ci-mask says which secrets they come from (a 40-character token
# gives 9, a password with quotes 19, a 250-byte SSH key about 1,100).
MANY_VALUES = 2000

_DERIVED = {"github": github_derived, "azure": azure_derived, "buildkite": buildkite_derived}


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    markers = ", ".join(
        f"{v}={'True' if n == 'azure' else 'true'}" for n, (v, _) in DETECT_VARIABLES.items()
    )
    p = subparsers.add_parser(
        "ci-mask",
        help="register every secret and its encoded forms with the CI's own log masker "
        "(prints values for the runner to read)",
        description="Register every configured secret, in every encoded form redactor knows that "
        "the CI does not derive itself, with the CI system's own masker, so that the logs of "
        "later steps are masked by the CI even where redactor does not run: '::add-mask::' lines "
        "(GitHub Actions), '##vso[task.setsecret]' lines (Azure Pipelines), or 'buildkite-agent "
        "redactor add' with the values on its stdin (Buildkite). " + PRINTS_VALUES,
        epilog=f"The CI is detected from {markers}. GitLab: {GITLAB_EXPLANATION}. Exit status: "
        "0 when every value was handed over; 2 on a configuration error, a terminal, or no "
        "supported CI; 1 when the values could not be handed over.",
    )
    p.add_argument(
        "--ci",
        choices=list(CI_NAMES),
        default=None,
        help="the CI system to register with (default: detected from the environment)",
    )
    add_source_arguments(p)
    p.set_defaults(func=run)


def _which_ci(named: str | None) -> str:
    if named is not None:
        return named
    found = detect_ci(os.environ)
    if found == ["gitlab"]:
        raise ConfigError(GITLAB_EXPLANATION)
    supported = [name for name in found if name in CI_NAMES]
    if len(supported) == 1:
        return supported[0]
    variables = ", ".join(variable for variable, _ in DETECT_VARIABLES.values())
    if not supported:
        raise ConfigError(
            f"no supported CI detected (none of {variables} says so): ci-mask prints secret "
            "values for a CI runner to read, so it runs only inside one; name it with --ci "
            f"{{{','.join(CI_NAMES)}}} if the detection is wrong"
        )
    names = ", ".join(CI_NAMES[name] for name in supported)
    raise ConfigError(f"more than one CI detected ({names}): name the one to use with --ci")


def _stdout_fd() -> int:
    try:
        return sys.stdout.fileno()
    except (AttributeError, ValueError, OSError):
        raise CommandError("stdout must be an open file descriptor") from None


def run(args: argparse.Namespace) -> int:
    ci = _which_ci(args.ci)
    out_fd = _stdout_fd()
    if ci != "buildkite" and os.isatty(out_fd):
        # Checked before any secret is read: the values would be shown to whoever looks.
        raise CommandError(
            f"refusing to print secret values to a terminal: for {CI_NAMES[ci]}, ci-mask prints "
            "every value on stdout for the runner to read (and mask); run it as a CI step"
        )
    if ci != "buildkite" and os.environ.get(ENV_CHANNEL):
        # Under `redactor run` (or in a kernel) this output is redacted before the runner reads
        # it: the runner would register "[REDACTED]", and no value, without any sign of failure.
        raise CommandError(
            f"refusing to run under redactor ({ENV_CHANNEL} is set): the values printed for "
            f"{CI_NAMES[ci]} would be replaced by the redactor that reads this output before "
            "the runner sees them; run ci-mask as a step of its own, outside 'redactor run'"
        )
    agent = None
    if ci == "buildkite":
        agent = shutil.which("buildkite-agent")
        if agent is None:
            raise CommandError("buildkite-agent is not on PATH: cannot register the values")
    cfg = settings_from_args(args)
    try:
        items, redactor = load_secrets(cfg)
    except NoSecretsConfigured:
        raise ConfigError(HOW_TO_CONFIGURE) from None
    forms = (redactor.forms(value, name) for name, value in items)
    groups = masker_groups(
        forms, _DERIVED[ci], min_length=redactor.min_length, by_line=ci != "buildkite"
    )
    values = [value for group in groups for value in group]
    _warn_if_many([name for name, _ in items], groups, CI_NAMES[ci])
    secrets = f"{len(items)} secret{'' if len(items) == 1 else 's'}"
    if agent is not None:
        _buildkite_add(agent, values)
    else:
        data = github_commands(values) if ci == "github" else azure_commands(values)
        _write_all(out_fd, data)
    print(
        f"redactor: registered {len(values)} value{'' if len(values) == 1 else 's'} "
        f"({secrets} and {'its' if len(items) == 1 else 'their'} encoded forms) with the masker "
        f"of {CI_NAMES[ci]}",
        file=sys.stderr,
    )
    return 0


def _warn_if_many(names: list[str], groups: list[list[str]], ci: str) -> None:
    """Say which secrets make the CI scan its log many times: each value costs the runner a
    search of every later log line (GitHub: also one per each of its 11 encodings of it). A
    1.7 KB PEM key gives 7,918 values, 6,663 of them 8-character pieces of its base64 as
    ``base64`` wraps it at any column (measured with a random 1,200-byte key); without the
    ``base64-wrapped`` encoding it gives 167."""
    total = sum(map(len, groups))
    if total <= MANY_VALUES:
        return
    biggest = sorted(zip(names, map(len, groups)), key=lambda item: -item[1])[:3]
    listed = ", ".join(f"{name}: {count}" for name, count in biggest if count)
    print(
        f"redactor: warning: {total} values for the masker of {ci} ({listed}); the runner "
        "searches every later log line for each one. Long multi-line values (keys) give most of "
        "them, as the pieces of their wrapped base64: --encodings without base64-wrapped leaves "
        "those out (and a wrapped base64 copy of such a value readable in the CI's log)",
        file=sys.stderr,
    )


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    try:
        while view:
            view = view[os.write(fd, view) :]
    except OSError as exc:  # the runner went away: the values are not all registered
        why = exc.strerror or type(exc).__name__
        raise CommandError(
            f"cannot write the mask commands to stdout: {why}", exit_code=1
        ) from None


def _buildkite_add(agent: str, values: list[str]) -> None:
    """``buildkite-agent redactor add --format json`` with the values on its stdin: a command
    line would show them in the process list."""
    try:
        done = subprocess.run(
            [agent, "redactor", "add", "--format", "json"],
            input=buildkite_payload(values),
            stdout=sys.stderr,  # the agent's own messages, never the values
            check=False,
        )
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise CommandError(f"cannot run buildkite-agent: {why}", exit_code=1) from None
    if done.returncode != 0:
        raise CommandError(
            f"buildkite-agent redactor add failed (exit status {done.returncode}): the values "
            "are not registered",
            exit_code=1,
        )
