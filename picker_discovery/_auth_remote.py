"""Signing in where the browser cannot reach this process (Colab, JupyterHub, a server).

The installed-app flow's loopback redirect goes to the machine the browser runs on, where
nothing listens: the page does not load, but its address holds the answer. The person pastes
that address back; it must carry this sign-in's ``state`` (so an address from another
sign-in, or one an attacker sent, is refused) and a ``code``, which is exchanged with this
sign-in's PKCE verifier (google-auth-oauthlib's ``Flow`` makes one), so a code read on the way
is useless to anyone else.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from typing import Any

from picker_discovery._errorbase import BadArgument
from picker_discovery._secrets import scrub
from picker_discovery.errors import AccessNotGranted

__all__ = ["DEFAULT_REMOTE_PORT", "paste_back"]

# Where the browser is sent when no port is given: nothing need listen there.
DEFAULT_REMOTE_PORT = 8085


def paste_back(
    flow: Any,
    *,
    host: str = "localhost",
    port: int = 0,
    on_url: Callable[[str], None] | None = None,
    read: Callable[[str], str] | None = None,
) -> Any:
    """Run ``flow`` (a google-auth-oauthlib ``Flow``) by copy and paste; its credentials.

    Raises:
        BadArgument: the pasted text is not this sign-in's redirect (another address, no
            ``code``, another ``state``); nothing was sent.
        AccessNotGranted: the person pressed Deny (``error=access_denied``), or another
            error came back.
    """
    flow.redirect_uri = f"http://{host}:{port or DEFAULT_REMOTE_PORT}/"
    url, state = flow.authorization_url(access_type="offline", prompt="consent")
    if on_url is not None:
        on_url(url)
    prompt = (
        "Sign in at the address above, then paste here the address your browser ends on "
        f"(it starts {flow.redirect_uri}; the page itself will not load): "
        if on_url is not None
        else f"Open {url} , sign in, then paste here the address your browser ends on "
        f"(it starts {flow.redirect_uri}; the page itself will not load): "
    )
    pasted = (read or input)(prompt).strip()
    code = _code_from(pasted, flow.redirect_uri, state)
    try:
        flow.fetch_token(code=code)
    except Exception as exc:
        scrub(exc, ())  # an OAuth error may carry the token exchange's answer
        raise
    return flow.credentials


def _code_from(pasted: str, redirect_uri: str, state: str) -> str:
    parts = urllib.parse.urlsplit(pasted)
    expected = urllib.parse.urlsplit(redirect_uri)
    if (parts.scheme, parts.netloc) != (expected.scheme, expected.netloc):
        raise BadArgument(
            f"the pasted text is not the address the sign-in sent your browser to (it starts "
            f"{redirect_uri}): copy the whole address from the browser's address bar and "
            "sign in again"
        )
    query = dict(urllib.parse.parse_qsl(parts.query))
    if query.get("state") != state:
        raise BadArgument(
            "the pasted address belongs to another sign-in (its state does not match this "
            "one's): paste the address from this sign-in, or sign in again"
        )
    if "error" in query:
        raise AccessNotGranted(
            f"the sign-in was refused ({query['error']}); sign in again and allow access to "
            "the photos you pick"
        )
    code = query.get("code")
    if not code:
        raise BadArgument(
            "the pasted address has no code=: copy the whole address from the browser's "
            "address bar after allowing access, and sign in again"
        )
    return code
