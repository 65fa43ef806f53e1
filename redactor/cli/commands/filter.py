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

from redactor.cli.options import ADD_MASK_HELP, add_mask_arguments, add_source_arguments
from redactor.config import settings_from_args
from redactor.errors import CommandError, ConfigError
from redactor.sinks.ci import Interrupts, MaskingFilter, pump
from redactor.sources.load import HOW_TO_CONFIGURE, NoSecretsConfigured, load_secrets

if TYPE_CHECKING:
    from redactor import Redactor

__all__ = ["ADD_MASK_HELP", "add_mask_arguments", "add_parser", "redactor_from_args", "run"]


def redactor_from_args(args: argparse.Namespace) -> Redactor:
    """The redactor for ``filter`` and ``run``; raises ConfigError (or a scope error) to report.

    Fails closed, as ``scrub`` does: no source configured, or sources that hold no secret value
    (a variable that is not exported), is an error, because a filter that silently masks nothing
    looks exactly like one that works. ``--add-mask-only`` says that the stream itself will
    announce its secrets, and ``--allow-empty`` that nothing to redact is fine; a source that
    cannot be read is an error either way.
    """
    cfg = settings_from_args(args)
    add_mask_only = getattr(args, "add_mask_only", False)
    try:
        return load_secrets(cfg, require=not add_mask_only)[1]
    except NoSecretsConfigured:  # no source configured and discovery found nothing
        hint = " (or pass --add-mask-only to rely on '::add-mask::' lines alone)"
        msg = HOW_TO_CONFIGURE + (hint if getattr(args, "add_mask", True) else "")
        raise ConfigError(msg) from None


def add_parser(subparsers: argparse._SubParsersAction) -> None:
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

    redactor = redactor_from_args(args)
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
        raise CommandError("stdin and stdout must be open file descriptors") from None
    _announce_work(redactor, in_fd)
    with Interrupts() as interrupts:
        try:
            pump(in_fd, out_fd, filt, interrupts=interrupts)
        except OSError as exc:
            # A read or write error (EIO, EBADF): the message names the errno, never data.
            why = exc.strerror or type(exc).__name__
            raise CommandError(f"cannot copy stdin to stdout: {why}", exit_code=1) from None
    if interrupts.signum is not None:
        return 128 + interrupts.signum
    return 0


def _announce_work(redactor: Redactor, fd: int) -> None:
    """Tell ``engine="auto"`` how much is coming when stdin is a file (``< big.log``), so that a
    large file goes to the fast engine from its first byte instead of after its first MBs, and
    that it is a batch: a large one waits for Hyperscan's compile rather than scan meanwhile
    with the reference (WAIT_FOR_FAST_MIN in redactor.engine.redactor)."""
    import stat

    try:
        st = os.fstat(fd)
        size = st.st_size - os.lseek(fd, 0, os.SEEK_CUR) if stat.S_ISREG(st.st_mode) else 0
    except OSError:
        return
    if size > 0 and len(redactor):
        redactor.announce(size, batch=True)
