"""The emulator's OAuth 2.0, over the in-process App: the authorization endpoint and its
consent page, the token endpoint's grants and Google's error bodies, revocation, userinfo, the
strict mode's 401 and the attempt log that never shows a secret."""

from __future__ import annotations

import base64
import hashlib
import json
import urllib.parse
from typing import Any

import pytest

from picker_discovery._discovery import SCOPE
from picker_discovery.testing import Backend
from picker_discovery.testing.app import App, Request, Response

REDIRECT = "http://app.test/oauth2callback"
VERIFIER = "v" * 43 + "-verifier"
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=")
STRICT_401 = {
    "error": {
        "code": 401,
        "message": "Request had invalid authentication credentials. Expected OAuth 2 access "
        "token, login cookie or other valid authentication credential. See "
        "https://developers.google.com/identity/sign-in/web/devconsole-project.",
        "status": "UNAUTHENTICATED",
    }
}


class World:
    """An App, its backend and one registered web client."""

    def __init__(self, **settings: Any) -> None:
        self.backend = Backend(**settings)
        self.app = App(self.backend)
        config = self.backend.oauth.register_client(
            "web-1.apps.googleusercontent.com", "s3cret", redirect_uris=[REDIRECT]
        ).config(self.backend.config.api_root)["web"]
        self.client_id, self.secret = config["client_id"], config["client_secret"]

    def call(
        self,
        method: str,
        target: str,
        form: dict[str, str] | list[tuple[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        origin: str = "api",
    ) -> Response:
        body = urllib.parse.urlencode(form).encode() if form is not None else b""
        sent = {"content-type": "application/x-www-form-urlencoded", **(headers or {})}
        return self.app.handle(Request(method, target, sent, body, origin))

    def auth_params(self, **extra: str) -> dict[str, str]:
        params = {
            "client_id": self.client_id,
            "redirect_uri": REDIRECT,
            "response_type": "code",
            "scope": f"openid email {SCOPE}",
            "state": "xyz-state",
            "code_challenge": CHALLENGE.decode(),
            "code_challenge_method": "S256",
            "access_type": "offline",
        }
        params.update(extra)
        return {k: v for k, v in params.items() if v != ""}

    def consent(
        self,
        user: str = "alice@example.com",
        action: str = "allow",
        grant: tuple[str, ...] = (SCOPE,),
        **extra: str,
    ) -> dict[str, str]:
        """Press a button of the consent page; the redirect's query parameters."""
        form = [*self.auth_params(**extra).items(), ("user", user), ("action", action)]
        form += [("grant", s) for s in grant]
        answer = self.call("POST", "/o/oauth2/v2/auth", form)
        assert answer.status == 302, answer.body
        location = answer.headers["Location"]
        assert location.startswith(REDIRECT + "?")
        return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))

    def exchange(self, code: str, **extra: str) -> Response:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": self.client_id,
            "client_secret": self.secret,
            "code_verifier": VERIFIER,
            **extra,
        }
        return self.call("POST", "/token", {k: v for k, v in form.items() if v != ""})

    def tokens(self, user: str = "alice@example.com", **extra: str) -> dict[str, Any]:
        answer = self.exchange(self.consent(user, "allow", (SCOPE,), **extra)["code"])
        assert answer.status == 200, answer.body
        body: dict[str, Any] = json.loads(answer.body)
        return body

    def refresh(self, refresh_token: str) -> Response:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": self.client_id,
            "client_secret": self.secret,
        }
        return self.call("POST", "/token", form)

    def api(self, token: str, method: str = "POST", target: str = "/v1/sessions") -> Response:
        return self.call(method, target, headers={"authorization": f"Bearer {token}"})


def error_of(answer: Response) -> tuple[int, dict[str, Any]]:
    return answer.status, json.loads(answer.body)


@pytest.fixture
def world() -> World:
    return World()


# -- the authorization endpoint -----------------------------------------------------------------


