"""Issue 14, done when: `redactor filter`, `redactor run` and `redactor sources` with no source
flag and no configuration, in a HOME holding every credential file discovery reads
(tests/helpers/credentials.py) and DATABRICKS_TOKEN in the environment, hide every one of those
secrets and list them; with an empty HOME and no secret variable they still stop.

Real processes throughout (``python -m redactor``), run from an empty directory so that no
``pyproject.toml`` is found: discovery is all there is.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from helpers.cli import run_redactor
from helpers.credentials import Credentials, base_env, fill_home

from redactor.sources.discovery import SOURCES, discover
from redactor.sources.load import HOW_TO_CONFIGURE


@pytest.fixture
def creds(tmp_path: Path) -> Credentials:
    return fill_home(tmp_path / "home")


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    path = tmp_path / "work"
    path.mkdir()
    return path


def leaky_text(creds: Credentials) -> tuple[str, str]:
    """What a careless script prints (each secret on a line, then the non-secret fields), and
    what must come out of redaction."""
    lines = [f"secret {i}: {value}" for i, (_, value) in enumerate(creds.secrets)]
    lines += [f"field {i}: {value}" for i, value in enumerate(creds.visible)]
    hidden = [f"secret {i}: [REDACTED]" for i in range(len(creds.secrets))]
    hidden += [f"field {i}: {value}" for i, value in enumerate(creds.visible)]
    return "\n".join(lines) + "\n", "\n".join(hidden) + "\n"


def assert_no_secret(creds: Credentials, *texts: str) -> None:
    for name, value in creds.secrets:
        for text in texts:
            assert value not in text, name


def test_the_helper_writes_what_discovery_finds(creds: Credentials) -> None:
    """The names the other tests expect are the ones discovery gives, in its order."""
    assert discover(environ=creds.env, home=creds.home) == creds.secrets
    assert list(creds.by_source()) == list(SOURCES)


def test_filter_hides_every_discovered_secret(creds: Credentials, workdir: Path) -> None:
    leaky, expected = leaky_text(creds)
    result = run_redactor("filter", input=leaky, env=creds.env, cwd=workdir, text=True)
    assert (result.returncode, result.stdout, result.stderr) == (0, expected, "")


def test_run_hides_every_discovered_secret(creds: Credentials, workdir: Path) -> None:
    leaky, expected = leaky_text(creds)
    (workdir / "leaky.txt").write_text(leaky, encoding="utf-8")
    # half to stdout, half to stderr: both streams of the child are filtered
    code = (
        "import sys\nlines = open('leaky.txt').read().splitlines(True)\n"
        "for i, line in enumerate(lines):\n"
        "    (sys.stdout if i % 2 == 0 else sys.stderr).write(line)\n"
    )
    result = run_redactor(
        "run", "--", sys.executable, "-c", code, env=creds.env, cwd=workdir, text=True
    )
    wanted = expected.splitlines(True)
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        "".join(wanted[0::2]),
        "".join(wanted[1::2]),
    )


def test_sources_lists_every_discovered_secret(creds: Credentials, workdir: Path) -> None:
    result = run_redactor("sources", env=creds.env, cwd=workdir, text=True)
    listed = creds.by_source()
    assert result.stdout == (
        "".join(
            f"discovered: {source}: {len(names)} secret{'' if len(names) == 1 else 's'} "
            f"({', '.join(names)})\n"
            for source, names in listed.items()
        )
        + f"total: {len(creds.secrets)} secrets\n"
    )
    assert result.returncode == 0 and result.stderr == ""
    assert_no_secret(creds, result.stdout)
    # two sources spelled out, so a change in the format is seen here and not only computed
    lines = result.stdout.splitlines()
    assert lines[0] == "discovered: env: 1 secret (env:DATABRICKS_TOKEN)"
    assert lines[1] == (
        "discovered: databrickscfg: 3 secrets (~/.databrickscfg[DEFAULT]/token, "
        "~/.databrickscfg[staging]/client_secret, ~/.databrickscfg[staging]/password)"
    )
    assert lines[8] == (
        "discovered: gh: 2 secrets (~/xdg-config/gh/hosts.yml[github.com]/oauth_token, "
        "~/xdg-config/gh/hosts.yml[ghe.example-corp.com]/oauth_token)"
    )
    assert lines[-1] == "total: 21 secrets"


@pytest.mark.parametrize("verb", ["filter", "run"])
def test_an_empty_home_still_stops(verb: str, tmp_path: Path, workdir: Path) -> None:
    home = tmp_path / "empty-home"
    home.mkdir()
    args = ["run", "--", sys.executable, "-c", "print('ran')"] if verb == "run" else ["filter"]
    result = run_redactor(*args, input="x\n", env=base_env(home), cwd=workdir, text=True)
    # both also read GitHub's ::add-mask:: lines, and say so
    hint = " (or pass --add-mask-only to rely on '::add-mask::' lines alone)"
    assert (result.returncode, result.stdout, result.stderr) == (
        2,
        "",
        f"redactor: error: {HOW_TO_CONFIGURE}{hint}\n",
    )
