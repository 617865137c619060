"""``main``: parse, run the command, and turn what ends it into an exit code and one line."""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from typing import Any

from picker_discovery import _discovery as discovery
from picker_discovery._cli._args import build_parser
from picker_discovery._cli._common import (
    EXIT_AUTH,
    EXIT_BROKEN_PIPE,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_NOT_FOUND,
    EXIT_TIMEOUT,
    EXIT_USAGE,
    CommandError,
    error_text,
)
from picker_discovery._errorbase import PickerError
from picker_discovery._terminal import printable


class Terminated(BaseException):
    """SIGTERM or SIGHUP, raised in the main thread so a command unwinds as for Ctrl-C.

    Like ``KeyboardInterrupt`` it is no ``Exception``: the ``with`` blocks and ``finally``
    clauses on the way out run (the session is deleted), no ``except Exception`` catches it.
    """

    def __init__(self, signum: int) -> None:
        import signal

        self.signum = signum
        super().__init__(f"terminated by {signal.Signals(signum).name}")


@contextlib.contextmanager
def _signals_unwind() -> Iterator[None]:
    """While the block runs, SIGTERM and SIGHUP raise :class:`Terminated` in the main thread;
    the handlers before are restored afterwards. Only the first signal raises: one that
    arrives while the command is cleaning up (deleting its session) does not cut that short.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield  # handlers can only be set from the main thread
        return
    raised = False

    def handler(signum: int, frame: Any) -> None:
        nonlocal raised
        if raised:
            return
        raised = True
        raise Terminated(signum)

    previous: dict[int, Any] = {}
    try:
        for name in ("SIGTERM", "SIGHUP"):
            signum = getattr(signal, name, None)
            if signum is not None:
                previous[signum] = signal.signal(signum, handler)
        yield
    finally:
        for signum, before in previous.items():
            signal.signal(signum, signal.SIG_DFL if before is None else before)


def _exit_code(exc: BaseException) -> int:
    """The exit code an error deserves (see the docs of ``picker_discovery._cli``)."""
    import google.auth.exceptions

    from picker_discovery import errors

    if isinstance(exc, CommandError):
        return exc.code
    if isinstance(exc, errors.SessionNotFound):
        return EXIT_NOT_FOUND
    not_allowed = (
        errors.Unauthenticated,
        errors.PermissionDenied,
        google.auth.exceptions.RefreshError,
    )
    if isinstance(exc, not_allowed):
        return EXIT_AUTH
    if isinstance(exc, PermissionError):
        # A refusal of this program's own (a token file open to others, a sign-in that did
        # not grant the scope) is "not allowed"; one from the filesystem (errno EACCES or
        # EPERM: a file it may not read or write) is a failed run, never "not signed in".
        return EXIT_AUTH if exc.errno is None else EXIT_FAILED
    if isinstance(exc, errors.PickingTimeout):
        return EXIT_TIMEOUT
    if isinstance(exc, ValueError) and not isinstance(
        exc, (discovery.DiscoveryDocumentError, errors.MalformedResponse)
    ):
        return EXIT_USAGE
    return EXIT_FAILED


class _PrintableFormatter(logging.Formatter):
    """Log lines for a terminal: server text in a message (a session id, a file name) shows
    its control characters escaped; a traceback keeps its own lines."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return printable(super().formatMessage(record))


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    as_json = (
        "--json" in arguments[: arguments.index("--")]
        if "--" in arguments
        else ("--json" in arguments)
    )
    parser = build_parser(json_errors=as_json)
    args = parser.parse_args(arguments)
    handler = logging.StreamHandler()
    handler.setFormatter(_PrintableFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(
        level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
        handlers=[handler],
    )

    def fail(message: str, kind: str, code: int) -> int:
        _report(error_text(message, kind=kind, code=code, as_json=as_json))
        return code

    no_json = getattr(args, "no_json", None)
    if as_json and no_json:
        return fail(no_json, "CommandError", EXIT_USAGE)
    # A command that handles SIGTERM itself (the emulator: it stops serving and exits 0).
    own = getattr(args, "own_signals", False)
    unwinding = contextlib.nullcontext() if own else _signals_unwind()
    try:
        with unwinding:
            code = int(args.func(args))
            sys.stdout.flush()  # a closed pipe shows now, not at exit as an ignored exception
            return code
    except KeyboardInterrupt:
        return fail("interrupted", "KeyboardInterrupt", EXIT_INTERRUPTED)
    except Terminated as exc:
        return fail(str(exc), "Terminated", 128 + exc.signum)
    except Exception as exc:
        if isinstance(exc, BrokenPipeError) and _stdout_closed():
            # The reader went away (``| head``): stop quietly, as command-line tools do.
            # (A connection's broken pipe is reported below like any transport failure.)
            _silence_stdout()
            return EXIT_BROKEN_PIPE
        import google.auth.exceptions
        import httplib2

        from picker_discovery._retry import is_transport_error

        expected = (
            CommandError,
            PickerError,
            OSError,
            ValueError,
            httplib2.HttpLib2Error,
            google.auth.exceptions.GoogleAuthError,
        )
        kind = type(exc).__name__
        if not isinstance(exc, expected):
            # Never a traceback for the user; --verbose logs it for a bug report.
            logging.getLogger(__name__).info("unexpected error", exc_info=True)
            return fail(
                f"unexpected {kind}: {exc}; this is a bug in picker-discovery, please report "
                "it with the output of --verbose",
                kind,
                EXIT_FAILED,
            )
        api_url = getattr(args, "api_url", None)
        if api_url and is_transport_error(exc):
            where = (
                "check --endpoint (or $PICKER_DISCOVERY_ENDPOINT) and that the server there runs"
                if getattr(args, "endpoint", None)
                else "check this machine's network connection"
            )
            return fail(f"could not reach the API at {api_url}: {exc}; {where}", kind, EXIT_FAILED)
        return fail(str(exc) + _next_step(exc, args), kind, _exit_code(exc))


def _next_step(exc: BaseException, args: Any) -> str:
    """What the person can do about an API refusal the library's message cannot know."""
    import google.auth.exceptions

    from picker_discovery import errors

    token_env = "PICKER_DISCOVERY_TOKEN"
    if isinstance(exc, (errors.Unauthenticated, google.auth.exceptions.RefreshError)) or (
        isinstance(exc, errors.PermissionDenied) and "scope" in str(exc)
    ):
        if os.environ.get(token_env):
            return f"; the token in ${token_env} was refused: set a valid one"
        account = getattr(args, "account", None)
        again = " --account " + account if account else ""
        return f"; sign in again: picker-discovery login --client-secrets FILE{again}"
    return ""


def _report(line: str) -> None:
    """Print one line on stderr; a closed stderr cannot be told anything, so is not."""
    with contextlib.suppress(BrokenPipeError, ValueError):  # a closed pipe, or file object
        print(line, file=sys.stderr, flush=True)


def _stdout_closed() -> bool:
    """Whether stdout is a pipe whose reader went away (so a ``BrokenPipeError`` came from
    our output, not from a connection): the kernel reports an error condition on it."""
    import select

    try:
        poller = select.poll()  # not on Windows: there, a broken pipe is reported as an error
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        events = poller.poll(0)
    except (OSError, ValueError, AttributeError):  # no poll, or stdout is no real file
        return False
    return any(event & (select.POLLERR | select.POLLHUP) for _, event in events)


def _silence_stdout() -> None:
    """Point stdout at the null device, so that the interpreter's last flush of what could
    not be written raises no second ``BrokenPipeError`` at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # stdout is no real file (captured)
        pass