def test_the_consent_page_offers_the_test_users_and_the_scopes(world: World) -> None:
    query = urllib.parse.urlencode(world.auth_params(login_hint="bob@example.com"))
    page = world.call("GET", f"/o/oauth2/v2/auth?{query}")
    text = page.body.decode()
    assert page.status == 200
    assert 'value="alice@example.com">' in text and 'value="bob@example.com" checked>' in text
    assert f'name=grant value="{SCOPE}" checked' in text
    assert 'name=grant value="openid"' not in text  # identity scopes have no checkbox
    assert "id=allow" in text and "id=deny" in text
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Content-Security-Policy"] == "frame-ancestors 'none'"


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        ({"client_id": "nobody.apps.googleusercontent.com"}, 401, "invalid_client"),
        ({"redirect_uri": "http://evil.test/cb"}, 400, "redirect_uri_mismatch"),
        ({"code_challenge_method": "plain"}, 400, "invalid_request"),
        ({"scope": ""}, 400, "invalid_request"),
        ({"response_type": "token"}, 400, "unsupported_response_type"),
    ],
)
def test_a_bad_authorization_request_gets_an_error_page_never_a_redirect(
    world: World, change: dict[str, str], status: int, error: str
) -> None:
    query = urllib.parse.urlencode(world.auth_params(**change))
    for answer in (
        world.call("GET", f"/o/oauth2/v2/auth?{query}"),
        world.call(
            "POST",
            "/o/oauth2/v2/auth",
            {**world.auth_params(**change), "user": "alice@example.com", "action": "allow"},
        ),
    ):
        assert answer.status == status
        assert "Location" not in answer.headers
        assert f"Error {status}: {error}" in answer.body.decode()


def test_allow_redirects_with_a_code_the_granted_scopes_and_the_state(world: World) -> None:
    back = world.consent()
    assert back["state"] == "xyz-state"
    assert back["code"].startswith("4/")
    assert set(back["scope"].split()) == {"openid", "email", SCOPE}


def test_deny_redirects_with_access_denied_and_the_state(world: World) -> None:
    assert world.consent(action="deny") == {"error": "access_denied", "state": "xyz-state"}


def test_unchecking_the_picker_scope_grants_less_and_the_api_refuses(world: World) -> None:
    back = world.consent(grant=())
    assert set(back["scope"].split()) == {"openid", "email"}
    token = json.loads(world.exchange(back["code"]).body)["access_token"]
    assert error_of(world.api(token)) == (
        403,
        {
            "error": {
                "code": 403,
                "message": "Request had insufficient authentication scopes.",
                "status": "PERMISSION_DENIED",
            }
        },
    )


def test_include_granted_scopes_adds_what_the_user_granted_before(world: World) -> None:
    world.consent(scope=f"openid {SCOPE}")
    later = world.consent(scope="email", include_granted_scopes="true", grant=())
    assert set(later["scope"].split()) == {"openid", "email", SCOPE}
    alone = world.consent(scope="email", grant=())
    assert alone["scope"] == "email"


def test_a_refresh_token_comes_on_first_consent_or_with_prompt_consent(world: World) -> None:
    assert "refresh_token" in world.tokens()
    assert "refresh_token" not in world.tokens()
    assert "refresh_token" in world.tokens(prompt="consent")
    assert "refresh_token" not in World().tokens(access_type="online")


def test_prompt_none_answers_at_once(world: World) -> None:
    query = urllib.parse.urlencode(world.auth_params(prompt="none"))
    first = world.call("GET", f"/o/oauth2/v2/auth?{query}")
    assert "error=interaction_required" in first.headers["Location"]
    world.consent()
    again = world.call("GET", f"/o/oauth2/v2/auth?{query}")
    assert "code=" in again.headers["Location"]


# -- the token endpoint -------------------------------------------------------------------------


def test_the_code_exchange_answers_google_s_token_response(world: World) -> None:
    answer = world.exchange(world.consent()["code"])
    body = json.loads(answer.body)
    assert answer.status == 200
    assert answer.headers["Cache-Control"].startswith("no-cache, no-store")
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert set(body["scope"].split()) == {"openid", "email", SCOPE}
    assert body["access_token"].startswith("ya29.") and body["refresh_token"].startswith("1//")
    assert body["id_token"].count(".") == 2
    # The token is alice's: the backend keys her by email.
    session = json.loads(world.api(body["access_token"]).body)
    assert [s.id for s in world.backend.sessions("alice@example.com")] == [session["id"]]


def bad_request(description: str = "Bad Request") -> tuple[int, dict[str, str]]:
    return 400, {"error": "invalid_grant", "error_description": description}


