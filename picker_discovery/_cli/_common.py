"""What every command shares: the exit codes, the error that carries one, and the output."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from picker_discovery._errorbase import PickerError
from picker_discovery._terminal import printable

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_AUTH = 4
EXIT_TIMEOUT = 5
EXIT_HANGUP = 129  # 128 + SIGHUP
EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_BROKEN_PIPE = 141  # as a shell reports a command ended by SIGPIPE
EXIT_TERMINATED = 143  # 128 + SIGTERM

EXIT_CODES_HELP = """\
exit codes:
  0    success
  1    the API or the run failed (a malformed answer, an unreachable endpoint, a file
       the system will not let it read or write)
  2    bad usage or input (pick checks all of it before it creates a session)
  3    no such session
  4    not signed in, or not allowed
  5    the wait for the user's pick (or sign-in) timed out
  129  hung up (SIGHUP: the terminal closed)
  130  interrupted (Ctrl-C)
  141  the output's reader went away (| head): stopped quietly
  143  terminated (SIGTERM)
  a session the command made is deleted before it exits on a signal
"""


class CommandError(PickerError):
    """A failure to report in one line, with the exit code it deserves."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


def emit(args: argparse.Namespace, data: Any, text: str) -> None:
    """Print ``data`` as JSON with ``--json``, else the human ``text``."""
    if getattr(args, "json", False):
        print(json.dumps(data, indent=2, sort_keys=True, default=str))
    elif not getattr(args, "quiet", False):
        print(text)


def json_line(data: Any) -> None:
    """One JSON value on one line of stdout (an event of ``pick --json``), flushed at once.

    ``ensure_ascii``: control, bidirectional and other non-ASCII characters are escaped."""
    print(json.dumps(data, sort_keys=True, default=str, ensure_ascii=True), flush=True)


def error_text(message: str, *, kind: str, code: int, as_json: bool) -> str:
    """What stderr shows for a failure: ``error: ...`` for people (``error:`` in red on a
    colour terminal unless ``NO_COLOR`` is set), or with ``--json`` one JSON object:
    ``{"error": {"type": "SessionNotFound", "message": "...", "exit_code": 3}}``."""
    if as_json:
        error = {"type": kind, "message": message, "exit_code": code}
        return json.dumps({"error": error}, sort_keys=True, ensure_ascii=True)
    return f"{colour('error:', '31')} {printable(message)}"


def colour(text: str, sgr: str) -> str:
    """``text`` in colour (an SGR code, ``31`` red) when stderr is a terminal that shows
    colour, and the user has not asked for none (``NO_COLOR``, https://no-color.org)."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return text
    try:
        tty = sys.stderr.isatty()
    except (AttributeError, ValueError):
        tty = False
    return f"\x1b[{sgr}m{text}\x1b[0m" if tty else text
