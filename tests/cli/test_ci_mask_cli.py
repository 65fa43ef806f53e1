"""`redactor ci-mask` as a CI step runs it: a real process, its stdout read by a port of the
runner (tests/helpers/ci_runners.py), a fake `buildkite-agent` on PATH, a real pseudo-terminal."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.ci_runners import AzureAgent, GitHubRunner
from helpers.cli import REDACTOR, TIMEOUT, run_redactor

from redactor import Redactor
from redactor.sinks.ci.maskers import DETECT_VARIABLES, buildkite_derived, masker_values
from redactor.sources.dotenv import dotenv_items

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
SECRETS = FIXTURES / "ci-mask-secrets.env"
JOB_LOG = FIXTURES / "ci-mask-job.log"
MASKED_LOG = FIXTURES / "ci-mask-job.masked.log"
VALUES = [value for _, value in dotenv_items(SECRETS)]
SOURCES = ["--no-config", "--secrets-file", str(SECRETS)]


def ci_env(**extra: str) -> dict[str, str]:
    """This environment without any CI's marker (the suite itself may run in one), plus ``extra``."""
    env = {
        k: v for k, v in os.environ.items() if k not in {v for v, _ in DETECT_VARIABLES.values()}
    }
    env.update(extra)
    return env


def no_value_in(data: bytes) -> bool:
    text = data.decode("utf-8", "replace")
    pieces = [line.strip() for v in VALUES for line in v.splitlines() if len(line.strip()) >= 6]
    return not any(piece in text for piece in pieces)


@pytest.mark.parametrize(
    ("marker", "runner_cls"),
    [({"GITHUB_ACTIONS": "true"}, GitHubRunner), ({"TF_BUILD": "True"}, AzureAgent)],
    ids=["github", "azure"],
)
def test_the_fixture_job_log_is_masked_by_the_runner_alone(marker, runner_cls) -> None:
    # Step 1: ci-mask, detected from the environment, its stdout read by the runner.
    done = run_redactor("ci-mask", *SOURCES, env=ci_env(**marker))
    assert done.returncode == 0, done.stderr
    runner = runner_cls()
    assert runner.step(done.stdout) == []  # nothing of it is logged: every line was a command
    name = "GitHub Actions" if runner_cls is GitHubRunner else "Azure Pipelines"
    assert done.stderr.decode() == (
        f"redactor: registered {len(runner.registered)} values (3 secrets and their encoded "
        f"forms) with the masker of {name}\n"
    )
    # Step 2: a later step that does not run through redactor; the runner alone masks its log.
    logged = runner.step(JOB_LOG.read_bytes())
    assert "\n".join(logged) + "\n" == MASKED_LOG.read_text(encoding="utf-8")
    assert no_value_in(MASKED_LOG.read_bytes())
    assert not no_value_in(JOB_LOG.read_bytes())  # (the log does hold them)


def test_the_values_registered_alone_leave_forms_in_the_log() -> None:
    """Why ci-mask sends the encoded forms: `::add-mask::` of each value alone (what a workflow
    usually does) leaves the token's hex and every line of the key's wrapped base64 readable;
    the runner's own encoders cover the rest of this log."""
    runner = GitHubRunner()
    runner.step(
        b"".join(b"::add-mask::" + v.encode().replace(b"\n", b"%0A") + b"\n" for v in VALUES)
    )
    logged = runner.step(JOB_LOG.read_bytes())
    masked = MASKED_LOG.read_text(encoding="utf-8").splitlines()
    leaks = [i for i, line in enumerate(logged) if line != masked[i]]
    assert leaks == [7, 18, 19, 20, 21]
    assert logged[7].endswith(" token bytes: " + VALUES[1].encode().hex())
    assert all(logged[i] == JOB_LOG.read_text().splitlines()[i] for i in leaks)


