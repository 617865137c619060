"""The web-server sign-in for the picker scope, on google-auth-oauthlib's ``Flow``.

:meth:`WebSignIn.start` makes the authorization URL (a random ``state``, a PKCE S256
challenge, ``access_type=offline``, ``prompt=consent``, ``include_granted_scopes=true``) and a
:class:`PendingSignIn` to keep until the browser comes back; :meth:`WebSignIn.finish` checks
the answer against it, exchanges the code with the PKCE verifier, checks the picker scope was
granted, asks the userinfo endpoint who signed in and stores the token under their id.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import secrets
import uuid
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from picker_discovery._discovery import SCOPE
from picker_discovery._errorbase import (
    BadArgumentType,
    MalformedResponse,
    MissingExtra,
    PickerError,
)
from picker_discovery._errors_auth import AccessNotGranted, CredentialsFileError, SignInRequired
from picker_discovery._secrets import install_log_filter, scrub
from picker_discovery.web import _config, _endpoints
from picker_discovery.web._answers import (
    START_AGAIN,
    PendingSignIn,
    SignedInUser,
    callback_params,
    expiry,
    optional_str,
    scope_list,
)
from picker_discovery.web._credentials import StoredCredentials, load_info
from picker_discovery.web._store import TokenStore, check_user_id

__all__ = ["WebSignIn"]

logger = logging.getLogger(__name__)
install_log_filter()  # requests-oauthlib logs the code exchange at DEBUG


def _flow_class() -> Any:
    try:
        from google_auth_oauthlib.flow import Flow
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingExtra(
            "web sign-in needs google-auth-oauthlib: pip install 'picker-discovery[web]'"
        ) from exc
    return Flow


class WebSignIn:
    """Signs people in to a web app with Google for the picker scope and keeps their tokens.

    Args:
        client_config: Google's client secrets of a web client, ``{"web": {...}}`` (the JSON
            the Cloud console downloads, or ``Emulator.register_client``'s answer).
        redirect_uri: where the browser comes back with the code; one of the client's
            authorized redirect URIs (https, or http to loopback while developing).
        store: where tokens are kept, one per user (:class:`SQLiteTokenStore`).
        extra_scopes: asked for besides the picker scope, which is always asked for. The
            default identity scopes let :meth:`finish` know who signed in; without them a user's
            id is a random one, new at every sign-in.
        userinfo_uri, revoke_uri: Google's endpoints by default (the emulator's when the
            client's ``token_uri`` is a loopback one).
        allowed_hosts: more hosts (https) the endpoints may be on, beside Google's.

    Raises:
        BadArgument: a setting is unusable (the message names it); nothing was sent.
        MissingExtra: the ``web`` extra (google-auth-oauthlib) is not installed.
    """

    def __init__(
        self,
        client_config: Mapping[str, Any],
        *,
        redirect_uri: str,
        store: TokenStore,
        extra_scopes: Sequence[str] = ("openid", "email"),
        userinfo_uri: str | None = None,
        revoke_uri: str | None = None,
        allowed_hosts: Collection[str] = (),
    ) -> None:
        self._flow = _flow_class()
        self._settings = _config.settings(
            client_config,
            redirect_uri=redirect_uri,
            extra_scopes=extra_scopes,
            userinfo_uri=userinfo_uri,
            revoke_uri=revoke_uri,
            allowed_hosts=allowed_hosts,
        )
        for method in ("load", "save", "delete"):
            if not callable(getattr(store, method, None)):
                raise BadArgumentType(
                    f"store must have load, save and delete (a TokenStore); "
                    f"{type(store).__name__} has no {method}"
                )
        self._store = store

    @classmethod
    def from_client_secrets_file(cls, path: str | os.PathLike[str], **kwargs: Any) -> WebSignIn:
        """A sign-in with the client secrets JSON file at ``path``; other arguments as the class.

        Raises:
            CredentialsFileError: the file cannot be read or is not a web client's secrets.
        """
        try:
            with open(path, encoding="utf-8") as fh:
                config = json.load(fh)
        except (OSError, ValueError) as exc:
            raise CredentialsFileError(
                f"cannot read the client secrets file {os.fspath(path)} ({exc}); download the "
                "JSON of an OAuth client of type 'Web application' from the Google Cloud console"
            ) from None
        _config.web_client(
            config, f"the client secrets file {os.fspath(path)}", CredentialsFileError
        )
        return cls(config, **kwargs)

    @property
    def scopes(self) -> tuple[str, ...]:
        """The scopes asked for: the picker scope first."""
        return self._settings.scopes

    @property
    def redirect_uri(self) -> str:
        return self._settings.redirect_uri

    @property
    def store(self) -> TokenStore:
        return self._store

    def start(self, *, login_hint: str | None = None) -> tuple[str, PendingSignIn]:
        """The URL to send the person's browser to, and what :meth:`finish` will need.

        ``login_hint`` (an e-mail address) preselects the account on Google's page.
        """
        if login_hint is not None and not isinstance(login_hint, str):
            raise BadArgumentType(
                f"login_hint is an e-mail string, not {type(login_hint).__name__}"
            )
        flow = self._new_flow(state=secrets.token_urlsafe(32))
        extra = {"login_hint": login_hint} if login_hint else {}
        with _config.oauthlib_allows_loopback_http(self._settings.client["auth_uri"]):
            url, state = flow.authorization_url(
                access_type="offline",
                prompt="consent",
                include_granted_scopes="true",
                **extra,
            )
        return url, PendingSignIn(state=state, code_verifier=flow.code_verifier)

    def finish(self, request_url: str, pending: PendingSignIn) -> SignedInUser:
        """Complete the sign-in from the URL the browser came back to (the whole callback URL,
        as Flask's ``request.url``): check it, exchange the code, store the token.

        Raises:
            SignInRequired: the answer's ``state`` is missing or is not ``pending``'s (a forged
                or stale answer), it has no code, Google answered another error, or the code
                was refused (used already, expired, or the PKCE verifier does not match).
            AccessNotGranted: the person declined (``error=access_denied``), or did not grant
                the picker scope.
            BadArgument: ``request_url`` or ``pending`` is unusable; nothing was sent.
            PickerError: the token endpoint refused the client itself (``invalid_client``,
                ``redirect_uri_mismatch``): the message says what to check in the console.
            MalformedResponse: the token or userinfo endpoint answered without what it must.
            ConnectionError: the userinfo endpoint could not be reached (the token endpoint's
                failures come as requests' exceptions, scrubbed of secrets).
        """
        if not isinstance(pending, PendingSignIn):
            raise BadArgumentType(
                f"pending is the PendingSignIn start() gave, not {type(pending).__name__}"
            )
        answer = callback_params(request_url)
        state = answer.get("state")
        if state is None or not hmac.compare_digest(state.encode(), pending.state.encode()):
            raise SignInRequired(
                "the sign-in's answer does not carry the state this sign-in started with "
                f"({'none' if state is None else 'another'}): it is forged, stale or from "
                f"another browser tab; {START_AGAIN}"
            )
        error = answer.get("error")
        if error == "access_denied":
            raise AccessNotGranted(
                "the person declined to let the app see the photos they pick (access_denied); "
                "to pick photos, sign in again and choose Allow"
            )
        if error is not None:
            described = answer.get("error_description")
            raise SignInRequired(
                f"the sign-in ended with the error {error!r}"
                + (f" ({described})" if described else "")
                + f"; {START_AGAIN}"
            )
        code = answer.get("code")
        if not code:
            raise SignInRequired(f"the sign-in's answer carries no code; {START_AGAIN}")
        token = self._exchange(code, pending)
        return self._signed_in(token)

    def credentials(self, user_id: str) -> StoredCredentials:
        """The stored credentials of ``user_id``, which refresh themselves and update the store.

        Raises:
            SignInRequired: nobody is signed in as ``user_id`` (or the stored token was
                unreadable, or issued to another OAuth client: it is deleted).
        """
        check_user_id(user_id)
        info = load_info(self._store, user_id)
        client = self._settings.client
        try:
            if info.get("client_id", client["client_id"]) != client["client_id"]:
                raise ValueError("it was issued to another OAuth client")
            credentials = StoredCredentials(
                optional_str(info, "token"),
                refresh_token=optional_str(info, "refresh_token"),
                token_uri=client["token_uri"],
                client_id=client["client_id"],
                client_secret=client["client_secret"],
                scopes=scope_list(info.get("scopes")),
                expiry=expiry(info.get("expiry")),
                account=optional_str(info, "account") or "",
                store=self._store,
                user_id=user_id,
            )
        except (TypeError, ValueError) as exc:
            self._store.delete(user_id)
            raise SignInRequired(
                f"the stored token of user {user_id!r} cannot be used ({exc}) and was deleted; "
                "send them through the sign-in again"
            ) from None
        return credentials

    def sign_out(self, user_id: str, *, revoke: bool = True) -> bool:
        """Forget ``user_id``'s token and, with ``revoke``, revoke the grant at Google (the
        refresh token and its access tokens stop working). Returns whether a token was stored.

        The row is deleted even when revoking fails.

        Raises:
            PickerError: the revocation endpoint refused (other than for a token already
                revoked): the person can remove the app's access in their Google Account.
            ConnectionError: the revocation endpoint could not be reached.
        """
        check_user_id(user_id)
        try:
            info = self._store.load(user_id)
        except CredentialsFileError:
            info = None  # unreadable: nothing to revoke, the row goes
        try:
            token = None if info is None else (info.get("refresh_token") or info.get("token"))
            if revoke and isinstance(token, str) and token:
                _endpoints.revoke(self._settings.revoke_uri, token)
        finally:
            existed = self._store.delete(user_id)
        return existed

    # -- the steps ---------------------------------------------------------------------------

    def _new_flow(self, **kwargs: Any) -> Any:
        return self._flow.from_client_config(
            {"web": self._settings.client},
            scopes=list(self._settings.scopes),
            redirect_uri=self._settings.redirect_uri,
            **kwargs,
        )

    def _exchange(self, code: str, pending: PendingSignIn) -> dict[str, Any]:
        """The token endpoint's answer for ``code``, sent with the PKCE verifier."""
        from oauthlib.oauth2.rfc6749.errors import OAuth2Error

        flow = self._new_flow(
            state=pending.state,
            code_verifier=pending.code_verifier,
            autogenerate_code_verifier=False,
        )
        token_uri = self._settings.client["token_uri"]
        hidden = (code, pending.code_verifier, self._settings.client["client_secret"])
        try:
            with _config.oauthlib_allows_loopback_http(token_uri), _config.oauthlib_quiet():
                token = flow.fetch_token(code=code, timeout=_endpoints.TIMEOUT)
            logger.debug("exchanged a sign-in's code at %s", token_uri)
        except Warning as changed:
            # oauthlib raises when the scopes granted differ from those asked (fewer boxes
            # ticked, or more from include_granted_scopes); the answer rides on the warning.
            answer = getattr(changed, "token", None)
            token = dict(answer) if isinstance(answer, dict) else None  # scrub edits it in place
            scrub(changed, hidden)
            if token is None:
                raise
        except OAuth2Error as exc:
            scrub(exc, hidden)
            if exc.error == "invalid_grant":
                raise SignInRequired(
                    f"the token endpoint refused the sign-in's code ({exc.description}): it "
                    f"was used already, has expired, or the PKCE verifier does not match; "
                    f"{START_AGAIN}"
                ) from exc
            raise PickerError(
                f"the token endpoint {token_uri} refused the code exchange ({exc.error}: "
                f"{exc.description}); check the client's id, secret and authorized redirect "
                "URIs in the Google Cloud console"
            ) from exc
        except Exception as exc:
            scrub(exc, hidden)
            raise
        return dict(token)

    def _signed_in(self, token: dict[str, Any]) -> SignedInUser:
        access = token.get("access_token")
        if not isinstance(access, str) or not access:
            raise MalformedResponse("the token endpoint answered without an access_token")
        granted = scope_list(token.get("scope")) or list(self._settings.scopes)
        if SCOPE not in granted:
            raise AccessNotGranted(
                f"the sign-in did not grant {SCOPE} (granted: {' '.join(granted) or 'nothing'}); "
                "sign in again and allow access to the photos you pick"
            )
        refresh = token.get("refresh_token")
        if not isinstance(refresh, str) or not refresh:
            refresh = None
            logger.warning(
                "the sign-in gave no refresh token: the user must sign in again when the "
                "access token expires"
            )
        expires_in = token.get("expires_in")
        expiry = None
        if isinstance(expires_in, (int, float, str)) and str(expires_in).isdigit():
            expiry = datetime.now(timezone.utc).replace(tzinfo=None) + timedelta(
                seconds=int(expires_in)
            )
        userinfo_uri = self._settings.userinfo_uri
        identity = (
            _endpoints.userinfo(userinfo_uri, access)
            if userinfo_uri is not None and _config.IDENTITY_SCOPES & set(granted)
            else {}
        )
        user_id = identity.get("sub") or f"anonymous-{uuid.uuid4().hex}"
        client = self._settings.client
        credentials = StoredCredentials(
            access,
            refresh_token=refresh,
            token_uri=client["token_uri"],
            client_id=client["client_id"],
            client_secret=client["client_secret"],
            scopes=granted,
            granted_scopes=granted,
            expiry=expiry,
            account=identity.get("email") or "",
            store=self._store,
            user_id=user_id,
        )
        self._store.save(user_id, credentials.authorized_user_info())
        logger.info("signed in user %r", user_id)
        return SignedInUser(
            id=user_id,
            email=identity.get("email"),
            name=identity.get("name"),
            scopes=tuple(granted),
            credentials=credentials,
        )
