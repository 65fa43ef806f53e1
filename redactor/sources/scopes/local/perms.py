"""Owner and mode checks of the local store's files, like ssh's ``StrictModes``.

Why: whoever can write ``REDACTOR_HOME`` can move ``secrets.db`` aside and put an old copy back
(rollback), plant a ``secrets.db-wal`` symlink, or swap the key file. So the store refuses a
home, database, journal or key location that another user owns, or that group or others can
write, and says the ``chmod``/``chown`` to run. Every check is an ``os.lstat``: a symbolic link
is never followed, and a link where the store keeps a file is refused outright (the store never
creates one). The five ``lstat`` calls of an open cost 0.18 ms against 6.4 ms for a whole
``get_secret`` (measured on the shared 2-core machine at load 8), so they run on every open.

``REDACTOR_STRICT_MODES=0`` turns owner and mode refusals into warnings, for file systems that
cannot hold Unix modes (some shared mounts show everything as 0777 or owned by root). Symbolic
links, wrong file types and the key file's own check stay errors whatever it says.
"""

from __future__ import annotations

import os
import stat
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from redactor.engine.redactor import RedactorWarning
from redactor.sources.scopes.errors import UnsafePermissionsError

__all__ = [
    "ENV_STRICT_MODES",
    "JOURNAL_SUFFIXES",
    "Problem",
    "check_path",
    "enforce",
    "store_problems",
    "strict_modes",
    "user_name",
]

ENV_STRICT_MODES = "REDACTOR_STRICT_MODES"
# SQLite's side files of a database: the WAL, its shared-memory index and the rollback journal.
JOURNAL_SUFFIXES = ("-wal", "-shm", "-journal")

_warned: set[tuple[str, str]] = set()


@dataclass(frozen=True)
class Problem:
    """One refusal: what is wrong with ``path`` and the command that fixes it."""

    path: Path
    what: str  # "REDACTOR_HOME", "the secret store", "the key directory", ...
    problem: str
    fix: str  # a shell command, or advice
    fatal: bool = False  # True: not even REDACTOR_STRICT_MODES=0 lets it pass

    def message(self, verdict: str = "refused") -> str:
        return f"{self.what} {self.path} {self.problem}; {verdict}. {self.fix}"


def strict_modes(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return env.get(ENV_STRICT_MODES, "1").strip() != "0"


def user_name(uid: int | None = None) -> str:
    """The effective user's name for a ``chown`` hint (the uid where it has no name)."""
    uid = os.geteuid() if uid is None else uid
    try:
        import pwd  # POSIX only; this module's checks run on POSIX only

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return str(uid)


def check_path(path: Path, what: str, *, directory: bool, private: bool = False) -> list[Problem]:
    """The problems of ``path`` (none if it does not exist, or off POSIX).

    ``directory``: it must be a directory, else a regular file. ``private``: group and others
    may not read it either (the key file and its directory), else only writing is refused.
    The owner must be the effective user (for root: root), as ssh requires of ~/.ssh.
    """
    if os.name != "posix":
        return []
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return []
    if stat.S_ISLNK(st.st_mode):
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        hint = (
            f"Set REDACTOR_HOME to the real directory: {target}"
            if what == "REDACTOR_HOME"
            else f"Check where it points ({target}), then remove it: rm {path}"
        )
        return [
            Problem(path, what, "is a symbolic link, which the store never creates", hint, True)
        ]
    if directory and not stat.S_ISDIR(st.st_mode):
        fix = "Set REDACTOR_HOME (or --home) to a directory" if what == "REDACTOR_HOME" else ""
        return [Problem(path, what, "is not a directory", fix or f"Remove it: rm {path}", True)]
    if not directory and not stat.S_ISREG(st.st_mode):
        return [Problem(path, what, "is not a regular file", f"Remove it: rm {path}", True)]
    problems = []
    euid = os.geteuid()
    if st.st_uid != euid:
        problems.append(
            Problem(
                path,
                what,
                f"belongs to another user (uid {st.st_uid}, not {euid})",
                f"Run: chown {user_name(euid)} {path}",
            )
        )
    mode = stat.S_IMODE(st.st_mode)
    if mode & (0o077 if private else 0o022):
        wanted = 0o700 if directory else 0o600
        who = "read or written" if private else "written"
        problems.append(
            Problem(
                path,
                what,
                f"can be {who} by group or others (mode {mode:04o})",
                f"Run: chmod {wanted:o} {path}",
            )
        )
    return problems


def enforce(problems: Iterable[Problem], environ: Mapping[str, str] | None = None) -> None:
    """Raise :class:`UnsafePermissionsError` for the first problem, or, with
    ``REDACTOR_STRICT_MODES=0``, warn (once per path and problem) about those that allow it."""
    lenient = not strict_modes(environ)
    for p in problems:
        if p.fatal or not lenient:
            raise UnsafePermissionsError(p.message())
        key = (str(p.path), p.problem)
        if key not in _warned:
            _warned.add(key)
            warnings.warn(
                p.message(f"allowed because {ENV_STRICT_MODES}=0"),
                RedactorWarning,
                stacklevel=3,
            )


def store_problems(home: Path, db_name: str) -> list[Problem]:
    """The problems of the store's directory, database and SQLite side files."""
    db = home / db_name
    problems = check_path(home, "REDACTOR_HOME", directory=True)
    if any(p.fatal for p in problems):
        return problems
    problems += check_path(db, "the secret store", directory=False)
    for suffix in JOURNAL_SUFFIXES:
        problems += check_path(Path(f"{db}{suffix}"), "the store's journal", directory=False)
    return problems
