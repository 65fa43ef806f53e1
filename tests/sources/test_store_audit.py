"""The local store's audit log (issue 16): every read, write, delete and rotation, never a value,
chained by HMACs so that an edited or removed line is found; four processes at once keep it whole.
"""

from __future__ import annotations

import json
import os
import pwd
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from helpers.cli import run_redactor

from redactor.sources.scopes import LocalStore

VALUE = "Audit-Never-Shows-This-Value-77"


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    s = LocalStore(tmp_path / "home", environ={})
    s.create_scope("prod")
    s.put_secret("prod", "db-password", VALUE)
    assert s.get_secret("prod", "db-password") == VALUE
    s.items("prod")
    s.delete_secret("prod", "db-password")
    s.rotate_key()
    s.delete_scope("prod")
    return s


def _lines(store: LocalStore) -> list[dict]:
    return [json.loads(x) for x in store.audit_path.read_text().splitlines()]


def test_every_operation_is_logged_without_values(store: LocalStore) -> None:
    lines = _lines(store)
    assert [(x["op"], x["scope"], x["key"]) for x in lines] == [
        ("create-scope", "prod", ""),
        ("write", "prod", "db-password"),
        ("read", "prod", "db-password"),
        ("read", "prod", "*"),
        ("delete", "prod", "db-password"),
        ("rotate-key", "", ""),
        ("delete-scope", "prod", ""),
    ]
    me = pwd.getpwuid(os.getuid()).pw_name
    for n, x in enumerate(lines, 1):
        assert x["seq"] == n and x["pid"] == os.getpid() and x["uid"] == os.getuid()
        assert x["user"] == me and x["time"].endswith("Z") and len(x["time"]) == 24
        assert set(x) == {"seq", "time", "user", "uid", "pid", "op", "scope", "key", "prev", "mac"}
    assert VALUE not in store.audit_path.read_text()
    assert stat.S_IMODE(store.audit_path.stat().st_mode) == 0o600
    # the chain survives the rotation, which replaced the data key
    result = LocalStore(store.home, environ={}).verify_audit_log()
    assert (result.lines, result.broken_at) == (7, None)


def _rewrite(store: LocalStore, lines: list[str]) -> None:
    store.audit_path.write_text("".join(x + "\n" for x in lines))


def test_cli_shows_the_log_and_verifies_its_chain(store: LocalStore) -> None:
    home = str(store.home)
    r = run_redactor("secrets", "audit", "--home", home, text=True)
    assert r.returncode == 0 and r.stderr == ""
    out = r.stdout.splitlines()
    assert out[0].split() == ["Time", "User", "PID", "Operation", "Scope", "Key"]
    assert out[2].split()[3:] == ["write", "prod", "db-password"]
    assert len(out) == 8 and VALUE not in r.stdout
    r = run_redactor("secrets", "audit", "-o", "json", "--home", home, text=True)
    entries = json.loads(r.stdout)["entries"]
    assert [e["op"] for e in entries][:2] == ["create-scope", "write"]
    r = run_redactor("secrets", "audit", "--verify", "--home", home, text=True)
    assert (r.returncode, r.stdout, r.stderr) == (
        0,
        f"audit log {store.audit_path}: 7 line(s), chain intact\n",
        "",
    )


def test_edited_or_removed_lines_break_the_chain(store: LocalStore) -> None:
    original = store.audit_path.read_text().splitlines()
    home = str(store.home)
    cases = [
        (
            [*original[:2], original[2].replace('"db-password"', '"other-key"'), *original[3:]],
            f"line 3 of {len(original)} fails the integrity chain: its MAC does not match "
            "(the line was changed)",
        ),
        (
            [*original[:3], *original[4:]],
            f"line 4 of {len(original) - 1} fails the integrity chain: does not follow the line "
            "before it (a line was removed)",
        ),
        (
            original[1:],
            f"line 1 of {len(original) - 1} fails the integrity chain: does not follow the line "
            "before it (a line was removed)",
        ),
        (
            [*original[:1], "not json", *original[1:]],
            f"line 2 of {len(original) + 1} fails the integrity chain: not a JSON object",
        ),
    ]
    for lines, message in cases:
        _rewrite(store, lines)
        r = run_redactor("secrets", "audit", "--verify", "--home", home, text=True)
        assert (r.returncode, r.stdout, r.stderr) == (
            1,
            "",
            f"audit log {store.audit_path}: {message}\n",
        )


WORKER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from redactor.sources.scopes import LocalStore
    home, me, n, go = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
    while not go.exists():
        time.sleep(0.001)
    store = LocalStore(home, environ={})
    for j in range(n):
        store.put_secret("shared", f"p{me}-k{j}", f"value-{me}-{j}-xxxxxxxx")
        assert store.get_secret("shared", f"p{me}-k{j}") == f"value-{me}-{j}-xxxxxxxx"
    print("done", me)
    """
)


def test_four_writer_processes_keep_the_log_consistent(tmp_path: Path) -> None:
    home, go, n = tmp_path / "home", tmp_path / "go", 25
    LocalStore(home, environ={}).create_scope("shared")
    env = {k: v for k, v in os.environ.items() if not k.startswith("REDACTOR_")}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(home), str(i), str(n), str(go)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    time.sleep(0.3)
    go.touch()
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], [o[1][-2000:] for o in outs]
    store = LocalStore(home, environ={})
    lines = [json.loads(x) for x in store.audit_path.read_text().splitlines()]
    assert len(lines) == 1 + 4 * n * 2
    assert [x["seq"] for x in lines] == list(range(1, len(lines) + 1))
    by_pid: dict[int, list[tuple[str, str]]] = {}
    for x in lines[1:]:
        by_pid.setdefault(x["pid"], []).append((x["op"], x["key"]))
    assert sorted(by_pid) == sorted(p.pid for p in procs)
    for i, p in enumerate(procs):
        key_prefix = by_pid[p.pid][0][1].split("-")[0]
        assert by_pid[p.pid] == [
            (op, f"{key_prefix}-k{j}") for j in range(n) for op in ("write", "read")
        ]
    result = store.verify_audit_log()
    assert (result.lines, result.broken_at) == (len(lines), None)
