"""Issue 16, finding 3 (owner and mode checks like ssh's StrictModes; no symlink followed; a lost
database is never silently re-created) and finding 5 (the master key outside the data directory).

Real files, real chmod/chown (the suite runs as root: "another user" is uid 65534, nobody), real
subprocesses where a fresh process matters (warnings once per process, the keychain backend).
Root bypasses modes on access, so these tests check the store's decisions, not the kernel's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest

from redactor.engine.redactor import RedactorWarning
from redactor.sources.scopes import (
    LocalStore,
    MasterKeyError,
    StoreMissingError,
    UnsafePermissionsError,
)
from redactor.sources.scopes.local import keys
from redactor.sources.scopes.local.perms import user_name

VALUE = "s3cr3t-Value-that-must-never-leak"
NOBODY = 65534
ME = user_name()  # the name the chown hints give: root when the suite runs as root

pytestmark = pytest.mark.skipif(os.name != "posix", reason="Unix owners and modes")


def _reopen(home: Path, **env: str) -> LocalStore:
    return LocalStore(home, environ=env)


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    s = LocalStore(tmp_path / "home", environ={})
    s.create_scope("kv")
    s.put_secret("kv", "a", VALUE)
    return s


def _refused(home: Path, message: str, **env: str) -> None:
    """Every way in gives exactly ``message``: read, write, list, create."""
    s = _reopen(home, **env)
    for op in (
        lambda: s.get_secret("kv", "a"),
        lambda: s.put_secret("kv", "b", "another-value-1234"),
        s.list_scopes,
        lambda: s.create_scope("new"),
    ):
        with pytest.raises(UnsafePermissionsError) as e:
            op()
        assert str(e.value) == message
        assert VALUE not in str(e.value)


# -- finding 3: owner and modes -----------------------------------------------------------------


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o730, 0o707, 0o702])
def test_home_writable_by_group_or_others_is_refused(store: LocalStore, mode: int) -> None:
    home = store.home
    home.chmod(mode)
    _refused(
        home,
        f"REDACTOR_HOME {home} can be written by group or others (mode {mode:04o}); refused. "
        f"Run: chmod 700 {home}",
    )
    home.chmod(0o755)  # readable by others is no threat to the store: allowed
    assert _reopen(home).get_secret("kv", "a") == VALUE


@pytest.mark.parametrize(
    "name", ["secrets.db", "secrets.db-wal", "secrets.db-shm", "secrets.db-journal"]
)
@pytest.mark.parametrize("mode", [0o666, 0o620, 0o602])
def test_database_and_side_files_writable_by_others_are_refused(
    store: LocalStore, name: str, mode: int
) -> None:
    path = store.home / name
    if not path.exists():
        path.touch(mode=0o600)  # SQLite removes -wal/-shm on the last close
    path.chmod(mode)
    what = "the secret store" if name == "secrets.db" else "the store's journal"
    _refused(
        store.home,
        f"{what} {path} can be written by group or others (mode {mode:04o}); refused. "
        f"Run: chmod 600 {path}",
    )
    path.chmod(0o644)
    assert _reopen(store.home).get_secret("kv", "a") == VALUE


@pytest.mark.parametrize("name", ["", "secrets.db", "secrets.db-wal"])
def test_owned_by_another_user_is_refused(store: LocalStore, name: str) -> None:
    path = store.home / name if name else store.home
    if not path.exists():
        path.touch(mode=0o600)
    os.chown(path, NOBODY, -1)
    what = {"": "REDACTOR_HOME", "secrets.db": "the secret store"}.get(name, "the store's journal")
    _refused(
        store.home,
        f"{what} {path} belongs to another user (uid {NOBODY}, not {os.geteuid()}); refused. "
        f"Run: chown {ME} {path}",
    )
    os.chown(path, os.geteuid(), -1)
    assert _reopen(store.home).get_secret("kv", "a") == VALUE


def test_strict_modes_0_warns_once_and_opens(store: LocalStore) -> None:
    home = store.home
    home.chmod(0o777)
    (home / "secrets.db").chmod(0o666)
    lenient = _reopen(home, REDACTOR_STRICT_MODES="0")
    with pytest.warns(RedactorWarning) as caught:
        assert lenient.get_secret("kv", "a") == VALUE
        assert lenient.get_secret("kv", "a") == VALUE  # warned once per path, not per open
    assert [str(w.message) for w in caught] == [
        f"REDACTOR_HOME {home} can be written by group or others (mode 0777); allowed because "
        f"REDACTOR_STRICT_MODES=0. Run: chmod 700 {home}",
        f"the secret store {home / 'secrets.db'} can be written by group or others (mode 0666); "
        f"allowed because REDACTOR_STRICT_MODES=0. Run: chmod 600 {home / 'secrets.db'}",
    ]
    # any other value is strict
    with pytest.raises(UnsafePermissionsError):
        _reopen(home, REDACTOR_STRICT_MODES="no").get_secret("kv", "a")


# -- finding 3: symbolic links ------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["-wal", "-shm", "-journal"])
@pytest.mark.parametrize("strict", ["1", "0"])
def test_planted_side_file_symlink_is_refused_clearly(
    store: LocalStore, tmp_path: Path, suffix: str, strict: str
) -> None:
    """On main a planted secrets.db-wal symlink made every write fail with "damaged, restore
    from a backup"; now it is named, refused, and never written through."""
    target = tmp_path / "attacker-owned"
    target.write_bytes(b"")
    link = store.home / f"secrets.db{suffix}"
    with pytest.raises(FileNotFoundError):
        link.unlink()  # closed cleanly: SQLite left no side files
    link.symlink_to(target)
    _refused(
        store.home,
        f"the store's journal {link} is a symbolic link, which the store never creates; "
        f"refused. Check where it points ({target}), then remove it: rm {link}",
        REDACTOR_STRICT_MODES=strict,  # the escape hatch never covers links
    )
    assert target.read_bytes() == b""
    link.unlink()
    assert _reopen(store.home).get_secret("kv", "a") == VALUE


