"""The ``picker-discovery`` command line (also ``python -m picker_discovery``).

Exit codes: 0 success; 1 the API or the run failed; 2 bad usage or input; 3 no such session;
4 not signed in or not allowed; 5 the wait for the person timed out; 129 hung up (SIGHUP);
130 interrupted (Ctrl-C, SIGINT); 141 the output's reader went away (a closed pipe); 143
terminated (SIGTERM). As shells do, a signal's code is 128 plus its number; a command a signal
ends deletes the session it made first, as it does for Ctrl-C. Every failure is one line on
stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from picker_discovery import _checks, _discovery as discovery, _urls
from picker_discovery._errorbase import PickerError
from picker_discovery._terminal import printable

__all__ = ["main"]

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

MAX_ITEMS = _checks.MAX_ITEM_COUNT
MAX_WORKERS = _checks.MAX_WORKERS

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


# -- discovery -------------------------------------------------------------------------------


def _document_summary(document: dict[str, Any], source: discovery.DocumentSource) -> dict[str, Any]:
    # load_document checked what building a service needs; fields only shown here may be
    # missing or of any kind in a document of the user's, and show as such.
    def mapping(value: Any) -> dict[str, Any]:
        return value if isinstance(value, dict) else {}

    oauth2 = mapping(mapping(document.get("auth")).get("oauth2"))
    methods = sorted(
        str(method.get("id", f"{resource_name}.{method_name} (no id)"))
        for resource_name, resource in mapping(document.get("resources")).items()
        for method_name, method in mapping(mapping(resource).get("methods")).items()
        if isinstance(method, dict)
    )
    return {
        "source": source.kind,
        "path": source.location,
        "name": document.get("name"),
        "version": document.get("version"),
        "revision": document.get("revision"),
        "rootUrl": document.get("rootUrl"),
        "scopes": sorted(map(str, mapping(oauth2.get("scopes")))),
        "methods": methods,
    }


def _discovery_show(args: argparse.Namespace) -> int:
    document, source = discovery.load_document(args.document)
    summary = _document_summary(document, source)
    lines = [
        printable(f"{summary['name']} {summary['version']} revision {summary['revision']}"),
        f"from     {printable(source)}",
        f"root     {printable(summary['rootUrl'])}",
        f"scopes   {printable(', '.join(summary['scopes']) or '(none)')}",
        f"methods  {printable(', '.join(summary['methods']))}",
    ]
    emit(args, summary, "\n".join(lines))
    return EXIT_OK


def _discovery_path(args: argparse.Namespace) -> int:
    _, source = discovery.load_document(args.document)
    emit(args, {"source": source.kind, "path": source.location}, printable(source.location))
    return EXIT_OK


def _discovery_verify(args: argparse.Namespace) -> int:
    from picker_discovery._service import build

    document, source = discovery.load_document(args.document)
    try:
        service = build(discovery_document=document, http=_NoNetwork())
    except discovery.DiscoveryDocumentError as exc:  # it names "<mapping>": name the file
        raise discovery.DiscoveryDocumentError(str(source), exc.problem) from None
    checks = {
        "photospicker.sessions.create": service.sessions().create(body={}),
        "photospicker.sessions.get": service.sessions().get(sessionId="s"),
        "photospicker.sessions.delete": service.sessions().delete(sessionId="s"),
        "photospicker.mediaItems.list": service.mediaItems().list(sessionId="s"),
    }
    for method_id, request in checks.items():
        problem = _urls.url_problem(request.uri)
        if problem is not None:  # load_document refuses such documents; never trust one
            raise discovery.DiscoveryDocumentError(
                str(source), f"builds {method_id} as {request.uri!r}, which {problem}"
            )
    results = {method_id: f"{r.method} {r.uri.split('?')[0]}" for method_id, r in checks.items()}
    text = "\n".join(
        [f"{printable(source)}: the photospicker v1 document, every method builds"]
        + [f"  {method_id:<30} {printable(line)}" for method_id, line in results.items()]
    )
    emit(
        args, {"source": source.kind, "path": source.location, "ok": True, "methods": results}, text
    )
    return EXIT_OK


class _NoNetwork:
    """A transport for building requests that must never be sent."""

    def request(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("verify never sends requests")


def _discovery_refresh(args: argparse.Namespace) -> int:
    insecure = args.allow_insecure_http
    path = discovery.refresh(args.url, allowed_hosts=args.allow_host, allow_insecure_http=insecure)
    document, _ = discovery.load_document(
        path, allowed_hosts=args.allow_host, allow_insecure_http=insecure
    )
    emit(
        args,
        {"path": str(path), "revision": document.get("revision")},
        printable(f"stored revision {document.get('revision')} at {path}"),
    )
    return EXIT_OK


# -- signing in ------------------------------------------------------------------------------


def _login(args: argparse.Namespace) -> int:
    from picker_discovery import _auth as auth

    def show(url: str) -> None:
        print(f"Open this address to sign in:\n  {printable(url)}", file=sys.stderr)

    try:
        auth.login(
            args.client_secrets,
            token_path=args.token_file,
            open_browser=not args.no_browser,
            on_authorization_url=show,
            timeout_seconds=args.timeout,
        )
    except TimeoutError as exc:
        raise CommandError(str(exc), EXIT_TIMEOUT) from None
    path = args.token_file or auth.default_token_path()
    emit(args, {"token_file": str(path)}, f"signed in; token stored at {path}")
    return EXIT_OK


def _logout(args: argparse.Namespace) -> int:
    from picker_discovery import _auth as auth

    removed = auth.logout(args.token_file)
    path = args.token_file or auth.default_token_path()
    emit(
        args,
        {"token_file": str(path), "removed": removed},
        f"removed {path}" if removed else f"not signed in (no token at {path})",
    )
    return EXIT_OK


# -- talking to the API ---------------------------------------------------------------------

ENDPOINT_ENV = "PICKER_DISCOVERY_ENDPOINT"
TOKEN_ENV = "PICKER_DISCOVERY_TOKEN"
_TOKEN_CHARS = re.compile(r"[\x21-\x7e]+")  # what an HTTP header value may carry, no spaces


def _client(args: argparse.Namespace) -> Any:
    """A PickerClient for the chosen endpoint, signed in as the user.

    The access token comes from ``PICKER_DISCOVERY_TOKEN`` (handy for the emulator; never a
    command-line argument, where other users could read it) or else from the token file that
    ``login`` stored.
    """
    import google.oauth2.credentials

    from picker_discovery import _auth as auth
    from picker_discovery._client import PickerClient

    token = os.environ.get(TOKEN_ENV)
    credentials: google.oauth2.credentials.Credentials | None
    if token:
        if not _TOKEN_CHARS.fullmatch(token):
            raise CommandError(
                f"${TOKEN_ENV} holds spaces, control or non-ASCII characters, which no access "
                "token has: set it to the token alone",
                EXIT_USAGE,
            )
        credentials = google.oauth2.credentials.Credentials(token=token)
    else:
        path = args.token_file or auth.default_token_path()
        try:
            credentials = auth.load_credentials(args.token_file)
        except OSError as exc:
            if exc.errno is None:  # auth's own refusal (a file open to others): not allowed
                raise
            raise CommandError(
                f"cannot read the token file {path}: {exc.strerror}; check that it is a file "
                "you own, or sign in again with 'picker-discovery login'",
                EXIT_USAGE,
            ) from None
        if credentials is None:
            raise CommandError(
                "not signed in: run 'picker-discovery login --client-secrets FILE' "
                f"(or set {TOKEN_ENV} for the emulator)",
                EXIT_AUTH,
            )
    options = {"api_endpoint": args.endpoint} if args.endpoint else None
    if args.endpoint:
        problem = _urls.url_problem(
            args.endpoint,
            allowed_hosts=args.allow_host,
            allow_loopback=True,
            allow_insecure_http=args.allow_insecure_http,
        )
        if problem is not None:
            if problem.startswith("is not an https"):
                problem += "; if it is genuine, add --allow-host HOST"
            raise CommandError(
                f"the endpoint {args.endpoint!r} (--endpoint or ${ENDPOINT_ENV}) {problem}; "
                "nothing was sent",
                EXIT_USAGE,
            )
    client = PickerClient(
        credentials=credentials,
        client_options=options,
        allowed_hosts=args.allow_host,
        allow_insecure_http=args.allow_insecure_http,
        journal=_journal(args, from_token_file=not token),
    )
    # Named in the message when the API cannot be reached.
    args.api_url = getattr(client.service, "_baseUrl", None) or args.endpoint
    return client


def _journal(args: argparse.Namespace, *, from_token_file: bool) -> Any:
    """The session journal, its entries labelled with the token file they were made with."""
    from picker_discovery import _auth as auth
    from picker_discovery._journal import SessionJournal

    account = None
    if from_token_file:
        account = str(os.path.abspath(args.token_file or auth.default_token_path()))
    return SessionJournal.from_environment(account=account) or False


def _session_data(session: Any) -> dict[str, Any]:
    data: dict[str, Any] = session.to_dict()
    return data


def _session_text(session: Any) -> str:
    lines = [f"session   {printable(session.id)}"]
    if session.picker_uri:
        lines.append(f"pick at   {printable(session.picker_uri)}")
    lines.append(f"picked    {'yes' if session.media_items_set else 'not yet'}")
    if session.expire_time:
        lines.append(f"expires   {session.expire_time.isoformat()}")
    config = session.polling_config
    if config is not None and config.poll_interval is not None:
        timeout = config.timeout_in.total_seconds() if config.timeout_in else 0
        lines.append(
            f"polling   every {config.poll_interval.total_seconds():g} s, for {timeout:g} s more"
        )
    if session.picking_config and session.picking_config.max_item_count:
        lines.append(f"at most   {printable(session.picking_config.max_item_count)} items")
    return "\n".join(lines)


def _sessions_create(args: argparse.Namespace) -> int:
    session = _client(args).create_session(max_item_count=args.max_items)
    emit(args, _session_data(session), _session_text(session))
    return EXIT_OK


def _sessions_get(args: argparse.Namespace) -> int:
    session = _client(args).get_session(args.session_id)
    emit(args, _session_data(session), _session_text(session))
    return EXIT_OK


def _sessions_delete(args: argparse.Namespace) -> int:
    _client(args).delete_session(args.session_id, missing_ok=args.missing_ok)
    emit(args, {"deleted": args.session_id}, f"deleted session {printable(args.session_id)}")
    return EXIT_OK


def _sessions_cleanup(args: argparse.Namespace) -> int:
    report = _client(args).cleanup_sessions(dry_run=args.dry_run)
    lines = [f"journal   {report.journal}", f"endpoint  {report.endpoint}"]
    lines += [f"would delete session {e.session_id}" for e in report.pending]
    lines += [f"deleted session {e.session_id}" for e in report.deleted]
    lines += [f"session {e.session_id} was already gone" for e in report.already_gone]
    lines += [f"could not delete session {e.session_id}: {why}" for e, why in report.failed]
    if report.expired:
        lines.append(f"forgot {len(report.expired)} session(s) that had expired by themselves")
    if report.elsewhere:
        lines.append(f"left {report.elsewhere} session(s) of other endpoints or accounts alone")
    if not (report.pending or report.deleted or report.already_gone or report.failed):
        lines.append("no leftover sessions")
    emit(args, report.to_dict(), "\n".join(printable(line) for line in lines))
    return EXIT_OK if report.ok else EXIT_FAILED


def _item_line(item: Any) -> str:
    media = item.media_file
    kind = item.type.value if item.type else "?"
    name = media.filename if media else None
    mime = media.mime_type if media else None
    created = item.create_time.isoformat() if item.create_time else "?"
    # repr() shows the name quoted, its control characters escaped.
    return f"{kind:5}  {printable(mime or '?'):16} {created:25}  {name!r}  {printable(item.id)}"


def _items_list(args: argparse.Namespace) -> int:
    client = _client(args)
    if args.json:
        items = [item.to_dict() for item in client.iter_media_items(args.session_id)]
        emit(args, items, "")
        return EXIT_OK
    count = 0
    for item in client.iter_media_items(args.session_id):
        print(_item_line(item))
        count += 1
    print(f"{count} item(s)")
    return EXIT_OK


# -- pick: the whole job for a person --------------------------------------------------------

MEDIA_HOSTS_ENV = "PICKER_DISCOVERY_MEDIA_HOSTS"


def _qr_text(uri: str) -> str | None:
    """The URI as a QR code drawn with text, or None without the ``cli`` extra (segno)."""
    try:
        import segno
    except ImportError:
        return None
    import io

    out = io.StringIO()
    segno.make(uri, error="m").terminal(out=out, compact=True)
    return out.getvalue()


class _StatusLine:
    """One line on stderr rewritten in place on a terminal; plain lines elsewhere."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self._width = 0

    def show(self, text: str) -> None:
        if self.tty:
            sys.stderr.write("\r" + text.ljust(self._width))
            self._width = len(text)
            sys.stderr.flush()

    def done(self, text: str) -> None:
        if self.tty:
            sys.stderr.write("\r" + " " * self._width + "\r")
        print(text, file=sys.stderr)


