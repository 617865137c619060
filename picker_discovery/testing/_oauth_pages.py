"""The HTML of the emulator's OAuth server: the consent page and the error pages Google shows
for an authorization request it refuses ("Error 400: redirect_uri_mismatch")."""

from __future__ import annotations

import html
from collections.abc import Sequence

from picker_discovery.testing._oauth import AUTH_PATH, IDENTITY_SCOPES, AuthRequest, TestUser

__all__ = ["consent_page", "error_page"]

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:32rem}
fieldset{border:1px solid #ccc;border-radius:.5rem;margin:1rem 0}
label{display:block;margin:.3rem 0}
button{font-size:1rem;padding:.4rem 1.2rem;margin-right:.5rem}
code{overflow-wrap:anywhere}
"""


def consent_page(request: AuthRequest, users: Sequence[TestUser]) -> str:
    """Choose a test user, keep or uncheck each requested scope, Allow or Deny.

    The form posts every parameter of the request back with the choice."""
    esc = html.escape
    chosen = request.login_hint if any(u.email == request.login_hint for u in users) else None
    chosen = chosen or (users[0].email if users else "")
    hidden = "".join(
        f'<input type=hidden name="{esc(k)}" value="{esc(v)}">' for k, v in request.params().items()
    )
    people = "".join(
        f'<label><input type=radio name=user value="{esc(u.email)}"'
        f"{' checked' if u.email == chosen else ''}> {esc(u.name)} &lt;{esc(u.email)}&gt;</label>"
        for u in users
    )
    scopes = [s for s in request.scopes if s not in IDENTITY_SCOPES]
    boxes = "".join(
        f'<label><input type=checkbox name=grant value="{esc(s)}" checked> <code>{esc(s)}</code>'
        "</label>"
        for s in scopes
    )
    identity = [s for s in request.scopes if s in IDENTITY_SCOPES]
    who = (
        f"<p>It will also see your name and email address ({esc(' '.join(identity))}).</p>"
        if identity
        else ""
    )
    return (
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
        "<title>Sign in - Google Accounts (emulator)</title>"
        f"<style>{_STYLE}</style></head><body>"
        f"<h1>Sign in to continue to <code>{esc(request.client.client_id)}</code></h1>"
        f'<form method=post action="{AUTH_PATH}">{hidden}'
        f"<fieldset><legend>Choose an account</legend>{people}</fieldset>"
        f"<fieldset><legend>This app wants to</legend>{boxes or '<p>(no scopes)</p>'}"
        f"{who}</fieldset>"
        "<button type=submit name=action value=allow id=allow>Allow</button>"
        "<button type=submit name=action value=deny id=deny>Deny</button>"
        "</form></body></html>"
    )


def error_page(status: int, error: str, description: str) -> str:
    """Google's "Access blocked" page for a refused authorization request."""
    esc = html.escape
    return (
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
        f"<title>Error {status}: {esc(error)}</title>"
        f"<style>{_STYLE}</style></head><body>"
        "<h1>Access blocked: this app's request is invalid</h1>"
        f"<p id=error><b>Error {status}: {esc(error)}</b></p>"
        f"<p>{esc(description)}</p></body></html>"
    )
