"""The test kit's commands of ``picker-discovery``: ``emulator`` and ``demo``.

The production command line never imports the test kit: it finds these through the
``picker_discovery.commands`` entry point group (setup.cfg), which calls :func:`register` while
building its parser. Any installed package can add commands the same way.
"""

from __future__ import annotations

import argparse
import contextlib
import json
from collections.abc import Callable, Iterator
from typing import Any

from picker_discovery import _discovery as discovery
from picker_discovery._cli import (
    ENDPOINT_ENV,
    EXIT_OK,
    EXIT_USAGE,
    MEDIA_HOSTS_ENV,
    TOKEN_ENV,
    CommandError,
    port,
)
from picker_discovery._terminal import printable

__all__ = ["demo", "emulator", "register"]

Command = Callable[..., argparse.ArgumentParser]
"""The command line's ``command(parent, name, help, func)``: adds one command's parser."""


def register(commands: Any, command: Command) -> None:
    """Add ``emulator`` and ``demo`` to the command line's subcommands."""
    served = command(
        commands,
        "emulator",
        "serve the Picker API emulator on 127.0.0.1 until interrupted",
        emulator,
    )
    served.add_argument("--port", type=port, default=0, help="API port (default: a free one)")
    served.add_argument(
        "--media-port", type=port, default=0, help="media (baseUrl) port (default: a free one)"
    )
    served.add_argument("--poll-interval", default="5s", help="pollingConfig.pollInterval")
    served.add_argument("--seed", default="0", help="seed of the fake libraries")
    served.add_argument(
        "--auth",
        choices=("open", "strict"),
        default="open",
        help="open: any bearer token is a user; strict: only live tokens of its OAuth server",
    )
    served.add_argument(
        "--access-token-lifetime",
        default="3600s",
        help="how long its OAuth server's access tokens live (default 3600s)",
    )
    # It handles SIGTERM itself: it stops serving and exits 0.
    served.set_defaults(own_signals=True)
    shown = command(
        commands, "demo", "run the whole flow against an emulator it starts, no account", demo
    )
    shown.set_defaults(
        no_json="demo is a walk-through for people and has no --json: for scripts, run "
        "'picker-discovery emulator --json' and 'picker-discovery pick --json' against it"
    )


def emulator(args: argparse.Namespace) -> int:
    """Serve the Picker emulator on loopback until interrupted (Ctrl-C or SIGTERM)."""
    import signal
    import threading

    from picker_discovery._clock import FakeClock
    from picker_discovery.testing.emulator import Emulator

    _need_pillow("emulator")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    settings = {
        "poll_interval": args.poll_interval,
        "seed": args.seed,
        "auth": args.auth,
        "access_token_lifetime": args.access_token_lifetime,
    }
    with _listening(
        Emulator(
            port=args.port, media_port=args.media_port, clock=FakeClock(ticking=True), **settings
        ),
        args,
    ) as emulator:
        if args.json:  # one line a script can read the URLs from
            urls = {
                "url": emulator.url,
                "media_url": emulator.media_url,
                "discovery_url": emulator.discovery_url,
                "auth_uri": emulator.auth_uri,
                "token_uri": emulator.token_uri,
            }
            print(json.dumps(urls, sort_keys=True), flush=True)
        else:
            _announce(emulator, args)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
    return EXIT_OK


def _announce(emulator: Any, args: argparse.Namespace) -> None:
    """Where the emulator serves, and a command to try it with."""
    print(f"Picker emulator on {emulator.url} (media {emulator.media_url})", flush=True)
    print(f"discovery document: {emulator.discovery_url}", flush=True)
    print("controls under /_control/; Ctrl-C stops", flush=True)
    print(
        f"OAuth: {emulator.auth_uri} and {emulator.token_uri} "
        "(register a client: POST /_control/clients)",
        flush=True,
    )
    if args.auth == "open":  # strict: only a token from its OAuth server works
        print("try, in another shell:", flush=True)
        print(
            f"  {ENDPOINT_ENV}={emulator.url} {TOKEN_ENV}=emulator-token "
            f"{MEDIA_HOSTS_ENV}={emulator.media_url.rstrip('/')} picker-discovery pick "
            "--dest picked/",
            flush=True,
        )