def test_dangling_symlink_database_is_refused_not_created(
    store: LocalStore, tmp_path: Path
) -> None:
    db = store.home / "secrets.db"
    db.rename(tmp_path / "real.db")
    db.symlink_to(tmp_path / "nowhere.db")
    _refused(
        store.home,
        f"the secret store {db} is a symbolic link, which the store never creates; refused. "
        f"Check where it points ({tmp_path / 'nowhere.db'}), then remove it: rm {db}",
    )
    assert not (tmp_path / "nowhere.db").exists()


def test_symlinked_home_is_refused(store: LocalStore, tmp_path: Path) -> None:
    link = tmp_path / "link-home"
    link.symlink_to(store.home)
    _refused(
        link,
        f"REDACTOR_HOME {link} is a symbolic link, which the store never creates; refused. "
        f"Set REDACTOR_HOME to the real directory: {store.home}",
    )


# -- finding 3: a lost database is not a fresh store -------------------------------------------


def test_missing_database_next_to_its_key_is_an_error(store: LocalStore, tmp_path: Path) -> None:
    """On main, moving secrets.db aside made the next command create an empty store (and a put
    back old copy was then taken as current)."""
    db = store.home / "secrets.db"
    db.rename(tmp_path / "aside.db")
    key_file = keys.key_file_path(store.home)
    counter = key_file.with_name(keys.COUNTER_FILE_NAME)
    expected = (
        f"{db} is missing, but what opens it exists (key file {key_file}, counter file "
        f"{counter}): the store was moved or deleted; restore secrets.db from the latest backup, "
        f"or, to start over with an empty store, remove them with: rm {key_file}; rm {counter}"
    )
    s = _reopen(store.home)
    for op in (s.list_scopes, lambda: s.create_scope("kv"), lambda: s.get_secret("kv", "a")):
        with pytest.raises(StoreMissingError) as e:
            op()
        assert str(e.value) == expected
    assert not db.exists()
    (tmp_path / "aside.db").rename(db)
    assert _reopen(store.home).get_secret("kv", "a") == VALUE
    # Starting over as the message says gives a fresh, empty store.
    db.unlink()
    key_file.unlink()
    counter.unlink()
    assert _reopen(store.home).list_scopes() == []
    _reopen(store.home).create_scope("fresh")
    assert [s.name for s in _reopen(store.home).list_scopes()] == ["fresh"]


def test_missing_database_next_to_an_old_key_file_or_counter_is_an_error(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    (home / "master.key").write_bytes(b"x")  # an old store's key beside its (lost) database
    with pytest.raises(StoreMissingError, match=rf"\(key file {home / 'master.key'}\)"):
        _reopen(home).list_scopes()
    (home / "master.key").unlink()
    counter = keys.key_file_path(home).with_name(keys.COUNTER_FILE_NAME)
    counter.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    counter.write_text("7")
    with pytest.raises(StoreMissingError, match=rf"\(counter file {counter}\).*: rm {counter}$"):
        _reopen(home, REDACTOR_MASTER_KEY="11" * 32).create_scope("kv")


# -- finding 3 and 5: the key directory and key file ------------------------------------------


def test_key_directory_open_to_others_is_refused_even_with_strict_modes_0(
    store: LocalStore,
) -> None:
    key_dir = keys.key_file_path(store.home).parent
    key_dir.chmod(0o777)
    for env in ({}, {"REDACTOR_STRICT_MODES": "0"}):
        with pytest.raises(UnsafePermissionsError) as e:
            _reopen(store.home, **env).get_secret("kv", "a")
        assert str(e.value) == (
            f"the key directory {key_dir} can be read or written by group or others "
            f"(mode 0777); refused. Run: chmod 700 {key_dir}"
        )
    key_dir.chmod(0o700)
    os.chown(key_dir, NOBODY, -1)
    with pytest.raises(UnsafePermissionsError, match=rf"Run: chown {ME} {key_dir}$"):
        _reopen(store.home).get_secret("kv", "a")


def test_key_directories_are_private_whatever_the_umask(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "fresh-config"))
    old = os.umask(0o002)  # common on distributions with a group per user
    try:
        s = LocalStore(tmp_path / "home", environ={})
        s.create_scope("kv")
        s.put_secret("kv", "a", VALUE)
    finally:
        os.umask(old)
    key_dir = keys.key_file_path(s.home).parent
    assert key_dir.parent.parent == tmp_path / "fresh-config" / "redactor"
    for d in (key_dir, key_dir.parent, key_dir.parent.parent):
        assert oct(d.stat().st_mode & 0o777) == "0o700", d
    assert _reopen(s.home).get_secret("kv", "a") == VALUE