def _progress_bar(total_items: int | None) -> tuple[Any, Callable[[Any], None]]:
    """A tqdm bar of bytes across all items, and the Progress callback that feeds it."""
    try:
        from tqdm import tqdm
    except ImportError:
        return None, lambda progress: None
    bar = tqdm(unit="B", unit_scale=True, unit_divisor=1024, desc="downloading", file=sys.stderr)
    seen: dict[str, int] = {}

    def update(progress: Any) -> None:
        step = progress.bytes_done - seen.get(progress.item_id, 0)
        seen[progress.item_id] = progress.bytes_done
        total = progress.items_total or total_items
        bar.set_description(f"{progress.items_done}/{total or '?'} items", refresh=False)
        bar.update(step)

    return bar, update


def _pick(args: argparse.Namespace) -> int:
    from picker_discovery._media.pool import HostAllowlist, Size

    # Every argument is checked before the session is made: the user's picking is the
    # expensive part, and an argument that cannot work must not waste it.
    size = None
    if args.size:
        size = Size(*_checks.parse_size(args.size), crop=args.crop)
    _checks.check_workers(args.workers, "--workers")
    _checks.check_timeout(args.timeout, "--timeout")
    media_hosts = [h for h in (args.media_host or []) if h]
    # Refuse a media host that would get the token in the clear.
    HostAllowlist(media_hosts, allow_insecure_http=args.allow_insecure_http)
    client = _client(args)  # the token and the endpoint
    folder = _checks.check_folder(args.dest, "--dest")
    status = _StatusLine()
    with client.picking_session(max_item_count=args.max_items) as session:
        uri = session.picker_uri or ""
        if args.autoclose and uri:
            uri = uri.rstrip("/") + "/autoclose"
        print(f"Pick your photos here:\n  {printable(uri)}", file=sys.stderr)
        qr = _qr_text(uri) if not args.no_qr else None
        if qr:
            print(qr, file=sys.stderr)
        polls = 0

        def on_poll(state: Any) -> None:
            nonlocal polls
            polls += 1
            left = ""
            config = state.polling_config
            if config is not None and config.timeout_in is not None:
                left = f", {config.timeout_in.total_seconds():.0f} s left"
            status.show(f"waiting for your pick (checked {polls} times{left})...")

        picked = client.wait_for_selection(session, timeout=args.timeout, on_poll=on_poll)
        status.done("picked; downloading" if picked.media_items_set else "")
        bar, progress = _progress_bar(None)
        try:
            result = client.download_session(
                session,
                folder,
                size=size,
                not_ready=args.not_ready,
                media_hosts=media_hosts,
                workers=args.workers,
                progress=progress,
            )
        finally:
            if bar is not None:
                bar.close()
    summary = {
        "session": session.id,
        "folder": str(folder),
        "downloaded": [
            {"id": d.item_id, "path": str(d.path), "bytes": d.size} for d in result.downloaded
        ],
        "skipped": [
            {"id": s.item_id, "reason": s.reason.value, "detail": s.detail} for s in result.skipped
        ],
        "failed": [
            {"id": f.item_id, "filename": f.filename, "reason": f.reason} for f in result.failed
        ],
    }
    lines = [f"downloaded {len(result.downloaded)} file(s) into {folder}"]
    lines += [f"  skipped {s.item_id}: {s.detail}" for s in result.skipped]
    lines += [f"  FAILED {f.filename or f.item_id}: {f.reason}" for f in result.failed]
    if result.listing_error is not None:
        lines.append(f"  listing the session failed: {result.listing_error}")
    lines.append(f"deleted session {session.id}")
    lines = [printable(line) for line in lines]
    emit(args, summary, "\n".join(lines))
    return EXIT_OK if result.ok else EXIT_FAILED


