"""`redactor install-git-filter`: a git clean filter so that `git add` never stages a secret.

Like ``nbstripout --install``: the repository's git config gets ``filter.redactor.clean``, a command
that reads a notebook on stdin and writes it scrubbed to stdout (``redactor scrub --stdin``), with
``filter.redactor.required = true`` so that a notebook that cannot be scrubbed fails ``git add``
instead of being staged as it is; ``.gitattributes`` (or ``.git/info/attributes``) maps
``*.ipynb`` to the filter. The working copy keeps its outputs (and its sources) untouched: only
what is staged is scrubbed. Secrets come from the config file at the top of the repository (where
git runs the filter): ``.redactor.toml`` or ``[tool.redactor]`` in ``pyproject.toml``; or from the
source options given here, which are names and paths, never values.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from pathlib import Path

from redactor.cli.options import add_setting_arguments, setting_flags
from redactor.errors import CommandError

FILTER = "redactor"
ATTRIBUTE_LINE = f"*.ipynb filter={FILTER}"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "install-git-filter",
        help="scrub notebooks whenever git stages them (a clean filter)",
        description=(
            "Install (or with --uninstall remove) a git clean filter in the current repository, "
            "so that every notebook is scrubbed as `git add` stages it. The working copy is not "
            "changed. Secrets in cell sources are replaced in the staged copy, with a warning."
        ),
    )
    p.add_argument("--uninstall", action="store_true", help="remove the filter and the attribute")
    p.add_argument(
        "--attributes",
        choices=["gitattributes", "info"],
        default="gitattributes",
        help="where to map *.ipynb to the filter: the committed .gitattributes (default) or "
        ".git/info/attributes (this clone only)",
    )
    group = p.add_argument_group(
        "secret sources stored in the filter command (names and paths only; by default the "
        "filter reads the repository's .redactor.toml or [tool.redactor] in its pyproject.toml)"
    )
    add_setting_arguments(
        group,
        help_texts={
            "allow-empty": "stage notebooks unscrubbed when the sources hold no secret value "
            "(by default `git add` then fails)"
        },
    )
    p.set_defaults(func=run)


def _git(*args: str, cwd: Path | None = None, check: bool = True) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise RuntimeError(proc.stderr.strip() or f"git {args[0]} failed")
    return proc.stdout.strip()


def filter_command(args: argparse.Namespace) -> str:
    """The clean command: this interpreter, `-m redactor`, and the settings given, shell-quoted.

    ``%f`` is replaced by git with the (already quoted) path, for messages only.
    """
    parts = [sys.executable, "-m", "redactor", "scrub", "--stdin", "--fix-sources", "--quiet"]
    parts += setting_flags(args)
    return " ".join(shlex.quote(p) for p in parts) + " --stdin-name %f"


def _attributes_path(top: Path, where: str) -> Path:
    if where == "info":
        try:
            return Path(
                _git("rev-parse", "--path-format=absolute", "--git-path", "info/attributes")
            )
        except RuntimeError:  # git < 2.31: a path relative to the working directory
            return Path(_git("rev-parse", "--git-path", "info/attributes")).resolve()
    return top / ".gitattributes"


def _remove_line(path: Path) -> bool:
    if not path.is_file():
        return False
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    kept = [line for line in lines if line.strip() != ATTRIBUTE_LINE]
    if len(kept) == len(lines):
        return False
    if any(line.strip() for line in kept):
        path.write_text("".join(kept), encoding="utf-8")
    else:
        path.unlink()
    return True


def run(args: argparse.Namespace) -> int:
    try:
        top = Path(_git("rev-parse", "--show-toplevel"))
    except (RuntimeError, OSError) as exc:
        raise CommandError(f"not inside a git repository ({exc})") from None
    try:
        if args.uninstall:
            return _uninstall(top)
        return _install(top, args)
    except (RuntimeError, OSError) as exc:
        raise CommandError(str(exc)) from None


def _install(top: Path, args: argparse.Namespace) -> int:
    command = filter_command(args)
    _git("config", "--local", f"filter.{FILTER}.clean", command, cwd=top)
    _git("config", "--local", f"filter.{FILTER}.required", "true", cwd=top)
    path = _attributes_path(top, args.attributes)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    if ATTRIBUTE_LINE not in (line.strip() for line in text.splitlines()):
        if text and not text.endswith("\n"):
            text += "\n"
        path.write_text(text + ATTRIBUTE_LINE + "\n", encoding="utf-8")
    print(f"installed the git filter '{FILTER}' in {top}")
    print(f"  {path.relative_to(top) if path.is_relative_to(top) else path}: {ATTRIBUTE_LINE}")
    print(f"  git config filter.{FILTER}.clean: {command}")
    print("notebooks are scrubbed as they are staged; the working copy is left as it is")
    return 0


def _uninstall(top: Path) -> int:
    had_config = bool(
        _git("config", "--local", "--get-regexp", rf"^filter\.{FILTER}\.", check=False)
    )
    if had_config:
        _git("config", "--local", "--remove-section", f"filter.{FILTER}", cwd=top)
    removed = [
        p for p in (top / ".gitattributes", _attributes_path(top, "info")) if _remove_line(p)
    ]
    if not had_config and not removed:
        print(f"the git filter '{FILTER}' was not installed in {top}")
        return 0
    print(f"removed the git filter '{FILTER}' from {top}")
    return 0
