"""The two plain HTTP calls of a sign-in: asking the userinfo endpoint who holds a new token,
and revoking a grant. Both URLs were checked when the sign-in was made."""

from __future__ import annotations

import logging

import requests

from picker_discovery._errorbase import MalformedResponse, PickerError
from picker_discovery._errors_auth import SignInRequired
from picker_discovery._secrets import scrub
from picker_discovery.web._answers import START_AGAIN

__all__ = ["revoke", "userinfo"]

logger = logging.getLogger(__name__)

TIMEOUT = 30.0


def userinfo(uri: str, access_token: str) -> dict[str, str]:
    """Who holds ``access_token``: ``sub``, and ``email`` and ``name`` when given."""
    try:
        answer = requests.get(
            uri,
            headers={"Authorization": f"Bearer {access_token}"},
            timeout=TIMEOUT,
            allow_redirects=False,
        )
    except requests.RequestException as exc:
        scrub(exc, (access_token,))
        raise ConnectionError(f"could not ask {uri} who signed in: {exc}") from exc
    if answer.status_code != 200:
        raise SignInRequired(
            f"the userinfo endpoint {uri} answered HTTP {answer.status_code} to the new "
            f"token; {START_AGAIN}"
        )
    try:
        data = answer.json()
    except ValueError:
        data = None
    sub = data.get("sub") if isinstance(data, dict) else None
    if not isinstance(sub, str) or not sub:
        raise MalformedResponse(f"the userinfo endpoint {uri} answered without a 'sub'")
    assert isinstance(data, dict)
    found = {"sub": sub}
    for key in ("email", "name"):
        if isinstance(data.get(key), str) and data[key]:
            found[key] = data[key]
    return found


def revoke(uri: str, token: str) -> None:
    try:
        answer = requests.post(uri, data={"token": token}, timeout=TIMEOUT, allow_redirects=False)
    except requests.RequestException as exc:
        scrub(exc, (token,))
        raise ConnectionError(
            f"could not reach {uri} to revoke the grant ({exc}); the token was deleted, "
            "and the person can remove the app's access in their Google Account"
        ) from exc
    if answer.status_code == 200:
        logger.info("revoked a grant at %s", uri)
        return
    try:
        error = answer.json().get("error")
    except (ValueError, AttributeError):
        error = None
    if answer.status_code == 400 and error == "invalid_token":
        logger.info("the grant was revoked already")
        return
    raise PickerError(
        f"the revocation endpoint {uri} answered HTTP {answer.status_code}"
        + (f" ({error})" if isinstance(error, str) else "")
        + "; the token was deleted, and the person can remove the app's access in their "
        "Google Account"
    )