# -- the parser ------------------------------------------------------------------------------


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


COMMANDS_GROUP = "picker_discovery.commands"
"""The entry point group of added commands: each names a ``register(commands, command)``."""


def _added_commands() -> list[Callable[[Any, Callable[..., argparse.ArgumentParser]], None]]:
    """The commands installed packages add (the test kit adds ``emulator`` and ``demo``).

    Found through entry points, so this module never imports the test kit itself.
    """
    from importlib.metadata import entry_points

    found = sorted(entry_points(group=COMMANDS_GROUP), key=lambda point: point.name)
    return [point.load() for point in found]


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print JSON for scripts")
    common.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    api = argparse.ArgumentParser(add_help=False)
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

    parser = argparse.ArgumentParser(
        prog="picker-discovery",
        description="The Google Photos Picker API from the command line, offline-ready.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def group(name: str, help_text: str) -> Any:
        sub = commands.add_parser(name, help=help_text, description=help_text)
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
            epilog=EXIT_CODES_HELP,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub.set_defaults(func=func)
        return sub

    login = command(commands, "login", "sign in with an OAuth client for a desktop app", _login)
    login.add_argument(
        "--client-secrets",
        required=True,
        metavar="FILE",
        help="the OAuth client JSON downloaded from the Google Cloud console",
    )
    login.add_argument(
        "--no-browser",
        action="store_true",
        help="print the sign-in address instead of opening a browser",
    )
    login.add_argument(
        "--timeout",
        type=_seconds("--timeout"),
        default=300,
        metavar="SECONDS",
        help="how long to wait for the sign-in (default 300)",
    )
    login.add_argument("--token-file", metavar="PATH", help="where to store the token")
    logout = command(commands, "logout", "forget the stored token", _logout)
    logout.add_argument("--token-file", metavar="PATH", help="the token file to remove")

    sessions = group(
        "sessions", "create, get or delete a picking session, or clean up leftover ones"
    )
    create = command(
        sessions, "create", "create a picking session", _sessions_create, talks_to_api=True
    )
    create.add_argument(
        "--max-items",
        type=_count("--max-items", 1, MAX_ITEMS),
        metavar="N",
        help=f"the most items the user may pick (1-{MAX_ITEMS})",
    )
    get = command(sessions, "get", "show a session's state", _sessions_get, talks_to_api=True)
    get.add_argument("session_id", metavar="SESSION_ID")
    delete = command(sessions, "delete", "delete a session", _sessions_delete, talks_to_api=True)
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
        _sessions_cleanup,
        talks_to_api=True,
    )
    cleanup.add_argument(
        "--dry-run", action="store_true", help="only list the sessions it would delete"
    )
    pick = command(
        commands,
        "pick",
        "create a session, wait for your pick, download it, delete the session",
        _pick,
        talks_to_api=True,
    )
    pick.add_argument("--dest", default=".", metavar="FOLDER", help="where files go (default .)")
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
        default=4,
        help=f"downloads at once, 1-{MAX_WORKERS} (default 4)",
    )
    pick.add_argument("--no-qr", action="store_true", help="do not draw the QR code")
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

    items = group("items", "list the items picked in a session")
    listing = command(
        items, "list", "list every picked item, all pages", _items_list, talks_to_api=True
    )
    listing.add_argument("session_id", metavar="SESSION_ID")

    disc = group("discovery", "the discovery document: show, path, verify, refresh")
    for name, help_text, func in (
        ("show", "the document in use: source, revision, methods", _discovery_show),
        ("path", "the path of the document in use", _discovery_path),
        ("verify", "check the document and build every method offline", _discovery_verify),
    ):
        sub = command(disc, name, help_text, func)
        sub.add_argument("--document", metavar="PATH", help="use this document instead")
    refresh = command(
        disc, "refresh", "fetch the live document into the user cache", _discovery_refresh
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


def _exit_code(exc: BaseException) -> int:
    """The exit code an error deserves (see the module docs)."""
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
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = logging.StreamHandler()
    handler.setFormatter(_PrintableFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(
        level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
        handlers=[handler],
    )
    # A command that handles SIGTERM itself (the emulator: it stops serving and exits 0).
    own = getattr(args, "own_signals", False)
    unwinding = contextlib.nullcontext() if own else _signals_unwind()
    try:
        with unwinding:
            code = int(args.func(args))
            sys.stdout.flush()  # a closed pipe shows now, not at exit as an ignored exception
            return code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Terminated as exc:
        print(printable(exc), file=sys.stderr)
        return 128 + exc.signum
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
        if not isinstance(exc, expected):
            # Never a traceback for the user; --verbose logs it for a bug report.
            logging.getLogger(__name__).info("unexpected error", exc_info=True)
            _report(
                f"error: unexpected {type(exc).__name__}: {printable(exc)}; this is a bug in "
                "picker-discovery, please report it with the output of --verbose"
            )
            return EXIT_FAILED
        api_url = getattr(args, "api_url", None)
        if api_url and is_transport_error(exc):
            _report(f"error: could not reach the API at {printable(api_url)}: {printable(exc)}")
        else:
            _report(f"error: {printable(exc)}")
        return _exit_code(exc)


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


if __name__ == "__main__":
    sys.exit(main())