def test_the_token_endpoint_s_error_bodies_are_google_s(world: World) -> None:
    code = world.consent()["code"]
    assert error_of(world.exchange(code, code_verifier="")) == bad_request("Missing code verifier.")
    code = world.consent()["code"]
    assert error_of(world.exchange(code, code_verifier="x" * 43)) == bad_request(
        "Invalid code verifier."
    )
    code = world.consent()["code"]
    assert error_of(world.exchange(code, redirect_uri="http://app.test/other")) == (
        400,
        {"error": "redirect_uri_mismatch", "error_description": "Bad Request"},
    )
    assert error_of(world.exchange("4/never-issued")) == bad_request()
    assert error_of(world.exchange("")) == (
        400,
        {"error": "invalid_request", "error_description": "Missing required parameter: code"},
    )
    assert error_of(world.exchange("x", client_id="nobody")) == (
        401,
        {"error": "invalid_client", "error_description": "The OAuth client was not found."},
    )
    assert error_of(world.exchange("x", client_secret="wrong")) == (
        401,
        {"error": "invalid_client", "error_description": "Unauthorized"},
    )
    assert error_of(world.exchange("x", grant_type="password")) == (
        400,
        {"error": "unsupported_grant_type", "error_description": "Invalid grant_type: password"},
    )
    assert error_of(world.refresh("1//never-issued")) == bad_request(
        "Token has been expired or revoked."
    )
    assert error_of(world.exchange("x", client_secret="")) == (
        400,
        {"error": "invalid_request", "error_description": "client_secret is missing."},
    )
    assert error_of(world.exchange("x", redirect_uri="")) == bad_request()  # the code first
    code = world.consent()["code"]
    assert error_of(world.exchange(code, redirect_uri="")) == (
        400,
        {
            "error": "invalid_request",
            "error_description": "Missing required parameter: redirect_uri",
        },
    )
    assert error_of(world.refresh("")) == (
        400,
        {
            "error": "invalid_request",
            "error_description": "Missing required parameter: refresh_token",
        },
    )


def test_a_code_is_single_use_and_expires_after_ten_minutes(world: World) -> None:
    code = world.consent()["code"]
    assert world.exchange(code).status == 200
    assert error_of(world.exchange(code)) == bad_request()
    late = world.consent()["code"]
    world.backend.advance(601)
    assert error_of(world.exchange(late)) == bad_request()


def test_client_credentials_may_come_as_http_basic(world: World) -> None:
    code = world.consent()["code"]
    basic = base64.b64encode(f"{world.client_id}:{world.secret}".encode()).decode()
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": VERIFIER,
    }
    answer = world.call("POST", "/token", form, {"authorization": f"Basic {basic}"})
    assert answer.status == 200


def test_a_refresh_grant_gives_a_new_access_token_for_the_same_grant(world: World) -> None:
    tokens = world.tokens()
    answer = world.refresh(tokens["refresh_token"])
    body = json.loads(answer.body)
    assert answer.status == 200 and "refresh_token" not in body
    assert body["access_token"] != tokens["access_token"]
    assert set(body["scope"].split()) == {"openid", "email", SCOPE}
    assert world.api(body["access_token"]).status == 200


# -- revocation, userinfo, the strict mode ------------------------------------------------------


def test_revoking_kills_the_access_and_the_refresh_token() -> None:
    world = World(auth="strict")
    tokens = world.tokens()
    assert world.api(tokens["access_token"]).status == 200
    revoked = world.call("POST", "/revoke", {"token": tokens["refresh_token"]})
    assert (revoked.status, json.loads(revoked.body)) == (200, {})
    assert error_of(world.api(tokens["access_token"])) == (401, STRICT_401)
    assert error_of(world.refresh(tokens["refresh_token"])) == bad_request(
        "Token has been expired or revoked."
    )
    again = world.call("POST", f"/revoke?token={tokens['access_token']}")
    assert error_of(again) == (
        400,
        {"error": "invalid_token", "error_description": "Token expired or revoked"},
    )


def test_userinfo_names_the_user_of_the_token(world: World) -> None:
    token = world.tokens(user="bob@example.com")["access_token"]
    answer = world.call("GET", "/oauth2/v3/userinfo", headers={"authorization": f"Bearer {token}"})
    body = json.loads(answer.body)
    assert body["email"] == "bob@example.com" and body["email_verified"] is True
    assert body["name"] == "Bob Example" and body["sub"].isdigit()
    bad = world.call("GET", "/oauth2/v3/userinfo", headers={"authorization": "Bearer nope"})
    assert bad.status == 401 and "WWW-Authenticate" in bad.headers


