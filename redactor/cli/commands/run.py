"""`redactor run [SOURCES] -- CMD ARGS...`: run a command with its stdout and stderr redacted.

The two streams stay apart (each through its own pipe and thread, order within each kept), stdin
is inherited, and ``::add-mask::`` lines on either stream register secrets for both.

Exit status is the command's own; ``128 + N`` when it died of signal N; 127 when it cannot be
found and 126 when it cannot be executed. SIGINT and SIGTERM (and SIGHUP, SIGQUIT, SIGUSR1,
SIGUSR2) sent to ``redactor run`` are forwarded to the command, which decides when to stop;
``redactor run`` exits once it has and its output is drained. A Ctrl-C typed at a terminal
already reaches the command (the terminal signals the whole foreground process group), so on
Linux, where the sender of a signal can be told, it is not sent a second time.

When the reader of our stdout (or stderr) goes away, the command's pipe for that stream is
closed too, so the command sees the closed pipe exactly as it would without ``redactor run``.

``{{secrets/SCOPE/KEY}}`` references in our environment and in ``--env-file`` files are resolved
(:mod:`redactor.sources.references`) and every value registered before the command starts; one
that cannot be resolved stops us with status 2, the command never started.

``--pty`` runs the command on a pseudo-terminal instead (:mod:`redactor.sinks.stdio.pty`): it
sees a terminal (colours, progress bars, line buffering), stdout and stderr are one stream as on
a terminal, and the window size follows ours. The command is then in a session of its own, so a
signal that our terminal sent us (SIGINT from a Ctrl-C when our input is not forwarded, SIGHUP
when our terminal closes) no longer reaches it directly and is passed on to its terminal's
foreground process group; one sent by a process goes to the command, as without ``--pty``.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import signal
import threading
from collections.abc import Iterator, Mapping
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

from redactor.cli.commands.filter import redactor_from_args
from redactor.cli.errors import report_error
from redactor.cli.options import ADD_MASK_HELP, add_mask_arguments, add_source_arguments
from redactor.config import describe_key, settings_from_args
from redactor.engine.default import (
    CHILD_HIDDEN_VARS,
    register_key_material,
    register_once,
    without_key_material,
)
from redactor.errors import CommandError, ConfigError
from redactor.sinks.ci import MaskingFilter, pump
from redactor.sinks.stdio.pty import PtySession
from redactor.sources.channel import start_carrier
from redactor.sources.load import load_secrets
from redactor.sources.references import resolve_environment

if TYPE_CHECKING:
    import subprocess

    from redactor import Redactor

# SIGINT and SIGTERM, and the other signals a supervisor is expected to pass on rather than die of.
_FORWARDED = tuple(
    getattr(signal, name)
    for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2")
    if hasattr(signal, name)
)
# With --pty: our terminal's size changed; the command's terminal follows (0 where it does not exist).
_WINCH = getattr(signal, "SIGWINCH", 0)
# With --pty: stopped and continued, our terminal leaves raw mode and enters it again.
_JOB = tuple(getattr(signal, n) for n in ("SIGTSTP", "SIGCONT") if hasattr(signal, n))
# What --pty handles itself, besides the forwarded signals.
_PTY_OWN = (_WINCH, *_JOB) if _WINCH else _JOB
# Once the command has exited, these end the wait for output still held open by its children.
_STOPPING = tuple(
    s
    for s in _FORWARDED
    if s not in {getattr(signal, "SIGUSR1", None), getattr(signal, "SIGUSR2", None)}
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "run",
        help="run a command with its stdout and stderr redacted",
        usage=(
            "redactor run [SOURCES] [--env-file FILE] [--no-add-mask | --add-mask-only] "
            "[--pass-store-key] [--pty] -- CMD [ARGS ...]"
        ),
        description="Run CMD with its stdout and stderr each redacted (kept apart, order kept), "
        "stdin passed through, and exit with its exit status. {{secrets/SCOPE/KEY}} references "
        "in the environment and in --env-file files are resolved for CMD, and their values "
        "redacted. " + ADD_MASK_HELP,
        epilog="Exit status: CMD's; 128+N if CMD died of signal N; 127 if CMD was not found; "
        "126 if it could not be executed; 2 on a configuration error or a secret reference that "
        "cannot be resolved (CMD is not started). SIGINT and SIGTERM (and SIGHUP, SIGQUIT, "
        "SIGUSR1, SIGUSR2) are forwarded to CMD.",
    )
    add_source_arguments(p)
    p.add_argument(
        "--env-file",
        action="append",
        type=Path,
        default=[],
        metavar="FILE",
        help="add the variables of this dotenv file to CMD's environment (repeatable; a later "
        "file wins over an earlier one and over the inherited environment); values may hold "
        "{{secrets/SCOPE/KEY}} references, and are not expanded otherwise",
    )
    add_mask_arguments(p)
    p.add_argument(
        "--pass-store-key",
        action="store_true",
        help=f"let CMD inherit {', '.join(CHILD_HIDDEN_VARS)} (by default they are removed "
        "from its environment; CMD then needs no key unless it opens the local store itself)",
    )
    p.add_argument(
        "--pty",
        action="store_true",
        help="run CMD on a pseudo-terminal, so that it sees a terminal (colours, progress bars, "
        "line buffering); its stdout and stderr are then one stream, written (redacted) to "
        "ours, and what is typed at our terminal is forwarded. Without it CMD gets pipes",
    )
    p.add_argument(
        "command",
        nargs=argparse.REMAINDER,
        metavar="-- CMD [ARGS ...]",
        help="the command to run and its arguments, after --",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        raise CommandError("no command given: redactor run [SOURCES] -- CMD [ARGS ...]")
    # References are resolved first: a failure stops us before anything runs, and the sources
    # (--secret-env NAME of a variable that held a reference) see the resolved environment.
    cfg = settings_from_args(args)
    where = describe_key(cfg.pyproject, "run-env")
    environ, resolver = resolve_environment(
        os.environ, args.env_file, run_env=cfg.run_env, run_env_from=where
    )
    with _environment(environ):
        if resolver.secrets:
            redactor = _redactor_with_references(args, resolver.secrets)
        else:
            redactor = redactor_from_args(args)
        # The store's key material in our environment (--pass-store-key lets the command
        # inherit it), and secrets that the command's descendants fetch (registered over the
        # channel before `get` returns), are redacted from its output too.
        register_key_material(redactor)
        carrier = start_carrier(lambda name, value: register_once(value, name, redactor))
        try:
            # After the carrier started: CMD inherits its channel variable, never the key.
            env = None if args.pass_store_key else without_key_material()
            runner = _Runner(redactor, command, add_mask=args.add_mask, env=env, pty=args.pty)
            return runner.run()
        finally:
            if carrier is not None:
                carrier.close()


def _redactor_with_references(args: argparse.Namespace, secrets: list[tuple[str, str]]) -> Redactor:
    """The redactor of the sources, with every resolved reference registered.

    The references are a source: with them, no other needs to be configured; configured sources
    that give nothing still stop the command (fail closed, as without references). So do
    references whose every value is too short to redact, with nothing else to hide."""
    cfg = settings_from_args(args)
    add_mask_only = getattr(args, "add_mask_only", False)
    _, redactor = load_secrets(cfg, require=not cfg.empty and not add_mask_only)
    refused = [name for name, value in secrets if not register_once(value, name, redactor)]
    if (
        len(refused) == len(secrets)
        and not len(redactor)
        and not (cfg.allow_empty or add_mask_only)
    ):
        raise ConfigError(
            "the secret references resolved to values too short to redact ("
            + ", ".join(refused)
            + f", under min-length {cfg.min_length}); nothing would be hidden. Lower min-length "
            "or pass --allow-empty"
        )
    return redactor


@contextlib.contextmanager
def _environment(environ: Mapping[str, str]) -> Iterator[None]:
    """Make ``environ`` this process's environment while the command runs, then restore ours.

    The command inherits it however it is started (pipes or a pseudo-terminal), as it inherits
    the channel's variable; the resolved values are in our memory anyway, to redact them."""
    saved = dict(os.environ)
    if saved == environ:
        yield
        return
    for name in [n for n in os.environ if n not in environ]:
        del os.environ[name]
    os.environ.update(environ)
    try:
        yield
    finally:
        for name in [n for n in os.environ if n not in saved]:
            del os.environ[name]
        os.environ.update(saved)


