"""The parser: every command, its arguments and their checks."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any, NoReturn

from picker_discovery import _checks, _discovery as discovery
from picker_discovery._cli import _document, _items, _login, _pick, _sessions
from picker_discovery._cli._api import ENDPOINT_ENV
from picker_discovery._cli._common import EXIT_CODES_HELP, EXIT_USAGE, error_text
from picker_discovery._cli._examples import examples_for
from picker_discovery._cli._pick import MEDIA_HOSTS_ENV

MAX_ITEMS = _checks.MAX_ITEM_COUNT
MAX_WORKERS = _checks.MAX_WORKERS
DEFAULT_WORKERS = _checks.DEFAULT_WORKERS  # the library's Downloader default, not one of our own


def _count(name: str, low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number (ASCII digits) from ``low`` to ``high``."""

    def parse(text: str) -> int:
        try:
            return _checks.check_count(_checks.parse_int(text, name), name, low, high)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc).removeprefix(f"{name} ")) from None

    return parse


def _seconds(name: str) -> Callable[[str], float]:
    """An argparse type: a positive, finite number of seconds (ASCII), at most a week."""

    def parse(text: str) -> float:
        try:
            seconds = _checks.check_timeout(_checks.parse_seconds(text, name), name)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc).removeprefix(f"{name} ")) from None
        assert seconds is not None
        return seconds

    return parse


def port(text: str) -> int:
    """A TCP port for argparse: 0 (any free one) to 65535."""
    stripped = text.strip()
    if not (stripped.isascii() and stripped.isdigit() and len(stripped) <= 5):
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}")
    port = int(stripped)
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0 (any free one) to 65535, not {port}")
    return port


ACCOUNT_ENV = "PICKER_DISCOVERY_ACCOUNT"
ACCOUNT_ARGS = ("--account",)
ACCOUNT_OPTIONS: dict[str, Any] = {
    "metavar": "NAME",
    "default": os.environ.get(ACCOUNT_ENV) or None,
    "help": "which signed-in account to use, for several (login --account NAME signs one in; "
    f"default ${ACCOUNT_ENV}, else the default account)",
}

COMMANDS_GROUP = "picker_discovery.commands"
"""The entry point group of added commands: each names a ``register(commands, command)``."""


def _added_commands() -> list[Callable[[Any, Callable[..., argparse.ArgumentParser]], None]]:
    """The commands installed packages add (the test kit adds ``emulator`` and ``demo``).

    Found through entry points, so this module never imports the test kit itself.
    """
    from importlib.metadata import entry_points

    found = sorted(entry_points(group=COMMANDS_GROUP), key=lambda point: point.name)
    return [point.load() for point in found]