def test_key_file_of_another_user_is_refused(store: LocalStore) -> None:
    key_file = keys.key_file_path(store.home)
    os.chown(key_file, NOBODY, -1)
    with pytest.raises(MasterKeyError) as e:
        _reopen(store.home).get_secret("kv", "a")
    assert str(e.value) == (
        f"key file {key_file} belongs to another user (uid {NOBODY}); refused. "
        f"Run: chown {ME} {key_file}"
    )


# -- finding 5: the key outside the data directory ----------------------------------------------

OPEN = textwrap.dedent(
    """
    import sys
    from redactor.sources.scopes import LocalStore
    print(LocalStore(sys.argv[1], environ={}).get_secret("kv", "a") == sys.argv[2])
    """
)


def _open_elsewhere(home: Path, config: Path) -> subprocess.CompletedProcess[str]:
    """Open ``home`` in a process whose user config directory is ``config``."""
    env = {**os.environ, "XDG_CONFIG_HOME": str(config)}
    return subprocess.run(
        [sys.executable, "-c", OPEN, str(home), VALUE],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_key_lives_in_the_config_dir_and_a_copy_of_home_is_not_enough(
    store: LocalStore, tmp_path: Path
) -> None:
    """On main the key file sat beside secrets.db, so a copy of REDACTOR_HOME (a backup, a
    synced folder) decrypted on any machine."""
    key_file = keys.key_file_path(store.home)
    config = Path(os.environ["XDG_CONFIG_HOME"])
    assert key_file.parent.parent == config / "redactor" / "keys"
    assert key_file.name == "master.key" and key_file.is_file()
    assert sorted(p.name for p in store.home.iterdir()) == ["secrets.audit.jsonl", "secrets.db"]
    copy = tmp_path / "backup-copy"
    shutil.copytree(store.home, copy)
    r = _open_elsewhere(copy, tmp_path / "another-machine-config")
    assert r.returncode == 1
    wanted = (
        tmp_path / "another-machine-config" / "redactor" / "keys" / keys.store_location_id(copy)
    ) / "master.key"
    key_id = keys.key_id_of(keys.read_key_file(key_file))
    assert r.stderr.splitlines()[-1] == (
        f"redactor.sources.scopes.errors.MasterKeyError: key file {wanted} is missing; the "
        f"store in {copy} cannot be opened without the key that wrapped its data key (key id "
        f"{key_id}), or set REDACTOR_MASTER_KEY / REDACTOR_PASSPHRASE if it was locked with one"
    )
    assert VALUE not in r.stderr + r.stdout
    # The same user on the same machine (same config directory) still opens it.
    r = _open_elsewhere(copy, config)
    assert (r.returncode, r.stdout) == (0, "True\n"), r.stderr


def test_a_moved_store_finds_its_key_by_key_id_and_says_how_to_move_it(
    store: LocalStore, tmp_path: Path
) -> None:
    old_key_file = keys.key_file_path(store.home)
    moved = tmp_path / "moved-home"
    store.home.rename(moved)
    with pytest.warns(RedactorWarning) as caught:
        assert _reopen(moved).get_secret("kv", "a") == VALUE
    assert [str(w.message) for w in caught] == [
        f"the master key of the store in {moved} is in another store's place ({old_key_file}), "
        f"where a copy of the store carries it; move it to {keys.key_file_path(moved)} with: "
        f"redactor secrets move-key --home {moved}"
    ]
    assert keys.move_key_file(moved, _reopen(moved).wrapping_info()) == (  # type: ignore[arg-type]
        old_key_file,
        keys.key_file_path(moved),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _reopen(moved).get_secret("kv", "a") == VALUE


def _make_legacy(store: LocalStore) -> Path:
    """Turn ``store`` into one made before the key left REDACTOR_HOME."""
    key_file = keys.key_file_path(store.home)
    legacy = store.home / "master.key"
    key_file.rename(legacy)
    return legacy


def test_old_key_file_beside_the_database_still_opens_and_rotation_moves_it(
    store: LocalStore,
) -> None:
    legacy = _make_legacy(store)
    with pytest.warns(RedactorWarning, match=r"is beside the database \(.*master\.key\)"):
        assert _reopen(store.home).get_secret("kv", "a") == VALUE
    _reopen(store.home).rotate_key()
    assert not legacy.exists()  # the retired key would keep old backups readable
    assert keys.key_file_path(store.home).is_file()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _reopen(store.home).get_secret("kv", "a") == VALUE
    assert sorted(p.name for p in store.home.iterdir()) == ["secrets.audit.jsonl", "secrets.db"]
