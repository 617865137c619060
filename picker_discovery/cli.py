"""The ``picker-discovery`` command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from picker_discovery import discovery

__all__ = ["main"]


def _demo(args: argparse.Namespace) -> int:
    """The whole Picker flow against a loopback emulator this command starts itself.

    create -> pick (through the emulator's control endpoint, as a browser's Done would) ->
    poll until mediaItemsSet -> list every page -> delete, with plain googleapiclient calls.
    """
    import json
    import time
    import urllib.request

    import google.oauth2.credentials

    from picker_discovery.client import PickerClient
    from picker_discovery.errors import SessionNotFound
    from picker_discovery.service import build
    from picker_discovery.testing.backend import FakeClock, parse_duration
    from picker_discovery.testing.emulator import Emulator

    document, source = discovery.load_document()
    print(f"discovery document: {source} revision {document.get('revision')}")
    clock = FakeClock(ticking=True)
    with Emulator(clock=clock, poll_interval="0.2s", polling_timeout=60) as emulator:
        print(f"emulator: {emulator.url} (media {emulator.media_url})")
        credentials = google.oauth2.credentials.Credentials(  # type: ignore[no-untyped-call]
            token="emulator-token"
        )
        with build(
            credentials=credentials, client_options={"api_endpoint": emulator.url}
        ) as service:
            session = (
                service.sessions().create(body={"pickingConfig": {"maxItemCount": "8"}}).execute()
            )
            session_id = session["id"]
            print(f"created session {session_id}; pick at {session['pickerUri']}")
            try:
                pick = urllib.request.Request(
                    f"{emulator.url}_control/pick",
                    data=json.dumps({"session_id": session_id, "first": 7}).encode(),
                    headers={"Content-Type": "application/json"},
                    method="POST",
                )
                with urllib.request.urlopen(pick, timeout=10) as answer:
                    print(f"picked {len(json.load(answer)['picked'])} items via the control API")
                while not session.get("mediaItemsSet"):
                    polling = session.get("pollingConfig") or {}
                    if parse_duration(polling.get("timeoutIn", "0s")).total_seconds() <= 0:
                        print("picking timed out", file=sys.stderr)
                        return 1
                    time.sleep(parse_duration(polling.get("pollInterval", "1s")).total_seconds())
                    session = service.sessions().get(sessionId=session_id).execute()
                print("mediaItemsSet is true")
                request = service.mediaItems().list(sessionId=session_id, pageSize=3)
                pages = 0
                while request is not None:
                    page = request.execute()
                    pages += 1
                    for item in page.get("mediaItems", []):
                        media = item["mediaFile"]
                        print(f"  {item['type']:5} {media['mimeType']:15} {media['filename']!r}")
                    request = service.mediaItems().list_next(request, page)
                print(f"listed {pages} pages")
            finally:
                service.sessions().delete(sessionId=session_id).execute()
                print(f"deleted session {session_id}")
            try:
                PickerClient(service).delete_session(session_id)
            except SessionNotFound as exc:
                print(f"deleting it again: {type(exc).__name__}: {exc}")
            else:
                print("deleting it again unexpectedly succeeded", file=sys.stderr)
                return 1
    return 0


def _emulator(args: argparse.Namespace) -> int:
    """Serve the Picker emulator on loopback until interrupted (Ctrl-C or SIGTERM)."""
    import signal
    import threading

    from picker_discovery.testing.backend import FakeClock
    from picker_discovery.testing.emulator import Emulator

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    settings = {"poll_interval": args.poll_interval, "seed": args.seed}
    with Emulator(
        port=args.port, media_port=args.media_port, clock=FakeClock(ticking=True), **settings
    ) as emulator:
        print(f"Picker emulator on {emulator.url} (media {emulator.media_url})", flush=True)
        print(f"discovery document: {emulator.discovery_url}", flush=True)
        print("controls under /_control/; Ctrl-C stops", flush=True)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="picker-discovery",
        description="The Google Photos Picker API from the command line, offline-ready.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    demo = commands.add_parser(
        "demo", help="run the whole flow against a loopback emulator, with no account"
    )
    demo.set_defaults(func=_demo)
    emulator = commands.add_parser(
        "emulator", help="serve the Picker API emulator on 127.0.0.1 until interrupted"
    )
    emulator.add_argument("--port", type=int, default=0, help="API port (default: a free one)")
    emulator.add_argument(
        "--media-port", type=int, default=0, help="media (baseUrl) port (default: a free one)"
    )
    emulator.add_argument("--poll-interval", default="5s", help="pollingConfig.pollInterval")
    emulator.add_argument("--seed", default="0", help="seed of the fake libraries")
    emulator.set_defaults(func=_emulator)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
