"""``sessions create``, ``get``, ``delete`` and ``cleanup``, and ``items list``."""

from __future__ import annotations

import argparse
from typing import Any

from picker_discovery._cli._api import api_client
from picker_discovery._cli._common import EXIT_FAILED, EXIT_OK, emit
from picker_discovery._terminal import printable


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


def sessions_create(args: argparse.Namespace) -> int:
    session = api_client(args).create_session(max_item_count=args.max_items)
    emit(args, _session_data(session), _session_text(session))
    return EXIT_OK


def sessions_get(args: argparse.Namespace) -> int:
    session = api_client(args).get_session(args.session_id)
    emit(args, _session_data(session), _session_text(session))
    return EXIT_OK


def sessions_wait(args: argparse.Namespace) -> int:
    """Poll as the server says until the user has picked; the session's state at the end."""
    import time

    from picker_discovery._cli._screen import Screen, in_words

    screen = Screen(quiet=args.quiet)
    deadline = time.monotonic() + args.timeout
    polls = 0

    def on_poll(state: Any) -> None:
        nonlocal polls
        polls += 1
        left = deadline - time.monotonic()
        config = state.polling_config
        if config is not None and config.timeout_in is not None:
            left = min(left, config.timeout_in.total_seconds())
        screen.status(f"waiting for the pick: {in_words(left)} left (checked {polls} times)")

    try:
        session = api_client(args).wait_for_selection(
            args.session_id, timeout=args.timeout, on_poll=on_poll
        )
    finally:
        screen.clear()
    emit(args, _session_data(session), _session_text(session))
    return EXIT_OK


def sessions_delete(args: argparse.Namespace) -> int:
    api_client(args).delete_session(args.session_id, missing_ok=args.missing_ok)
    emit(args, {"deleted": args.session_id}, f"deleted session {printable(args.session_id)}")
    return EXIT_OK


def sessions_cleanup(args: argparse.Namespace) -> int:
    report = api_client(args).cleanup_sessions(dry_run=args.dry_run)
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


def items_list(args: argparse.Namespace) -> int:
    client = api_client(args)
    if args.json:
        items = [
            item.to_dict() for item in client.iter_media_items(args.session_id, args.page_size)
        ]
        emit(args, items, "")
        return EXIT_OK
    count = 0
    for item in client.iter_media_items(args.session_id, args.page_size):
        print(_item_line(item))
        count += 1
    print(f"{count} item(s)")
    return EXIT_OK
