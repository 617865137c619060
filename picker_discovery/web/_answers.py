"""What a sign-in hands out and takes back: the pending sign-in kept between the two steps,
the signed-in user, the callback's parameters, and the fields of a stored token."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from picker_discovery._errorbase import BadArgument, BadArgumentType
from picker_discovery._errors_auth import SignInRequired
from picker_discovery.web._credentials import StoredCredentials

__all__ = [
    "START_AGAIN",
    "PendingSignIn",
    "SignedInUser",
    "callback_params",
    "expiry",
    "optional_str",
    "scope_list",
]

START_AGAIN = "start the sign-in again"
_VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")
_STATE = re.compile(r"[!-~]{16,512}")


@dataclass(frozen=True)
class PendingSignIn:
    """What :meth:`WebSignIn.finish` needs from :meth:`WebSignIn.start`: the ``state`` and the
    PKCE ``code_verifier``. Keep it on the server (or in a signed, private cookie) until the
    browser comes back; never put it in a URL. ``to_dict``/``from_dict`` make it JSON-ready."""

    state: str
    code_verifier: str = field(repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.state, str) or not _STATE.fullmatch(self.state):
            raise BadArgument("a pending sign-in's state is 16 to 512 printable characters")
        if not isinstance(self.code_verifier, str) or not _VERIFIER.fullmatch(self.code_verifier):
            raise BadArgument(
                "a pending sign-in's code_verifier is 43 to 128 characters of A-Z a-z 0-9 . _ ~ -"
            )

    def to_dict(self) -> dict[str, str]:
        return {"state": self.state, "code_verifier": self.code_verifier}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PendingSignIn:
        """The pending sign-in ``to_dict`` gave.

        Raises:
            BadArgument: ``data`` is not what ``to_dict`` gives (a ``ValueError``).
        """
        if not isinstance(data, Mapping):
            raise BadArgumentType(f"a pending sign-in is a mapping, not {type(data).__name__}")
        return cls(state=data.get("state"), code_verifier=data.get("code_verifier"))  # type: ignore[arg-type]


@dataclass(frozen=True)
class SignedInUser:
    """Who signed in: ``id`` (the key of their token in the store: the account's stable
    OpenID ``sub``), ``email`` and ``name`` (when the identity scopes were granted), the
    ``scopes`` granted, and their ``credentials``."""

    id: str
    email: str | None
    name: str | None
    scopes: tuple[str, ...]
    credentials: StoredCredentials = field(repr=False, compare=False)


def callback_params(request_url: object) -> dict[str, str]:
    if not isinstance(request_url, str):
        raise BadArgumentType(
            f"request_url is the callback URL string, not {type(request_url).__name__}"
        )
    query = urllib.parse.urlsplit(request_url).query
    found: dict[str, str] = {}
    for key, value in urllib.parse.parse_qsl(query, keep_blank_values=True):
        if key in found:
            raise SignInRequired(
                f"the sign-in's answer carries {key!r} twice, which no real answer does; "
                f"{START_AGAIN}"
            )
        found[key] = value
    return found


def optional_str(info: Mapping[str, Any], key: str) -> str | None:
    value = info.get(key)
    if value is not None and not isinstance(value, str):
        raise TypeError(f"its {key} is not a string")
    return value


def scope_list(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return value.split()
    if isinstance(value, (list, tuple)) and all(isinstance(s, str) for s in value):
        return list(value)
    raise TypeError("its scopes are not a list of strings")


def expiry(value: object) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError("its expiry is not a string")
    moment = datetime.fromisoformat(value.removesuffix("Z"))
    return (
        moment.replace(tzinfo=None)
        if moment.tzinfo is None
        else moment.astimezone(timezone.utc).replace(tzinfo=None)
    )
