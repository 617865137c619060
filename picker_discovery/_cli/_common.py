"""What every command shares: the exit codes, the error that carries one, and the output."""

from __future__ import annotations

import argparse
import json
from typing import Any

from picker_discovery._errorbase import PickerError

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
    else:
        print(text)
