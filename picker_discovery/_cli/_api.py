"""Talking to the API: a client signed in as the user, for the chosen endpoint."""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path
from typing import Any

from picker_discovery import _urls
from picker_discovery._cli._common import EXIT_AUTH, EXIT_USAGE, CommandError

ENDPOINT_ENV = "PICKER_DISCOVERY_ENDPOINT"
TOKEN_ENV = "PICKER_DISCOVERY_TOKEN"
_TOKEN_CHARS = re.compile(r"[\x21-\x7e]+")  # what an HTTP header value may carry, no spaces


def api_client(args: argparse.Namespace) -> Any:
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
        path = token_file(args)
        try:
            credentials = auth.load_credentials(path)
        except OSError as exc:
            if exc.errno is None:  # auth's own refusal (a file open to others): not allowed
                raise
            raise CommandError(
                f"cannot read the token file {path}: {exc.strerror}; check that it is a file "
                "you own, or sign in again with 'picker-discovery login'",
                EXIT_USAGE,
            ) from None
        if credentials is None:
            account = getattr(args, "account", None)
            which = f" --account {account}" if account else ""
            others = [a for a in auth.accounts() if a != (account or auth.DEFAULT_ACCOUNT)]
            hint = f"; signed-in accounts: {', '.join(others)}" if others else ""
            raise CommandError(
                f"not signed in{' as ' + account if account else ''} (no token at {path}): "
                f"run 'picker-discovery login --client-secrets FILE{which}' "
                f"(or set {TOKEN_ENV} for the emulator){hint}",
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


def token_file(args: argparse.Namespace) -> Path:
    """The token file of ``--token-file`` or ``--account`` (not both), else the default."""
    from picker_discovery import _auth as auth

    account = getattr(args, "account", None)
    if args.token_file and account:
        raise CommandError(
            "--token-file and --account both name the token to use: give one of them",
            EXIT_USAGE,
        )
    if args.token_file:
        return Path(args.token_file)
    try:
        return auth.token_path(account)
    except ValueError as exc:
        raise CommandError(f"--account: {exc}", EXIT_USAGE) from None


def _journal(args: argparse.Namespace, *, from_token_file: bool) -> Any:
    """The session journal, its entries labelled with the token file they were made with."""
    from picker_discovery._journal import SessionJournal

    account = None
    if from_token_file:
        account = str(os.path.abspath(token_file(args)))
    return SessionJournal.from_environment(account=account) or False
