"""The ``picker-discovery`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from picker_discovery import discovery

__all__ = ["main"]


def _demo(args: argparse.Namespace) -> int:
    """Build the service offline and delete a session twice against canned answers."""
    from picker_discovery.client import PickerClient
    from picker_discovery.errors import SessionNotFound
    from picker_discovery.service import build
    from picker_discovery.testing import canned

    http = canned.sequence("sessions.delete", "sessions.delete.not_found")
    document, source = discovery.load_document()
    print(f"discovery document: {source} revision {document.get('revision')}")
    with build(http=http) as service:
        client = PickerClient(service)
        session_id = canned.SESSION_ID
        client.delete_session(session_id)
        print(f"deleted session {session_id}")
        try:
            client.delete_session(session_id)
        except SessionNotFound as exc:
            print(f"deleting it again: {type(exc).__name__}: {exc}")
        else:
            print("deleting it again unexpectedly succeeded", file=sys.stderr)
            return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="picker-discovery",
        description="The Google Photos Picker API from the command line, offline-ready.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = commands.add_parser("demo", help="run the main job offline, with no account")
    demo.set_defaults(func=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