def test_strict_mode_answers_google_s_401_to_unknown_and_expired_tokens() -> None:
    world = World(auth="strict", access_token_lifetime="60s")
    unknown = world.api("made-up-token")
    assert error_of(unknown) == (401, STRICT_401)
    assert unknown.headers["WWW-Authenticate"] == (
        'Bearer realm="https://accounts.google.com/", error="invalid_token"'
    )
    token = world.tokens()["access_token"]
    assert world.api(token).status == 200
    world.backend.advance(59)
    assert world.api(token).status == 200
    world.backend.advance(1)
    assert error_of(world.api(token)) == (401, STRICT_401)


def test_strict_mode_guards_the_media_origin_too() -> None:
    world = World(auth="strict")
    token = world.tokens()["access_token"]
    session = json.loads(world.api(token).body)
    world.backend.pick(session["id"], first=1)
    listed = world.api(token, "GET", f"/v1/mediaItems?sessionId={session['id']}")
    path = urllib.parse.urlsplit(json.loads(listed.body)["mediaItems"][0]["mediaFile"]["baseUrl"])
    auth = {"authorization": f"Bearer {token}"}
    assert world.call("GET", path.path + "=d", headers=auth, origin="media").status == 200
    world.call("POST", "/revoke", {"token": token})
    answer = world.call("GET", path.path + "=d", headers=auth, origin="media")
    assert error_of(answer) == (401, STRICT_401)
    assert "WWW-Authenticate" in answer.headers


def test_open_mode_still_takes_any_token_and_an_expired_oauth_one() -> None:
    world = World(access_token_lifetime=60)
    assert world.api("anything").status == 200
    token = world.tokens()["access_token"]
    world.backend.advance(3600)
    assert world.api(token).status == 200
    assert len(world.backend.sessions("alice@example.com")) == 1


# -- faults, the attempt log, the control API ---------------------------------------------------


def test_the_token_endpoint_takes_scripted_faults(world: World) -> None:
    world.backend.set_faults("oauth.token", [503, {"body": "<p>oops</p>", "status": 400}])
    code = world.consent()["code"]
    assert world.exchange(code).status == 503
    assert world.exchange(code).body == b"<p>oops</p>"
    assert world.exchange(code).status == 200  # the script is spent; the code still unused


def test_the_attempt_log_never_holds_a_code_a_token_or_a_secret(world: World) -> None:
    tokens = world.tokens()
    world.refresh(tokens["refresh_token"])
    world.call("POST", f"/revoke?token={tokens['access_token']}")
    logged = json.dumps([a.to_json() for a in world.backend.attempts()])
    methods = [a.method for a in world.backend.attempts()]
    assert methods == ["oauth.authorize", "oauth.token", "oauth.token", "oauth.revoke"]
    for secret in (tokens["access_token"], tokens["refresh_token"], world.secret, VERIFIER):
        assert secret not in logged
    assert "/revoke?token=REDACTED" in logged


def test_clients_and_test_users_are_registered_over_the_control_api(world: World) -> None:
    answer = world.call(
        "POST",
        "/_control/clients",
        headers={"content-type": "application/json"},
    )
    assert answer.status == 200
    body = json.dumps({"redirect_uris": ["http://localhost:5000/cb"], "client_id": "c-2"})
    made = world.app.handle(
        Request("POST", "/_control/clients", {"content-type": "application/json"}, body.encode())
    )
    config = json.loads(made.body)["web"]
    assert config["client_id"] == "c-2" and config["redirect_uris"] == ["http://localhost:5000/cb"]
    assert config["token_uri"] == "https://photospicker.googleapis.com/token"
    assert world.backend.oauth.client("c-2") is not None
    user = json.dumps({"email": "carol@example.com", "name": "Carol"}).encode()
    assert (
        world.app.handle(
            Request("POST", "/_control/users", {"x-emulator-control": "1"}, user)
        ).status
        == 200
    )
    query = urllib.parse.urlencode(world.auth_params())
    assert "carol@example.com" in world.call("GET", f"/o/oauth2/v2/auth?{query}").body.decode()