def _need_pillow(command: str) -> None:
    """Refuse to start without Pillow, which draws the fake photos: said at start-up, not
    after the person picked (the media port would fail every request)."""
    try:
        import PIL  # noqa: F401
    except ImportError:
        from picker_discovery._errorbase import MissingExtra

        raise MissingExtra(
            f"the {command} serves photos drawn with Pillow, which is not installed: "
            "pip install 'picker-discovery[testing]', then run it again"
        ) from None


@contextlib.contextmanager
def _listening(emulator: Any, args: argparse.Namespace) -> Iterator[Any]:
    """Start ``emulator``, saying which port could not be used, and stop it at the end."""
    try:
        emulator.start()
    except OSError as exc:
        raise CommandError(
            f"cannot serve the emulator on 127.0.0.1 (--port {args.port}, --media-port "
            f"{args.media_port}): {exc.strerror or exc}; choose other ports, or 0 for free ones",
            EXIT_USAGE,
        ) from None
    try:
        yield emulator
    finally:
        emulator.stop()


def demo(args: argparse.Namespace) -> int:
    """The main job against an emulator this command starts: no network, no account.

    create -> the "user" picks photos with awkward names and three videos (one failed, one
    still processing, one ready) through the emulator's control API, as the page's Done button
    would -> wait as the server's polling config says -> list every page -> download into a
    temporary folder -> delete, then show that deleting again is a SessionNotFound.
    """
    import tempfile

    import google.oauth2.credentials

    from picker_discovery._client import PickerClient
    from picker_discovery._clock import FakeClock
    from picker_discovery.errors import SessionNotFound
    from picker_discovery.testing.emulator import Emulator

    _need_pillow("demo")
    document, source = discovery.load_document()
    print(f"discovery document: {source} revision {document.get('revision')}")
    token = "emulator-token"
    with Emulator(clock=FakeClock(ticking=True), poll_interval="0.2s") as emulator:
        print(f"emulator: {emulator.url} (media {emulator.media_url})")
        library = emulator.library(token)
        videos = [item for item in library if item.is_video]
        photos = [item.id for item in library if not item.is_video][:8]
        choice = [
            *photos,
            next(v.id for v in videos if v.processing_status == "FAILED"),
            next(v.id for v in videos if v.processing_status == "PROCESSING"),
            min((v for v in videos if v.processing_status == "READY"), key=lambda v: v.size).id,
        ]
        client = PickerClient(
            credentials=google.oauth2.credentials.Credentials(token=token),
            client_options={"api_endpoint": emulator.url},
            journal=False,  # the emulator and its sessions end with this command
        )
        with client.picking_session(max_item_count=len(choice)) as session:
            assert session.id is not None
            print(
                f"created session {printable(session.id)}\n"
                f"  pick at {printable(session.picker_uri)}"
            )

            def user_picks(state: Any) -> None:
                if not state.media_items_set:
                    picked = emulator.pick(state.id, choice)
                    print(f"  (the user picks {len(picked)} items and taps Done)")

            picked = client.wait_for_selection(session, timeout=60, on_poll=user_picks)
            print(f"mediaItemsSet is {picked.media_items_set}")
            items = client.list_media_items(session, page_size=5)
            for item in items:
                media = item.media_file
                assert media is not None
                kind = item.type.value if item.type else "?"
                print(f"  {kind:5} {media.mime_type or '?':15} {media.filename!r}")
            print(f"listed {len(items)} items")
            with tempfile.TemporaryDirectory(prefix="picker-demo-") as folder:
                result = client.download_session(
                    session, folder, media_hosts=[emulator.media_url.rstrip("/")]
                )
                for done in result.downloaded:
                    print(f"  downloaded {done.path.name!r} ({done.size:,} bytes)")
                for skipped in result.skipped:
                    print(f"  skipped: {printable(skipped.detail)}")
                for failed in result.failed:
                    print(f"  FAILED {failed.filename!r}: {printable(failed.reason)}")
            if not result.ok:
                raise CommandError("the demo's download failed")
        print(f"deleted session {printable(session.id)}")
        try:
            client.delete_session(session.id)
        except SessionNotFound as exc:
            print(f"deleting it again: {type(exc).__name__}: {printable(exc)}")
        else:
            raise CommandError("deleting the session again unexpectedly succeeded")
    return EXIT_OK
