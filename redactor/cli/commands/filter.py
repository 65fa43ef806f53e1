"""`redactor filter`: redact a byte stream from stdin to stdout, e.g. ``make 2>&1 | redactor filter``.

Bytes in, bytes out: output leaves as soon as it is known to be safe (a slow producer's line is not
held until the next one), only a tail that could still become a secret is held back, so memory is
bounded whatever the input, and bytes that are not UTF-8 pass through untouched. ``::add-mask::``
lines register more secrets for the rest of the stream.

Exit status: 0 at the end of input, and also when the reader of stdout goes away
(``redactor filter | head``): like ``cat`` the filter then stops reading, so the producer sees
the closed pipe as it would without the filter, and the pipeline's status stays the producer's
under ``set -o pipefail``. 130/143 after SIGINT/SIGTERM, once what was held has been written
(redacted; a reader that takes nothing for two seconds, or a second signal, ends it at once).
2 for a usage or configuration error.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from redactor import Redactor

ADD_MASK_HELP = (
    "GitHub Actions '::add-mask::VALUE' lines register VALUE for the rest of the output (the line "
    "itself is passed on as '::add-mask::[REDACTED]'). Give --no-add-mask to treat them as text."
)


def add_mask_arguments(parser: argparse.ArgumentParser) -> None:
    """``--no-add-mask`` and ``--add-mask-only``, shared with ``redactor run``."""
    group = parser.add_argument_group("::add-mask:: workflow commands")
    mode = group.add_mutually_exclusive_group()
    mode.add_argument(
        "--no-add-mask",
        dest="add_mask",
        action="store_false",
        help="do not honour '::add-mask::' lines; pass them on as ordinary text",
    )
    mode.add_argument(
        "--add-mask-only",
        action="store_true",
        help="allow starting with no configured secret source (or sources that hold no value): "
        "mask what '::add-mask::' lines register, and whatever the sources give",
    )


def redactor_from_args(args: argparse.Namespace) -> Redactor:
    """The redactor for ``filter`` and ``run``; raises ConfigError (or a scope error) to report.

    Fails closed, as ``scrub`` does: no source configured, or sources that hold no secret value
    (a variable that is not exported), is an error, because a filter that silently masks nothing
    looks exactly like one that works. ``--add-mask-only`` says that the stream itself will
    announce its secrets, and ``--allow-empty`` that nothing to redact is fine; a source that
    cannot be read is an error either way.
    """
    from redactor.sources import (
        HOW_TO_CONFIGURE,
        ConfigError,
        config_from_args,
        load_secrets,
    )

    cfg = config_from_args(args)
    add_mask_only = getattr(args, "add_mask_only", False)
    if cfg.empty and not (add_mask_only or cfg.allow_empty):
        hint = " (or pass --add-mask-only to rely on '::add-mask::' lines alone)"
        raise ConfigError(HOW_TO_CONFIGURE + (hint if getattr(args, "add_mask", True) else ""))
    return load_secrets(cfg, require=not add_mask_only)[1]


def source_errors() -> tuple[type[Exception], ...]:
    """Exceptions whose messages are safe to show (they never hold a value)."""
    from redactor.sources import ConfigError

    try:
        from redactor.sources.scopes.errors import SecretsError
    except ImportError:  # pragma: no cover - the scopes package is optional at this layer
        return (ConfigError,)
    return (ConfigError, SecretsError)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from redactor.sources import add_source_arguments

    p = subparsers.add_parser(
        "filter",
        help="redact stdin to stdout (a CI log: cmd 2>&1 | redactor filter)",
        description="Redact every configured secret, in all its encodings, from a byte stream "
        "(stdin to stdout), releasing output as soon as it is safe. " + ADD_MASK_HELP,
        epilog="Exit status: 0 at end of input or when stdout is closed (like cat in a pipeline); "
        "130/143 on SIGINT/SIGTERM after writing what was held; 2 on a configuration error.",
    )
    add_source_arguments(p)
    add_mask_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from redactor.cli.errors import fail
    from redactor.sinks.ci import Interrupts, MaskingFilter, pump

    try:
        redactor = redactor_from_args(args)
    except source_errors() as exc:
        return fail(str(exc))
    if not len(redactor) and not args.add_mask_only:
        # Only reached with --allow-empty: say what that means for this stream.
        masked = (
            "only '::add-mask::' lines will be masked" if args.add_mask else "nothing is masked"
        )
        print(
            f"redactor: warning: the configured sources hold no secret value; {masked}",
            file=sys.stderr,
        )
    filt = MaskingFilter(redactor, add_mask=args.add_mask, label="input")
    try:
        in_fd, out_fd = sys.stdin.fileno(), sys.stdout.fileno()
    except (AttributeError, ValueError, OSError):
        return fail("stdin and stdout must be open file descriptors")
    _announce_work(redactor, in_fd)
    with Interrupts() as interrupts:
        try:
            pump(in_fd, out_fd, filt, interrupts=interrupts)
        except OSError as exc:
            # A read or write error (EIO, EBADF): the message names the errno, never data.
            return fail(f"cannot copy stdin to stdout: {exc.strerror or type(exc).__name__}", 1)
    if interrupts.signum is not None:
        return 128 + interrupts.signum
    return 0


def _announce_work(redactor: Redactor, fd: int) -> None:
    """Tell ``engine="auto"`` how much is coming when stdin is a file (``< big.log``), so that a
    large file goes to the fast engine from its first byte instead of after its first MBs."""
    import stat

    try:
        st = os.fstat(fd)
        size = st.st_size - os.lseek(fd, 0, os.SEEK_CUR) if stat.S_ISREG(st.st_mode) else 0
    except OSError:
        return
    if size > 0 and len(redactor):
        redactor.announce(size)
