"""``login`` and ``logout``: the stored token, one per account."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from picker_discovery._cli._api import token_file
from picker_discovery._cli._common import EXIT_OK, EXIT_TIMEOUT, EXIT_USAGE, CommandError, emit
from picker_discovery._terminal import printable


def login(args: argparse.Namespace) -> int:
    from picker_discovery import _auth as auth

    path = token_file(args)
    secrets = Path(args.client_secrets)
    if not secrets.is_file():
        raise CommandError(
            f"--client-secrets {printable(secrets)}: no such file. In the Google Cloud "
            "console (APIs & Services, Credentials) create an OAuth client ID of type "
            "'Desktop app' and download its JSON",
            EXIT_USAGE,
        )

    def show(url: str) -> None:
        print(f"Open this address to sign in:\n  {printable(url)}", file=sys.stderr, flush=True)

    try:
        if args.remote:
            auth.login(
                args.client_secrets,
                token_path=path,
                remote=True,
                on_authorization_url=show,
                read_redirect=_read_redirect,
            )
        else:
            auth.login(
                args.client_secrets,
                token_path=path,
                open_browser=not args.no_browser,
                on_authorization_url=show,
                port=args.port,
                timeout_seconds=args.timeout,
            )
    except TimeoutError as exc:
        raise CommandError(str(exc), EXIT_TIMEOUT) from None
    account = args.account or auth.DEFAULT_ACCOUNT
    emit(
        args,
        {"token_file": str(path), "account": account},
        f"signed in; token stored at {path}"
        + (f" (use it with --account {account})" if args.account else ""),
    )
    return EXIT_OK


def _read_redirect(prompt: str) -> str:
    """The address the person pastes back, read from the terminal (or stdin)."""
    print(prompt, file=sys.stderr, end="", flush=True)
    line = sys.stdin.readline()
    if not line:
        raise CommandError(
            "nothing was pasted (stdin ended): run login --remote again and paste the "
            "address the browser ends on"
        )
    return line.strip()


def logout(args: argparse.Namespace) -> int:
    from picker_discovery import _auth as auth

    path = token_file(args)
    removed = auth.logout(path)
    emit(
        args,
        {"token_file": str(path), "removed": removed},
        f"removed {path}" if removed else f"not signed in (no token at {path})",
    )
    return EXIT_OK
