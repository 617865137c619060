"""Talking to the API: a client signed in as the user, for the chosen endpoint."""

from __future__ import annotations

import argparse
import os
import re
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
