"""The ``picker-discovery`` command line (also ``python -m picker_discovery``).

Exit codes: 0 success; 1 the API or the run failed; 2 bad usage or input; 3 no such session;
4 not signed in or not allowed; 5 the wait for the person timed out; 129 hung up (SIGHUP);
130 interrupted (Ctrl-C, SIGINT); 141 the output's reader went away (a closed pipe); 143
terminated (SIGTERM). As shells do, a signal's code is 128 plus its number; a command a signal
ends deletes the session it made first, as it does for Ctrl-C. Every failure is one line on
stderr.

The rooms: ``_main`` (``main``: signals, exit codes, the one line a failure prints),
``_args`` (the parser and its argument checks), ``_common`` (exit codes, ``CommandError``,
output), ``_api`` (a signed-in client for the chosen endpoint) and one module per group of
commands: ``_document`` (discovery), ``_login`` (login, logout), ``_sessions`` (sessions,
items), ``_pick``. The names below are imported on first use (PEP 562): the console script's
``picker_discovery._cli:main`` loads only what the command line needs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from picker_discovery import _lazy

if TYPE_CHECKING:
    from picker_discovery._cli._api import (
        ENDPOINT_ENV as ENDPOINT_ENV,
        TOKEN_ENV as TOKEN_ENV,
    )
    from picker_discovery._cli._args import (
        COMMANDS_GROUP as COMMANDS_GROUP,
        MAX_ITEMS as MAX_ITEMS,
        MAX_WORKERS as MAX_WORKERS,
        build_parser as build_parser,
        port as port,
    )
    from picker_discovery._cli._common import (
        EXIT_AUTH as EXIT_AUTH,
        EXIT_BROKEN_PIPE as EXIT_BROKEN_PIPE,
        EXIT_CODES_HELP as EXIT_CODES_HELP,
        EXIT_FAILED as EXIT_FAILED,
        EXIT_HANGUP as EXIT_HANGUP,
        EXIT_INTERRUPTED as EXIT_INTERRUPTED,
        EXIT_NOT_FOUND as EXIT_NOT_FOUND,
        EXIT_OK as EXIT_OK,
        EXIT_TERMINATED as EXIT_TERMINATED,
        EXIT_TIMEOUT as EXIT_TIMEOUT,
        EXIT_USAGE as EXIT_USAGE,
        CommandError as CommandError,
        emit as emit,
    )
    from picker_discovery._cli._main import (
        Terminated as Terminated,
        main as main,
    )
    from picker_discovery._cli._pick import (
        MEDIA_HOSTS_ENV as MEDIA_HOSTS_ENV,
    )

# Every name and the module it lives in: __all__ is derived from this one table.
_WHERE: dict[str, str] = {
    "COMMANDS_GROUP": "picker_discovery._cli._args",
    "CommandError": "picker_discovery._cli._common",
    "ENDPOINT_ENV": "picker_discovery._cli._api",
    "EXIT_AUTH": "picker_discovery._cli._common",
    "EXIT_BROKEN_PIPE": "picker_discovery._cli._common",
    "EXIT_CODES_HELP": "picker_discovery._cli._common",
    "EXIT_FAILED": "picker_discovery._cli._common",
    "EXIT_HANGUP": "picker_discovery._cli._common",
    "EXIT_INTERRUPTED": "picker_discovery._cli._common",
    "EXIT_NOT_FOUND": "picker_discovery._cli._common",
    "EXIT_OK": "picker_discovery._cli._common",
    "EXIT_TERMINATED": "picker_discovery._cli._common",
    "EXIT_TIMEOUT": "picker_discovery._cli._common",
    "EXIT_USAGE": "picker_discovery._cli._common",
    "MAX_ITEMS": "picker_discovery._cli._args",
    "MAX_WORKERS": "picker_discovery._cli._args",
    "MEDIA_HOSTS_ENV": "picker_discovery._cli._pick",
    "TOKEN_ENV": "picker_discovery._cli._api",
    "Terminated": "picker_discovery._cli._main",
    "build_parser": "picker_discovery._cli._args",
    "emit": "picker_discovery._cli._common",
    "main": "picker_discovery._cli._main",
    "port": "picker_discovery._cli._args",
}

__all__ = sorted(_WHERE)

__getattr__, __dir__ = _lazy.exports(__name__, _WHERE, globals())