class _Parser(argparse.ArgumentParser):
    """argparse's parser, whose usage errors are JSON on stderr when ``--json`` was given."""

    json_errors = False

    def error(self, message: str) -> NoReturn:
        if not self.json_errors:
            super().error(message)
        self.exit(
            EXIT_USAGE,
            error_text(
                f"{message} (see {self.prog} --help)",
                kind="UsageError",
                code=EXIT_USAGE,
                as_json=True,
            )
            + "\n",
        )


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("picker-discovery")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def build_parser(*, json_errors: bool = False) -> argparse.ArgumentParser:
    _Parser.json_errors = json_errors
    common = _Parser(add_help=False)
    common.add_argument(
        "--json",
        action="store_true",
        help="print JSON for scripts (errors too: a JSON object on stderr)",
    )
    common.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    common.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="print only what is needed (pick: the link) and errors",
    )
    api = _Parser(add_help=False)
    api.add_argument(
        "--endpoint",
        default=os.environ.get(ENDPOINT_ENV),
        metavar="URL",
        help=f"the API root, e.g. an emulator's (default: ${ENDPOINT_ENV}, else Google's)",
    )
    api.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="HOST",
        help="let the access token go to this host over https besides *.googleapis.com "
        "(an --endpoint of your own), repeatable",
    )
    api.add_argument(
        "--allow-insecure-http",
        action="store_true",
        help="let the access token go over plain http to an --endpoint or --media-host that "
        "is not on this machine (it can be read on the way; loopback needs no flag)",
    )
    api.add_argument(
        "--token-file",
        metavar="PATH",
        help="the token stored by login (default: in the user config directory)",
    )
    api.add_argument(*ACCOUNT_ARGS, **ACCOUNT_OPTIONS)

    parser = _Parser(
        prog="picker-discovery",
        description="The Google Photos Picker API from the command line, offline-ready.",
        epilog=examples_for("picker-discovery") + EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def group(name: str, help_text: str) -> Any:
        sub = commands.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=examples_for(f"picker-discovery {name}").rstrip(),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        return sub.add_subparsers(dest=f"{name}_command", required=True, metavar="ACTION")

    def command(
        parent: Any,
        name: str,
        help_text: str,
        func: Callable[[argparse.Namespace], int],
        *,
        talks_to_api: bool = False,
    ) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = parent.add_parser(
            name,
            help=help_text,
            description=help_text,
            parents=[common, api] if talks_to_api else [common],
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub.epilog = examples_for(sub.prog) + EXIT_CODES_HELP
        sub.set_defaults(func=func)
        return sub

    login = command(
        commands, "login", "sign in with an OAuth client for a desktop app", _login.login
    )
    login.add_argument(
        "--client-secrets",
        required=True,
        metavar="FILE",
        help="the OAuth client JSON downloaded from the Google Cloud console",
    )
    login.add_argument(
        "--no-browser",
        action="store_true",
        help="print the sign-in address instead of opening a browser, and wait for the "
        "browser's return on this machine's loopback --port (over SSH: ssh -L PORT:localhost:PORT)",
    )
    login.add_argument(
        "--timeout",
        type=_seconds("--timeout"),
        default=300,
        metavar="SECONDS",
        help="how long to wait for the sign-in (default 300)",
    )
    login.add_argument(
        "--port",
        type=port,
        default=0,
        help="the loopback port the browser is sent back to (default: a free one); fix it "
        "to forward it over SSH with --no-browser",
    )
    login.add_argument(
        "--remote",
        action="store_true",
        help="sign in from another machine: open the link anywhere, then paste back the "
        "address the browser ends on (for a server, a container or SSH without forwarding)",
    )
    login.add_argument("--token-file", metavar="PATH", help="where to store the token")
    login.add_argument(*ACCOUNT_ARGS, **ACCOUNT_OPTIONS)
    logout = command(commands, "logout", "forget the stored token", _login.logout)
    logout.add_argument("--token-file", metavar="PATH", help="the token file to remove")
    logout.add_argument(*ACCOUNT_ARGS, **ACCOUNT_OPTIONS)

    sessions = group(
        "sessions", "create, get or delete a picking session, or clean up leftover ones"
    )
    create = command(
        sessions, "create", "create a picking session", _sessions.sessions_create, talks_to_api=True
    )
    create.add_argument(
        "--max-items",
        type=_count("--max-items", 1, MAX_ITEMS),
        metavar="N",
        help=f"the most items the user may pick (1-{MAX_ITEMS})",
    )
    get = command(
        sessions, "get", "show a session's state", _sessions.sessions_get, talks_to_api=True
    )
    get.add_argument("session_id", metavar="SESSION_ID")
    wait = command(
        sessions,
        "wait",
        "wait until the user has picked (polling as the server says); exit 5 on timeout",
        _sessions.sessions_wait,
        talks_to_api=True,
    )
    wait.add_argument("session_id", metavar="SESSION_ID")
    wait.add_argument(
        "--timeout",
        type=_seconds("--timeout"),
        default=900.0,
        metavar="SECONDS",
        help="give up after this long (default 900; the server's own limit may end it sooner)",
    )
    delete = command(
        sessions, "delete", "delete a session", _sessions.sessions_delete, talks_to_api=True
    )
    delete.add_argument("session_id", metavar="SESSION_ID")
    delete.add_argument(
        "--missing-ok", action="store_true", help="succeed when the session is already gone"
    )
    cleanup = command(
        sessions,
        "cleanup",
        "delete the sessions this machine made on the endpoint and never deleted (a killed "
        "command's), as noted in the session journal ($PICKER_DISCOVERY_JOURNAL: a file, "
        "or off)",
        _sessions.sessions_cleanup,
        talks_to_api=True,
    )
    cleanup.add_argument(
        "--dry-run", action="store_true", help="only list the sessions it would delete"
    )
    pick = command(
        commands,
        "pick",
        "create a session, wait for your pick, download it, delete the session",
        _pick.pick,
        talks_to_api=True,
    )
    pick.add_argument("--dest", default=".", metavar="FOLDER", help="where files go (default .)")
    pick.add_argument(
        "--session",
        metavar="SESSION_ID",
        help="resume a session made earlier (sessions create, or a pick that was stopped) "
        "instead of creating one; it is deleted at the end all the same",
    )
    pick.add_argument(
        "--dry-run",
        action="store_true",
        help="check every argument, the token and the folder, say what would happen, and "
        "send nothing",
    )
    pick.add_argument(
        "--max-items",
        type=_count("--max-items", 1, MAX_ITEMS),
        metavar="N",
        help=f"the most items to pick (1-{MAX_ITEMS})",
    )
    pick.add_argument(
        "--timeout",
        type=_seconds("--timeout"),
        default=900.0,  # a person picks in minutes; a session left open counts against them
        metavar="SECONDS",
        help="give up waiting for the pick after this long (default 900, 15 minutes; the "
        "server's own limit may end the wait sooner)",
    )
    pick.add_argument("--size", metavar="WxH", help="download images scaled into this box")
    pick.add_argument("--crop", action="store_true", help="with --size, crop to exactly it")
    pick.add_argument(
        "--not-ready",
        choices=["skip", "wait", "fail"],
        default="skip",
        help="videos still processing: skip them (default), wait for them, or fail",
    )
    pick.add_argument(
        "--workers",
        type=_count("--workers", 1, MAX_WORKERS),
        default=DEFAULT_WORKERS,
        help=f"downloads at once, 1-{MAX_WORKERS} (default {DEFAULT_WORKERS})",
    )
    qr = pick.add_mutually_exclusive_group()
    qr.add_argument(
        "--qr",
        action="store_true",
        default=None,
        help="draw the QR code even when stderr is no terminal or it does not fit",
    )
    qr.add_argument(
        "--no-qr", dest="qr", action="store_false", help="never draw the QR code, only the link"
    )
    pick.add_argument("--open", action="store_true", help="open the link in this machine's browser")
    pick.add_argument(
        "--progress",
        action="store_true",
        help="show the status line and progress bar even when stderr is no terminal",
    )
    pick.add_argument(
        "--autoclose", action="store_true", help="let the Photos tab close itself when done"
    )
    pick.add_argument(
        "--media-host",
        action="append",
        default=[h for h in os.environ.get(MEDIA_HOSTS_ENV, "").split(",") if h],
        metavar="ORIGIN",
        help="also send the token to this media origin, e.g. an emulator's "
        f"http://127.0.0.1:PORT (repeatable; default ${MEDIA_HOSTS_ENV})",
    )

    items = group("items", "list or download the items picked in a session")
    listing = command(
        items, "list", "list every picked item, all pages", _sessions.items_list, talks_to_api=True
    )
    listing.add_argument("session_id", metavar="SESSION_ID")
    listing.add_argument(
        "--page-size",
        type=_count("--page-size", 1, 100),
        default=100,
        metavar="N",
        help="items asked for per page, 1-100 (default 100; the server may send fewer)",
    )
    download = command(
        items,
        "download",
        "download a session's picked items into a folder, or one item to a file or stdout",
        _items.items_download,
        talks_to_api=True,
    )
    download.add_argument("session_id", metavar="SESSION_ID")
    download.add_argument("--item", metavar="ITEM_ID", help="only this item")
    download.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="with --item: write it to FILE ('-' for stdout) instead of into --dest",
    )
    download.add_argument(
        "--dest", default=".", metavar="FOLDER", help="where files go (default .)"
    )
    download.add_argument("--size", metavar="WxH", help="download images scaled into this box")
    download.add_argument("--crop", action="store_true", help="with --size, crop to exactly it")
    download.add_argument(
        "--workers",
        type=_count("--workers", 1, MAX_WORKERS),
        default=DEFAULT_WORKERS,
        help=f"downloads at once, 1-{MAX_WORKERS} (default {DEFAULT_WORKERS})",
    )
    download.add_argument(
        "--media-host",
        action="append",
        default=[h for h in os.environ.get(MEDIA_HOSTS_ENV, "").split(",") if h],
        metavar="ORIGIN",
        help=f"also send the token to this media origin (default ${MEDIA_HOSTS_ENV})",
    )

    disc = group("discovery", "the discovery document: show, path, verify, refresh")
    for name, help_text, func in (
        ("show", "the document in use: source, revision, methods", _document.discovery_show),
        ("path", "the path of the document in use", _document.discovery_path),
        ("verify", "check the document and build every method offline", _document.discovery_verify),
    ):
        sub = command(disc, name, help_text, func)
        sub.add_argument("--document", metavar="PATH", help="use this document instead")
    refresh = command(
        disc, "refresh", "fetch the live document into the user cache", _document.discovery_refresh
    )
    refresh.add_argument(
        "--url",
        default=discovery.LIVE_DISCOVERY_URL,
        help="where to fetch it (default: the live service)",
    )
    refresh.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="HOST",
        help="accept a rootUrl on this host (an emulator's), repeatable",
    )
    refresh.add_argument(
        "--allow-insecure-http",
        action="store_true",
        help="accept a plain http rootUrl on an --allow-host that is not this machine",
    )

    for register in _added_commands():
        register(commands, command)
    return parser
