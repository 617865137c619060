"""The OAuth endpoints of the emulator's API origin, over :attr:`Backend.oauth`:

* ``GET|POST /o/oauth2/v2/auth`` (``oauth.authorize``): the consent page, and its answer;
* ``POST /token`` (``oauth.token``): code exchange and refresh grants;
* ``POST /revoke`` (``oauth.revoke``): revoke a token and its whole grant;
* ``GET /oauth2/v3/userinfo`` (``oauth.userinfo``): who the bearer token belongs to.
"""

from __future__ import annotations

import base64
import binascii
import urllib.parse

from picker_discovery.testing._http import (
    FRAME_DENY,
    Request,
    Response,
    _html,
    _json,
    google_html_error,
)
from picker_discovery.testing._oauth import (
    AUTH_PATH,
    REVOKE_PATH,
    TOKEN_PATH,
    USERINFO_PATH,
    OAuthError,
    PageError,
)
from picker_discovery.testing._oauth_pages import consent_page, error_page
from picker_discovery.testing.backend import Backend

__all__ = ["OAUTH_METHODS", "oauth_method", "oauth_route"]

OAUTH_METHODS = {
    AUTH_PATH: "oauth.authorize",
    TOKEN_PATH: "oauth.token",
    REVOKE_PATH: "oauth.revoke",
    USERINFO_PATH: "oauth.userinfo",
}
# Token answers must not be cached anywhere (Google sends these).
_NO_STORE = {
    "Cache-Control": "no-cache, no-store, max-age=0, must-revalidate",
    "Pragma": "no-cache",
}


def oauth_method(request: Request) -> str | None:
    """The method id of a request to one of the OAuth endpoints, else None."""
    return OAUTH_METHODS.get(request.path)


def oauth_route(backend: Backend, request: Request) -> Response:
    """Answer one request to an OAuth endpoint."""
    method_id = OAUTH_METHODS[request.path]
    try:
        if method_id == "oauth.authorize":
            return _authorize(backend, request)
        if method_id == "oauth.userinfo":
            return _json(200, backend.oauth.userinfo(_bearer(request), backend.now()))
        if request.method != "POST" and method_id == "oauth.token":
            return _html(405, google_html_error(405, request.path))
        form = _form(request)
        if method_id == "oauth.revoke":
            token = form.get("token") or _one(request, "token")
            if not token:
                raise OAuthError(400, "invalid_request", "Missing required parameter: token")
            backend.oauth.revoke(token)
            return _json(200, {})
        answer = backend.oauth.token(
            form,
            basic=_basic(request),
            now=backend.now(),
            lifetime=backend.config.access_token_lifetime,
        )
        return _json(200, answer, _NO_STORE)
    except OAuthError as exc:
        headers = dict(_NO_STORE)
        if exc.status == 401 and method_id == "oauth.userinfo":
            headers["WWW-Authenticate"] = 'Bearer realm="https://accounts.google.com/"'
        return _json(exc.status, exc.body(), headers)


def _authorize(backend: Backend, request: Request) -> Response:
    if request.method == "GET":
        params = {k: v[-1] for k, v in request.query.items()}
    elif request.method == "POST":
        params = _form(request)
    else:
        return _html(405, google_html_error(405, request.path))
    oauth = backend.oauth
    try:
        checked = oauth.check_request(params)
    except PageError as exc:
        return _framed(_html(exc.status, error_page(exc.status, exc.error, exc.description)))
    if request.method == "GET":
        if "none" in checked.prompt:
            return _found(oauth.silent(checked, now=backend.now()))
        return _framed(_html(200, consent_page(checked, oauth.test_users())))
    action = params.get("action", "")
    if action not in ("allow", "deny"):
        return _framed(_html(400, error_page(400, "invalid_request", "Press Allow or Deny.")))
    email = params.get("user", "")
    if action == "allow" and not any(u.email == email for u in oauth.test_users()):
        return _framed(_html(400, error_page(400, "invalid_request", f"No test user {email!r}.")))
    # The checkboxes left checked (the identity scopes have none: they are always granted).
    checked_boxes = set(
        urllib.parse.parse_qs(request.body.decode("utf-8", "replace")).get("grant", [])
    )
    location = oauth.consent(
        checked,
        email=email,
        allow=action == "allow",
        now=backend.now(),
        scopes=[s for s in checked.scopes if s in checked_boxes],
    )
    return _found(location)


def _found(location: str) -> Response:
    response = _html(302, "<!DOCTYPE html><title>Moved</title>")
    response.headers["Location"] = location
    return response


def _framed(response: Response) -> Response:
    response.headers.update(FRAME_DENY)
    return response


def _form(request: Request) -> dict[str, str]:
    pairs = urllib.parse.parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True)
    return dict(pairs)


def _one(request: Request, name: str) -> str:
    values = request.query.get(name)
    return values[-1] if values else ""


def _bearer(request: Request) -> str | None:
    return request.token or _one(request, "access_token") or None


def _basic(request: Request) -> tuple[str, str] | None:
    """Client credentials sent with HTTP Basic (each part form-encoded, RFC 6749 2.3.1)."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, _, secret = decoded.partition(":")
    return urllib.parse.unquote_plus(client_id), urllib.parse.unquote_plus(secret)