class _Runner:
    def __init__(
        self,
        redactor: Redactor,
        command: list[str],
        *,
        add_mask: bool,
        env: dict[str, str] | None = None,
        pty: bool = False,
    ) -> None:
        self.redactor = redactor
        self.env = env  # None: inherit ours
        self.command = command
        self.add_mask = add_mask
        self.pty = pty
        self.session: PtySession | None = None  # with --pty, once the command is started
        self.proc: subprocess.Popen[bytes] | None = None
        self.errors: list[str] = []
        self.early: list[int] = []  # signals caught before the command was running
        # Signals we were started with ignored stay ignored (the command inherits that), as a
        # background job's SIGINT is in a shell script.
        self.forwarded = tuple(s for s in _FORWARDED if signal.getsignal(s) is not signal.SIG_IGN)
        self.stopping = tuple(s for s in _STOPPING if s in self.forwarded)

    # -- starting ----------------------------------------------------------------------------

    def _spawn(self) -> None:
        """Start the command, or raise CommandError with the exit status (126/127) and why."""
        import subprocess

        # The name as typed, redacted: a command line should hold no secret, but if it does,
        # this message will not repeat it.
        shown = self.redactor.redact(self.command[0])
        streams: dict = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
        if self.pty:
            self.session = PtySession(self.redactor, add_mask=self.add_mask)
            streams = self.session.popen_kwargs()
        try:
            # stdin is inherited
            self.proc = subprocess.Popen(self.command, bufsize=0, env=self.env, **streams)
        except subprocess.SubprocessError:  # the terminal could not be made the command's
            raise CommandError(
                f"cannot give {shown} the pseudo-terminal as its terminal", exit_code=126
            ) from None
        except FileNotFoundError:
            raise CommandError(f"command not found: {shown}", exit_code=127) from None
        except PermissionError:
            raise CommandError(f"permission denied: {shown}", exit_code=126) from None
        except OSError as exc:
            code = 127 if exc.errno in (errno.ENOENT, errno.ENOTDIR) else 126
            why = exc.strerror or type(exc).__name__
            raise CommandError(f"cannot execute {shown}: {why}", exit_code=code) from None
        if self.session is not None:
            self.session.started()

    def _pump_thread(self, src, out_fd: int, label: str) -> threading.Thread:

        def work() -> None:
            filt = MaskingFilter(self.redactor, add_mask=self.add_mask, label=label)
            try:
                # pump() returns False when our reader went away; closing the pipe below then
                # tells the command, as if it had written to that reader itself.
                pump(src.fileno(), out_fd, filt)
            except OSError as exc:
                self.errors.append(f"cannot copy the command's {label}: {exc.strerror or exc}")
            finally:
                src.close()

        thread = threading.Thread(target=work, name=f"redactor-run-{label}", daemon=True)
        thread.start()
        return thread

    # -- signals -----------------------------------------------------------------------------

    def _forward(self, signum: int) -> None:
        proc = self.proc
        if proc is not None and proc.returncode is None:
            try:
                proc.send_signal(signum)
            except ProcessLookupError:  # pragma: no cover - exited in between
                pass

    def _forward_from_terminal(self, signum: int) -> None:
        """A signal our terminal sent us (Ctrl-C, hang-up): with --pty the command is in its own
        session, out of reach of our terminal, so its terminal's foreground group gets it, as if
        its own terminal had sent it. Without --pty the command had it already."""
        session = self.session
        if session is None or self.proc is None or self.proc.returncode is not None:
            return
        group = session.foreground_group()
        if group is None or group == os.getpgrp():
            self._forward(signum)
            return
        try:
            os.killpg(group, signum)
        except OSError:  # pragma: no cover - the group ended in between
            pass

    def _pty_signal(self, signum: int) -> None:
        session = self.session
        if session is None:  # not started yet: nothing of ours to restore, stop as by default
            if signum == getattr(signal, "SIGTSTP", None):
                os.kill(os.getpid(), signal.SIGSTOP)
            return
        if signum == _WINCH:
            session.resize()
        elif signum == signal.SIGTSTP:
            session.suspend()
        else:
            session.resume()

    def _early_handler(self, signum: int, frame: object) -> None:
        if signum in _PTY_OWN:
            self._pty_signal(signum)
        elif self.proc is None:
            self.early.append(signum)
        else:
            self._forward(signum)

    def run(self) -> int:
        main = threading.current_thread() is threading.main_thread()
        old = {}
        handled = self.forwarded + (_PTY_OWN if self.pty else ())
        if main:
            old = {s: signal.signal(s, self._early_handler) for s in handled}
        try:
            self._spawn()
            assert self.proc is not None
            with self.session.raw_input() if self.session is not None else nullcontext():
                if main and hasattr(signal, "sigtimedwait"):
                    code = self._supervise_sigwait()
                else:
                    code = self._supervise_handlers()
                if self.session is not None:
                    self.session.stop_input()
        finally:
            for sig, handler in old.items():
                signal.signal(sig, handler)
            if self.session is not None:
                self.errors.extend(self.session.errors)
                self.session.close()
        for message in self.errors:
            report_error(message)
        return code

    def _start_pumps(self) -> list[threading.Thread]:
        assert self.proc is not None
        if self.session is not None:
            return [self.session.start()]
        return [
            self._pump_thread(self.proc.stdout, 1, "stdout"),
            self._pump_thread(self.proc.stderr, 2, "stderr"),
        ]

    def _supervise_sigwait(self) -> int:
        """Linux: wait for signals synchronously, to tell a terminal's Ctrl-C from a kill()."""
        proc = self.proc
        assert proc is not None
        waited = {*self.forwarded, signal.SIGCHLD}
        if self.session is not None:
            waited.update(_PTY_OWN)
        # Block before the pump threads start so that they inherit the mask: every signal then
        # comes to sigtimedwait below, with the sender's details.
        signal.pthread_sigmask(signal.SIG_BLOCK, waited)
        try:
            threads = self._start_pumps()
            for signum in self.early:
                self._forward(signum)
            while proc.poll() is None:
                info = signal.sigtimedwait(waited, 1.0)
                if info is None or info.si_signo == signal.SIGCHLD:
                    continue
                if info.si_signo in _PTY_OWN:
                    self._pty_signal(info.si_signo)
                    continue
                # si_code > 0 (SI_KERNEL): sent by the kernel, i.e. the terminal's Ctrl-C or
                # Ctrl-\, which the command in our process group received as well (unless it is
                # on a terminal of its own).
                if info.si_code <= 0:
                    self._forward(info.si_signo)
                else:
                    self._forward_from_terminal(info.si_signo)
            # The command is gone; its output may still be in the pipes (or a child of it
            # may hold them open). A signal now means: stop waiting.
            stopped = self._join(
                threads, lambda: signal.sigtimedwait(self.stopping, 0) if self.stopping else None
            )
        finally:
            while signal.sigtimedwait(waited, 0) is not None:
                pass  # consume what is pending so that unblocking delivers nothing
            signal.pthread_sigmask(signal.SIG_UNBLOCK, waited)
        return self._status(stopped)

    def _supervise_handlers(self) -> int:
        """Elsewhere: handlers forward every SIGINT/SIGTERM (no way to tell who sent it)."""
        proc = self.proc
        assert proc is not None
        threads = self._start_pumps()
        for signum in self.early:
            self._forward(signum)
        after: list[int] = []
        while True:
            try:
                proc.wait()
                break
            except KeyboardInterrupt:  # pragma: no cover - only without sigtimedwait
                continue
        if threading.current_thread() is threading.main_thread():
            for sig in self.stopping:
                signal.signal(sig, lambda n, f: after.append(n))
        stopped = self._join(threads, lambda: after.pop() if after else None)
        return self._status(stopped)

    @staticmethod
    def _join(threads: list[threading.Thread], poll) -> int | None:
        """Wait for the pumps to drain; returns a signal number if one asked us to stop first."""
        for thread in threads:
            while thread.is_alive():
                thread.join(0.05)
                got = poll()
                if got is not None:
                    return getattr(got, "si_signo", got)
        return None

    def _status(self, stopped: int | None) -> int:
        proc = self.proc
        assert proc is not None
        if stopped is not None:
            return 128 + stopped
        code = proc.returncode
        if code is None:  # pragma: no cover
            code = proc.wait()
        return 128 - code if code < 0 else code
