"""Store-wide integrity (issue 16, finding 2): edits made with the real ``sqlite3`` tool behind the
store's back (rollback of the file, of one row, a resurrected row, a redirected scope, edited
timestamps and counters) are refused with a message that names what changed. On a store without
the check each of these reads silently succeeds."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import pytest
from helpers.cli import run_redactor

from redactor.engine.redactor import RedactorWarning
from redactor.sources.scopes import LocalStore, SecretsError
from redactor.sources.scopes.errors import IntegrityError, StoreCorruptError, StoreMissingError
from redactor.sources.scopes.local.integrity import counter_path

RECOVER = (
    "restore the latest backup of the store, or, if you trust the store as it is now, run "
    "`redactor secrets repair --accept`"
)
OLD, NEW = "old-Value-0001-rolled-back", "new-Value-0002-current"
SQLITE3 = shutil.which("sqlite3")
pytestmark = pytest.mark.skipif(SQLITE3 is None, reason="needs the sqlite3 command-line tool")


def sql(store: LocalStore, statement: str) -> str:
    """Run ``statement`` with the real sqlite3 tool, as someone editing the file would."""
    assert SQLITE3 is not None
    return subprocess.run(
        [SQLITE3, str(store.path), statement], check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    s = LocalStore(tmp_path / "home", environ={})
    s.create_scope("prod")  # write 1 (creation is write 0)
    return s


def fresh(store: LocalStore) -> LocalStore:
    return LocalStore(store.home, environ={})


def failed(what: str) -> str:
    return f"store integrity check failed: {what}; {RECOVER}"


def raises_exactly(message: str):
    return pytest.raises(IntegrityError, match="^" + __import__("re").escape(message) + "$")


def test_whole_file_rollback_is_detected(store: LocalStore) -> None:
    store.put_secret("prod", "db-password", OLD)  # write 2
    copy = store.home / "backup.db"
    shutil.copyfile(store.path, copy)
    store.put_secret("prod", "db-password", NEW)  # write 3
    shutil.copyfile(copy, store.path)  # the old file put back
    counter = counter_path(store.home)
    with raises_exactly(
        f"store is older than its counter (rolled back?): {store.path} is at write 2, but "
        f"{counter} records write 3; {RECOVER}"
    ) as e:
        fresh(store).get_secret("prod", "db-password")
    assert OLD not in str(e.value) and NEW not in str(e.value)
    # and the same instance, whose data key is cached, too
    with pytest.raises(IntegrityError, match=r"^store is older than its counter"):
        store.list_scopes()
    # nothing was silently re-created or repaired
    assert counter.read_text().split()[2] == "3"


def test_single_row_restored_from_a_backup_is_detected(store: LocalStore) -> None:
    store.put_secret("prod", "db-password", OLD)
    old_row = sql(store, "SELECT version, hex(nonce), hex(ct), updated_ms FROM secrets")
    store.put_secret("prod", "db-password", NEW)
    version, nonce, ct, updated = old_row.split("|")
    sql(
        store,
        f"UPDATE secrets SET version={version}, nonce=X'{nonce}', ct=X'{ct}', "
        f"updated_ms={updated} WHERE key_norm='db-password'",
    )
    with raises_exactly(failed("scope 'prod' rows changed outside redactor")):
        fresh(store).get_secret("prod", "db-password")


def test_deleted_row_reinserted_is_detected(store: LocalStore) -> None:
    store.put_secret("prod", "keep", NEW)
    store.put_secret("prod", "revoked", OLD)
    row = sql(
        store,
        "SELECT quote(nonce), quote(ct), version, dek_id FROM secrets WHERE key_norm='revoked'",
    )
    store.delete_secret("prod", "revoked")
    nonce, ct, version, dek_id = row.split("|")
    sql(
        store,
        "INSERT INTO secrets VALUES ('prod', 'revoked', 'revoked', 'str', "
        f"{version}, '{dek_id}', {nonce}, {ct}, 0)",
    )
    with raises_exactly(failed("scope 'prod' rows changed outside redactor")):
        fresh(store).get_secret("prod", "revoked")
    with raises_exactly(failed("scope 'prod' rows changed outside redactor")):
        fresh(store).list_secrets("prod")


@pytest.mark.parametrize(
    "edit",
    [
        "UPDATE scopes SET backend='AZURE_KEYVAULT', "
        "options='{\"dns_name\": \"https://attacker.vault.azure.net/\"}' WHERE scope_norm='prod'",
        'UPDATE scopes SET options=\'{"dns_name": "https://attacker.vault.azure.net/"}\' '
        "WHERE scope_norm='vault'",
    ],
)
def test_scope_backend_redirect_is_detected(store: LocalStore, edit: str) -> None:
    store.create_scope("vault", "AZURE_KEYVAULT", {"dns_name": "https://mine.vault.azure.net/"})
    name = "prod" if "'prod'" in edit else "vault"
    sql(store, edit)
    message = failed(
        f"scope {name!r} settings (backend, vault URL, options) changed outside redactor"
    )
    with raises_exactly(message):
        fresh(store).get_scope(name)
    with raises_exactly(message):
        fresh(store).list_scopes()
    # the CLI says the same, on one line, exit 2
    r = run_redactor("secrets", "list-scopes", "--home", store.home, text=True)
    assert (r.returncode, r.stdout, r.stderr) == (2, "", f"Error: DATA_LOSS: {message}\n")


@pytest.mark.parametrize(
    ("edit", "what"),
    [
        ("UPDATE secrets SET updated_ms = 0", "scope 'prod' rows changed outside redactor"),
        ("UPDATE secrets SET key = 'A'", "scope 'prod' rows changed outside redactor"),
        (
            "UPDATE meta SET value = '1' WHERE name = 'write_counter'",
            "the store's metadata (keys, write counter, format) changed outside redactor",
        ),
        (
            "UPDATE scopes SET created_ms = 1",
            "scope 'prod' settings (backend, vault URL, options) changed outside redactor",
        ),
        (
            "DELETE FROM scopes WHERE scope_norm = 'prod'",
            "scope 'prod' was deleted outside redactor",
        ),
        (
            "INSERT INTO scopes VALUES ('extra', 'extra', 'DATABRICKS', '{}', 0)",
            "scope 'extra' was added outside redactor",
        ),
        (
            "UPDATE meta SET value = replace(value, '\"counter\": 3', '\"counter\": 9') "
            "WHERE name = 'integrity'",
            "the integrity record of {path} was changed outside redactor",
        ),
        (
            "UPDATE meta SET value = 'not json' WHERE name = 'integrity'",
            "the integrity record of {path} is malformed",
        ),
    ],
)
def test_edited_columns_timestamps_and_counters_are_detected(
    store: LocalStore, edit: str, what: str
) -> None:
    store.put_secret("prod", "a", NEW)
    store.put_secret("prod", "b", OLD)
    sql(store, edit)
    with raises_exactly(failed(what.format(path=store.path))):
        fresh(store).list_scopes()


def test_removed_integrity_record_and_counter_file(store: LocalStore) -> None:
    store.put_secret("prod", "a", NEW)
    sql(store, "DELETE FROM meta WHERE name = 'integrity'")
    with raises_exactly(
        failed(f"the integrity record of {store.path} was removed outside redactor")
    ):
        fresh(store).get_secret("prod", "a")
    fresh(store).repair()
    counter = counter_path(store.home)
    counter.unlink()
    with raises_exactly(
        f"the store's counter file {counter} is missing (deleted, or the store was copied here "
        f"without it), so a rollback of {store.path} cannot be ruled out; {RECOVER}"
    ):
        fresh(store).get_secret("prod", "a")


CRASH_WRITER = textwrap.dedent(
    """
    import sys
    from redactor.sources.scopes import LocalStore
    LocalStore(sys.argv[1], environ={}).put_secret("prod", "a", sys.argv[2])
    """
)


def test_crash_between_commit_and_counter_file_is_accepted_and_repaired(
    store: LocalStore,
) -> None:
    store.put_secret("prod", "a", OLD)  # write 2
    counter = counter_path(store.home)
    assert counter.read_text().split()[2] == "2"
    p = subprocess.run(
        [sys.executable, "-c", CRASH_WRITER, str(store.home), NEW],
        env={**__import__("os").environ, "REDACTOR_TEST_CRASH_AT": "commit:before-counter"},
        capture_output=True,
        check=False,
    )
    assert p.returncode == 137
    assert counter.read_text().split()[2] == "2"  # the file missed write 3
    assert fresh(store).get_secret("prod", "a") == NEW  # authentic and newer: accepted
    assert counter.read_text().split()[2] == "3"  # and the file caught up


def test_legacy_store_is_upgraded_with_a_note(store: LocalStore) -> None:
    store.put_secret("prod", "a", NEW)
    # what a store written before the check looks like: no record, no audit key, no counter file
    sql(store, "DELETE FROM meta WHERE name IN ('integrity', 'audit_key')")
    (counter_path(store.home)).unlink()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert fresh(store).get_secret("prod", "a") == NEW
    assert [str(w.message) for w in caught if issubclass(w.category, RedactorWarning)] == [
        f"the secret store {store.path} had no integrity record (written by an older redactor): "
        "added one; from now on changes made outside redactor are detected"
    ]
    assert (counter_path(store.home)).exists()
    sql(store, "UPDATE secrets SET updated_ms = 0")
    with raises_exactly(failed("scope 'prod' rows changed outside redactor")):
        fresh(store).get_secret("prod", "a")


def test_repair_through_the_cli(store: LocalStore) -> None:
    store.put_secret("prod", "a", OLD)
    copy = store.home / "backup.db"
    shutil.copyfile(store.path, copy)
    store.put_secret("prod", "a", NEW)
    shutil.copyfile(copy, store.path)
    r = run_redactor("secrets", "repair", "--home", store.home, text=True)
    assert r.returncode == 2
    assert r.stderr == (
        "redactor: error: repair re-seals the store as it is now, accepting any change made "
        "outside redactor; run it with --accept if that is what you want (else restore the "
        "latest backup)\n"
    )
    r = run_redactor("secrets", "repair", "--accept", "--home", store.home, text=True)
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == (
        "accepted the store as it is now (it had failed: store is older than its counter "
        f"(rolled back?): {store.path} is at write 2, but {counter_path(store.home)} "
        "records write 3)\n"
    )
    assert fresh(store).get_secret("prod", "a") == OLD  # the user chose the old copy
    store.put_secret("prod", "a", NEW)
    assert fresh(store).get_secret("prod", "a") == NEW


def test_errors_are_store_corrupt_errors(store: LocalStore) -> None:
    sql(store, "UPDATE scopes SET name = 'PROD'")
    with pytest.raises(StoreCorruptError) as e:
        fresh(store).list_scopes()
    assert isinstance(e.value, SecretsError) and e.value.error_code == "DATA_LOSS"
    assert e.value.__cause__ is None and e.value.__context__ is None


def test_a_deleted_database_is_not_silently_recreated(store: LocalStore) -> None:
    store.put_secret("prod", "a", NEW)
    store.path.rename(store.home / "moved-aside.db")
    counter = counter_path(store.home)
    key = counter.with_name("master.key")
    with pytest.raises(StoreMissingError) as e:
        fresh(store).create_scope("prod")
    assert str(e.value) == (
        f"{store.path} is missing, but what opens it exists (key file {key}, counter file "
        f"{counter}): the store was moved or deleted; restore secrets.db from the latest backup, "
        f"or, to start over with an empty store, remove them with: rm {key}; rm {counter}"
    )
    assert not store.path.exists()
    (store.home / "moved-aside.db").rename(store.path)
    assert fresh(store).get_secret("prod", "a") == NEW


def test_no_key_bytes_in_the_frames_of_an_integrity_error(store: LocalStore) -> None:
    """What a traceback printed with locals (--showlocals, IPython's verbose mode) would show."""
    store.put_secret("prod", "a", NEW)
    sql(store, "UPDATE secrets SET updated_ms = 0")
    s = fresh(store)
    with pytest.raises(IntegrityError) as e:
        s.get_secret("prod", "a")
    dk = s._dek
    assert dk is not None
    keys = [dk.raw, dk.subkey("store-mac")]
    assert e.value.__traceback__ is not None
    tb = e.value.__traceback__.tb_next  # below this test's own frame
    frames = 0
    while tb is not None:
        for value in tb.tb_frame.f_locals.values():
            shown = repr(value)
            assert not any(repr(k)[2:-1] in shown or k.hex() in shown for k in keys)
            assert NEW not in shown
        tb, frames = tb.tb_next, frames + 1
    assert frames >= 3  # the store's frames down to integrity.check_record


def test_legacy_store_upgrade_note_through_the_cli(store: LocalStore) -> None:
    sql(store, "DELETE FROM meta WHERE name IN ('integrity', 'audit_key')")
    (counter_path(store.home)).unlink()
    r = run_redactor("secrets", "list-scopes", "--home", store.home, text=True)
    assert (r.returncode, r.stdout) == (0, "Scope  Backend Type\nprod   DATABRICKS\n")
    assert r.stderr == (
        f"redactor: warning: the secret store {store.path} had no integrity record (written by "
        "an older redactor): added one; from now on changes made outside redactor are detected\n"
    )
    r = run_redactor("secrets", "list-scopes", "--home", store.home, text=True)
    assert (r.returncode, r.stderr) == (0, "")  # once