def fake_agent(tmp_path: Path, status: int = 0) -> tuple[dict[str, str], Path]:
    """A `buildkite-agent` that records its arguments and stdin, and exits with ``status``."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "record.json"
    agent = bin_dir / "buildkite-agent"
    agent.write_text(
        f"#!{sys.executable}\n"
        "import json, sys\n"
        "data = sys.stdin.buffer.read().decode('utf-8')\n"
        f"open({str(record)!r}, 'w').write(json.dumps({{'argv': sys.argv[1:], 'stdin': data}}))\n"
        f"sys.exit({status})\n",
        encoding="utf-8",
    )
    agent.chmod(0o755)
    env = ci_env(BUILDKITE="true")
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return env, record


def test_buildkite_gets_the_values_on_stdin_never_on_the_command_line(tmp_path: Path) -> None:
    env, record = fake_agent(tmp_path)
    done = run_redactor("ci-mask", *SOURCES, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == b""  # nothing printed
    seen = json.loads(record.read_text(encoding="utf-8"))
    assert seen["argv"] == ["redactor", "add", "--format", "json"]
    sent = list(json.loads(seen["stdin"]).values())
    redactor = Redactor()
    forms = [redactor.forms(value, name) for name, value in dotenv_items(SECRETS)]
    assert sent == masker_values(forms, buildkite_derived, min_length=6, by_line=False)
    assert all(v in sent for v in VALUES)  # whole: Buildkite masks the stream, not lines
    assert no_value_in(done.stderr)


def test_buildkite_on_a_pseudo_terminal_is_not_refused(tmp_path: Path) -> None:
    # Buildkite runs a job's commands on a pty by default, and ci-mask prints no value there.
    env, record = fake_agent(tmp_path)
    out = run_on_pty([*REDACTOR, "ci-mask", *SOURCES], env)
    assert out[0] == 0
    assert no_value_in(out[1])
    assert record.exists()


def test_a_failing_buildkite_agent_fails_the_step(tmp_path: Path) -> None:
    env, _ = fake_agent(tmp_path, status=3)
    done = run_redactor("ci-mask", *SOURCES, env=env, text=True)
    assert done.returncode == 1
    # The fixture gives Buildkite (which derives no base64) 2,006 values: over the warning's 2,000.
    warning, error = done.stderr.splitlines()
    assert warning.startswith("redactor: warning: 2006 values for the masker of Buildkite (")
    assert error == (
        "redactor: error: buildkite-agent redactor add failed (exit status 3): the values are "
        "not registered"
    )


def test_no_buildkite_agent_on_path(tmp_path: Path) -> None:
    env = ci_env(BUILDKITE="true", PATH=str(tmp_path))
    done = subprocess.run(
        [*REDACTOR, "ci-mask", *SOURCES], env=env, capture_output=True, text=True, timeout=TIMEOUT
    )
    assert done.returncode == 2
    assert "buildkite-agent is not on PATH" in done.stderr


def run_on_pty(argv: list[str], env: dict[str, str]) -> tuple[int, bytes, bytes]:
    """``argv`` with stdout on a real pseudo-terminal (stderr a pipe): (status, pty, stderr)."""
    main, sub = pty.openpty()
    proc = subprocess.Popen(argv, stdout=sub, stderr=subprocess.PIPE, env=env)
    os.close(sub)
    seen = b""
    while True:
        ready, _, _ = select.select([main], [], [], TIMEOUT)
        assert ready, "no end of output"
        try:
            chunk = os.read(main, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    os.close(main)
    stderr = proc.stderr.read() if proc.stderr else b""
    return proc.wait(timeout=TIMEOUT), seen, stderr


@pytest.mark.parametrize("marker", [{"GITHUB_ACTIONS": "true"}, {"TF_BUILD": "True"}])
def test_refuses_to_print_values_on_a_terminal(marker: dict[str, str]) -> None:
    status, seen, stderr = run_on_pty([*REDACTOR, "ci-mask", *SOURCES], ci_env(**marker))
    assert status == 2
    assert seen == b""
    assert stderr.decode().startswith(
        "redactor: error: refusing to print secret values to a terminal"
    )


def test_named_ci_needs_no_environment_and_still_refuses_a_terminal() -> None:
    done = run_redactor("ci-mask", "--ci", "github", *SOURCES, env=ci_env())
    assert done.returncode == 0
    assert done.stdout.startswith(b"::add-mask::")
    status, seen, _ = run_on_pty([*REDACTOR, "ci-mask", "--ci", "azure", *SOURCES], ci_env())
    assert (status, seen) == (2, b"")


def test_gitlab_explains_why_there_is_no_runtime_masking() -> None:
    done = run_redactor("ci-mask", *SOURCES, env=ci_env(GITLAB_CI="true"), text=True)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("redactor: error: GitLab CI has no runtime API for masking")
    assert "Settings > CI/CD > Variables" in done.stderr


def test_no_ci_detected() -> None:
    done = run_redactor("ci-mask", *SOURCES, env=ci_env(CI="true"), text=True)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.startswith("redactor: error: no supported CI detected")


def test_two_cis_detected_ask_for_one() -> None:
    env = ci_env(GITHUB_ACTIONS="true", TF_BUILD="True")
    done = run_redactor("ci-mask", *SOURCES, env=env, text=True)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        "redactor: error: more than one CI detected (GitHub Actions, Azure Pipelines): name the "
        "one to use with --ci\n"
    )


def test_fails_closed_without_sources(tmp_path: Path) -> None:
    done = run_redactor(
        "ci-mask", "--no-config", cwd=tmp_path, env=ci_env(GITHUB_ACTIONS="true"), text=True
    )
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith("redactor: error: ")


def test_help_says_it_prints_values() -> None:
    done = run_redactor("ci-mask", "--help", text=True)
    assert done.returncode == 0
    assert "PRINTS SECRET VALUES" in " ".join(done.stdout.split())
    assert "GitLab CI has no runtime API for masking" in " ".join(done.stdout.split())


def test_refuses_under_redactor_run() -> None:
    """Under `redactor run` the add-mask lines would reach the runner as
    `::add-mask::[REDACTED]`: the runner would learn no value, and nothing would say so."""
    done = run_redactor(
        "run", *SOURCES, "--", *REDACTOR, "ci-mask", *SOURCES, env=ci_env(GITHUB_ACTIONS="true")
    )
    assert done.returncode == 2
    assert done.stdout == b""
    assert b"refusing to run under redactor (REDACTOR_CHANNEL is set)" in done.stderr


def test_the_channel_variable_is_the_channels() -> None:
    from redactor.cli.commands import ci_mask
    from redactor.sources import channel

    assert ci_mask.ENV_CHANNEL == channel.ENV_CHANNEL


def test_a_closed_stdout_fails_the_step() -> None:
    """A runner that went away has not registered the values: exit 1, not the 0 with which
    `redactor filter | head` ends quietly."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            [*REDACTOR, "ci-mask", *SOURCES],
            stdout=write_end,
            stderr=subprocess.PIPE,
            env=ci_env(GITHUB_ACTIONS="true"),
            timeout=TIMEOUT,
            check=False,
        )
    finally:
        os.close(write_end)
    assert done.returncode == 1
    assert (
        done.stderr == b"redactor: error: cannot write the mask commands to stdout: Broken pipe\n"
    )


def test_many_values_are_announced_with_the_secret_they_come_from(tmp_path: Path) -> None:
    import base64
    import random

    body = base64.b64encode(random.Random(7).randbytes(1200)).decode()
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    key = "-----BEGIN RSA PRIVATE KEY-----\n" + "\n".join(lines) + "\n-----END RSA PRIVATE KEY-----"
    secrets = tmp_path / "secrets.env"
    secrets.write_text(f"TOKEN=ghp_demoT0ken1234567890abcdefXYZ\nKEY='{key}'\n", encoding="utf-8")
    done = run_redactor(
        "ci-mask", "--no-config", "--secrets-file", secrets, env=ci_env(GITHUB_ACTIONS="true")
    )
    assert done.returncode == 0
    count = done.stdout.count(b"\n")
    assert count > 2000
    warning, summary = done.stderr.decode().splitlines()
    assert warning.startswith(
        f"redactor: warning: {count} values for the masker of GitHub Actions "
        f"(secrets.env/KEY: {count - 9}, secrets.env/TOKEN: 9); the runner searches every later "
        "log line for each one."
    )
    assert summary.startswith(f"redactor: registered {count} values (2 secrets")
