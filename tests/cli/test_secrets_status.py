"""``redactor secrets status`` and ``move-key``, and the OS keychain as the master key's home
(issue 16, findings 3 and 5), through the real CLI in subprocesses.

The keychain tests use keyrings.alt's file backend (a real ``keyring`` backend, chosen with
PYTHON_KEYRING_BACKEND, its file in a temporary XDG_DATA_HOME); the suite's default is
keyring's ``fail`` backend, i.e. no keychain.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers.cli import run_redactor

from redactor.sources.scopes.local import keys

VALUE = "Cli-S3cret-value-0042"
PLAINTEXT_KEYRING = "keyrings.alt.file.PlaintextKeyring"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith(("REDACTOR_", "AZURE_"))}
    e["REDACTOR_HOME"] = str(tmp_path / "home")
    e["XDG_CONFIG_HOME"] = str(tmp_path / "config")
    e["XDG_DATA_HOME"] = str(tmp_path / "data")
    return e


def cli(
    env: dict[str, str], *args: str, stdin: bytes = b"", **extra: str
) -> subprocess.CompletedProcess[str]:
    proc = run_redactor("secrets", *args, input=stdin, env={**env, **extra})
    return subprocess.CompletedProcess(
        proc.args, proc.returncode, proc.stdout.decode(), proc.stderr.decode()
    )


def _key_file(env: dict[str, str]) -> Path:
    """The key file's place as the CLI computes it (under the test's XDG_CONFIG_HOME)."""
    user = keys.store_location_id(Path(env["REDACTOR_HOME"]))
    return Path(env["XDG_CONFIG_HOME"]) / "redactor" / "keys" / user / "master.key"


def _fill(env: dict[str, str], **extra: str) -> None:
    for args, stdin in (
        (("create-scope", "kv"), b""),
        (("create-scope", "other"), b""),
        (("put-secret", "kv", "a"), VALUE.encode()),
        (("put-secret", "kv", "b"), VALUE.encode()),
        (("put-secret", "other", "c"), VALUE.encode()),
    ):
        r = cli(env, *args, stdin=stdin, **extra)
        assert r.returncode == 0, r.stderr


def test_status_of_a_key_file_store_text_and_json(env: dict[str, str]) -> None:
    home = Path(env["REDACTOR_HOME"])
    r = cli(env, "status")
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == (
        f"store:       {home / 'secrets.db'} (not created yet)\n"
        f"master key:  key file {_key_file(env)}; created with the store\n"
        "modes:       ok\n"
    )
    _fill(env)
    key_id = keys.key_id_of(keys.read_key_file(_key_file(env)))
    r = cli(env, "status")
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == (
        f"store:       {home / 'secrets.db'}\n"
        "format:      1\n"
        "contents:    2 scope(s), 3 secret(s)\n"
        f"master key:  key file {_key_file(env)} (wraps key id {key_id}: matches)\n"
        "modes:       ok\n"
    )
    r = cli(env, "status", "-o", "json")
    assert r.returncode == 0
    assert json.loads(r.stdout) == {
        "home": str(home),
        "path": str(home / "secrets.db"),
        "exists": True,
        "format_version": 1,
        "scopes": 2,
        "secrets": 3,
        "master_key": {
            "wrapped_by": "file",
            "key_id": key_id,
            "source": "file",
            "location": str(_key_file(env)),
            "matches": True,
            "detail": "",
        },
        "modes": {"ok": True, "strict": True, "problems": []},
        "error": None,
    }
    key_text = _key_file(env).read_text().strip()
    assert key_text not in r.stdout and VALUE not in r.stdout


def test_status_reports_mode_problems_and_a_wrong_env_key(env: dict[str, str]) -> None:
    _fill(env)
    home = Path(env["REDACTOR_HOME"])
    home.chmod(0o777)
    r = cli(env, "status")
    assert r.returncode == 1
    assert r.stdout == (
        f"store:       {home / 'secrets.db'}\n"
        f"master key:  key file {_key_file(env)}; not checked\n"
        "modes:       problems:\n"
        f"  - REDACTOR_HOME {home} can be written by group or others (mode 0777); refused. "
        f"Run: chmod 700 {home}\n"
    )
    r = cli(env, "status", "-o", "json", REDACTOR_STRICT_MODES="0")
    report = json.loads(r.stdout)
    assert (r.returncode, report["scopes"], report["modes"]["strict"]) == (1, 2, False)
    assert report["modes"]["problems"] == [
        f"REDACTOR_HOME {home} can be written by group or others (mode 0777); allowed. "
        f"Run: chmod 700 {home}"
    ]
    home.chmod(0o700)
    other_key = "22" * 32
    r = cli(env, "status", "-o", "json", REDACTOR_MASTER_KEY=other_key)
    report = json.loads(r.stdout)
    assert r.returncode == 1 and other_key not in r.stdout
    assert report["master_key"]["source"] == "env"
    assert report["master_key"]["location"] == "REDACTOR_MASTER_KEY"
    assert report["master_key"]["matches"] is False


def test_a_lost_database_is_an_error_through_the_cli(env: dict[str, str], tmp_path: Path) -> None:
    _fill(env)
    db = Path(env["REDACTOR_HOME"]) / "secrets.db"
    db.rename(tmp_path / "aside.db")
    key = _key_file(env)
    counter = key.with_name("store.counter")
    for args in (("list-scopes",), ("create-scope", "kv"), ("list-secrets", "kv")):
        r = cli(env, *args)
        assert (r.returncode, r.stdout) == (2, "")
        assert r.stderr == (
            f"Error: DATA_LOSS: {db} is missing, but what opens it exists (key file {key}, "
            f"counter file {counter}): the store was moved or deleted; restore secrets.db from "
            f"the latest backup, or, to start over with an empty store, remove them with: "
            f"rm {key}; rm {counter}\n"
        )
    assert not db.exists()


def test_old_key_beside_the_database_warns_and_move_key_moves_it(env: dict[str, str]) -> None:
    _fill(env)
    home = Path(env["REDACTOR_HOME"])
    legacy = home / "master.key"
    _key_file(env).rename(legacy)  # the layout of stores made before the key moved out
    r = cli(env, "put-secret", "kv", "d", stdin=VALUE.encode())
    assert r.returncode == 0
    assert r.stderr == (
        f"redactor: warning: the master key of the store in {home} is beside the database "
        f"({legacy}), where a copy of the store carries it; move it to {_key_file(env)} with: "
        f"redactor secrets move-key --home {home}\n"
    )
    r = cli(env, "status")
    assert r.returncode == 0
    assert f"master key:  key file {legacy} (wraps key id " in r.stdout
    assert f"matches); not in its place: run redactor secrets move-key --home {home}\n" in r.stdout
    r = cli(env, "move-key", "--home", str(home))
    assert (r.returncode, r.stdout, r.stderr) == (
        0,
        f"moved the key file {legacy} -> {_key_file(env)}\n",
        "",
    )
    assert sorted(p.name for p in home.iterdir()) == ["secrets.audit.jsonl", "secrets.db"]
    r = cli(env, "put-secret", "kv", "e", stdin=VALUE.encode())
    assert (r.returncode, r.stderr) == (0, "")
    r = cli(env, "move-key")
    assert r.stdout == f"the key file is in its place already: {_key_file(env)}\n"
    cli(env, "rotate-key", "--to", "env", stdin=b"11" * 32)
    r = cli(env, "move-key", REDACTOR_MASTER_KEY="11" * 32)
    assert (r.returncode, r.stderr) == (
        2,
        f"redactor: error: the store in {home} is locked with the REDACTOR_MASTER_KEY, not a key "
        "file: there is nothing to move\n",
    )


def test_keychain_store_round_trip_rotation_and_lost_database(
    env: dict[str, str], tmp_path: Path
) -> None:
    """A real keyring backend (a file): a new store keeps its key in the keychain, not in a
    file; rotation moves it between the keychain and a key file; a lost database next to the
    keychain entry is an error."""
    kr = {"PYTHON_KEYRING_BACKEND": PLAINTEXT_KEYRING}
    _fill(env, **kr)
    user = keys.store_location_id(Path(env["REDACTOR_HOME"]))
    keyring_file = Path(env["XDG_DATA_HOME"]) / "python_keyring" / "keyring_pass.cfg"
    assert user in keyring_file.read_text()
    assert not _key_file(env).exists()
    report = json.loads(cli(env, "status", "-o", "json", **kr).stdout)
    assert report["master_key"] == {
        "wrapped_by": "keyring",
        "key_id": report["master_key"]["key_id"],
        "source": "keyring",
        "location": f"redactor/{user}",
        "matches": True,
        "detail": f"backend {PLAINTEXT_KEYRING}",
    }
    # Without a usable keychain the store says so, and never makes a key file instead.
    r = cli(env, "put-secret", "kv", "x", stdin=VALUE.encode())
    assert r.returncode == 2
    assert r.stderr.startswith(
        f"redactor: error: the store in {env['REDACTOR_HOME']} is locked with a key in the OS "
        "keychain, but no keychain is usable here"
    )
    assert not _key_file(env).exists()
    # keychain -> key file -> keychain; the retired key is removed each time.
    r = cli(env, "rotate-key", "--to", "file", **kr)
    assert r.returncode == 0, r.stderr
    assert _key_file(env).is_file() and user not in keyring_file.read_text()
    r = cli(env, "rotate-key", "--to", "keyring", **kr)
    assert r.returncode == 0, r.stderr
    assert not _key_file(env).exists() and user in keyring_file.read_text()
    assert f"{user}.new" not in keyring_file.read_text()
    r = cli(env, "put-secret", "kv", "after-rotation", stdin=VALUE.encode(), **kr)
    assert (r.returncode, r.stderr) == (0, "")
    # The database lost while its key is in the keychain.
    db = Path(env["REDACTOR_HOME"]) / "secrets.db"
    db.rename(tmp_path / "aside.db")
    counter = _key_file(env).with_name("store.counter")
    r = cli(env, "list-scopes", **kr)
    assert r.stderr == (
        f"Error: DATA_LOSS: {db} is missing, but what opens it exists (keychain entry "
        f"redactor/{user}, counter file {counter}): the store was moved or deleted; restore "
        f"secrets.db from the latest backup, or, to start over with an empty store, remove them "
        f"with: python -m keyring del redactor {user}; rm {counter}\n"
    )


def test_low_priority_keyring_backends_are_not_a_keychain(env: dict[str, str]) -> None:
    """keyring's fallbacks (fail, null) and keyrings.alt's plaintext file when keyring picks it
    by itself (priority 0.5) are no keychain: the store uses a key file."""
    code = (
        "import keyring, keyrings.alt.file; "
        "keyring.set_keyring(keyrings.alt.file.PlaintextKeyring()); "
        "from redactor.sources.scopes.local import keychain; "
        "print(keychain.available({}), keychain.available({'PYTHON_KEYRING_BACKEND': 'x'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert out == "False True\n"
    for backend in ("keyring.backends.fail.Keyring", "keyring.backends.null.Keyring"):
        _env = {**env, "REDACTOR_HOME": env["REDACTOR_HOME"] + backend}
        r = cli(_env, "create-scope", "kv", PYTHON_KEYRING_BACKEND=backend)
        assert (r.returncode, r.stderr) == (0, "")
        assert _key_file(_env).is_file()
