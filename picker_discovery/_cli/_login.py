"""``login`` and ``logout``: the stored token."""

from __future__ import annotations

import argparse
import sys

from picker_discovery._cli._common import EXIT_OK, EXIT_TIMEOUT, CommandError, emit
from picker_discovery._terminal import printable


def login(args: argparse.Namespace) -> int:
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


def logout(args: argparse.Namespace) -> int:
    from picker_discovery import _auth as auth

    removed = auth.logout(args.token_file)
    path = args.token_file or auth.default_token_path()
    emit(
        args,
        {"token_file": str(path), "removed": removed},
        f"removed {path}" if removed else f"not signed in (no token at {path})",
    )
    return EXIT_OK
