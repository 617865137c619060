"""The emulator's OAuth 2.0 and CORS over real HTTP, as google-auth, google-auth-oauthlib,
googleapiclient and a browser's preflight meet them: a code exchanged by ``Flow``, access
tokens that expire on the emulator's clock and refresh, a revoked grant, the strict mode's
401 as the client's error class, the control API's client registration, CORS and framing."""

from __future__ import annotations

import http.client
import json
import urllib.parse
from collections.abc import Iterator
from typing import Any

import google.auth.credentials
import google.auth.exceptions
import google.auth.transport.requests
import google.oauth2.credentials
import pytest
from google_auth_oauthlib.flow import Flow

from picker_discovery import PickerClient, build
from picker_discovery._discovery import SCOPE
from picker_discovery.errors import Unauthenticated
from picker_discovery.testing import Emulator

pytestmark = pytest.mark.usefixtures("no_proxy")

REDIRECT = "http://127.0.0.1:8765/oauth2callback"
APP_ORIGIN = "http://app.test:5000"
STRICT_401 = {
    "error": {
        "code": 401,
        "message": "Request had invalid authentication credentials. Expected OAuth 2 access "
        "token, login cookie or other valid authentication credential. See "
        "https://developers.google.com/identity/sign-in/web/devconsole-project.",
        "status": "UNAUTHENTICATED",
    }
}


@pytest.fixture
def strict(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the emulator's endpoints are http
    with Emulator(auth="strict", access_token_lifetime="600s") as running:
        yield running


def signed_in(emu: Emulator, **consent: Any) -> google.oauth2.credentials.Credentials:
    """Credentials from the web-server flow: Flow's URL, the consent button, the exchange."""
    config = emu.register_client(redirect_uris=[REDIRECT])
    flow = Flow.from_client_config(
        config, scopes=[SCOPE], redirect_uri=REDIRECT, autogenerate_code_verifier=True
    )
    url, state = flow.authorization_url(access_type="offline", prompt="consent")
    back = emu.authorize(url, **consent)
    assert dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(back).query))["state"] == state
    flow.fetch_token(authorization_response=back)
    credentials = flow.credentials
    assert isinstance(credentials, google.oauth2.credentials.Credentials)
    return credentials


def client_for(emu: Emulator, credentials: Any) -> PickerClient:
    return PickerClient(credentials=credentials, client_options={"api_endpoint": emu.url})


def test_credentials_refresh_at_the_emulator_when_the_clock_expires_them(strict: Emulator) -> None:
    credentials = signed_in(strict)
    client = client_for(strict, credentials)
    session = client.create_session()
    first = credentials.token
    assert [s.id for s in strict.backend.sessions("alice@example.com")] == [session.id]
    exchanges = len(strict.attempts("oauth.token"))
    strict.advance(601)  # the token is dead for the emulator; google-auth still trusts it
    assert client.get_session(session).id == session.id
    assert credentials.token != first
    assert len(strict.attempts("oauth.token")) == exchanges + 1
    calls = [(a.method, a.authorized) for a in strict.attempts() if a.method == "sessions.get"]
    assert len(calls) == 2  # a 401, then the same call with the new token


def test_plain_googleapiclient_refreshes_through_build(strict: Emulator) -> None:
    credentials = signed_in(strict)
    service = build(credentials=credentials, client_options={"api_endpoint": strict.url})
    created = service.sessions().create(body={}).execute()
    strict.advance(3600)
    assert service.sessions().get(sessionId=created["id"]).execute()["id"] == created["id"]


def test_a_revoked_grant_stops_access_and_refresh(strict: Emulator) -> None:
    credentials = signed_in(strict)
    client = client_for(strict, credentials)
    client.create_session()
    form = urllib.parse.urlencode({"token": credentials.refresh_token}).encode()
    answer = post(strict, "/revoke", form, {"Content-Type": "application/x-www-form-urlencoded"})
    assert (answer.status, json.loads(answer.read())) == (200, {})
    with pytest.raises(google.auth.exceptions.RefreshError, match="invalid_grant"):
        credentials.refresh(google.auth.transport.requests.Request())
    with pytest.raises(google.auth.exceptions.RefreshError, match="invalid_grant"):
        client.create_session()  # the 401 makes google-auth refresh, which is refused


class StaticToken(google.auth.credentials.Credentials):
    """A token from elsewhere, with nothing to refresh it by (google-auth still tries)."""

    def __init__(self, token: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.token = token

    def refresh(self, request: Any) -> None:
        pass


def test_the_strict_401_reaches_the_caller_as_unauthenticated(strict: Emulator) -> None:
    client = client_for(strict, StaticToken("not-issued-here"))
    with pytest.raises(Unauthenticated) as caught:
        client.create_session()
    assert caught.value.status_code == 401
    assert json.loads(caught.value.content) == STRICT_401
    answer = post(strict, "/v1/sessions", b"{}", {"Authorization": "Bearer not-issued-here"})
    assert answer.getheader("WWW-Authenticate") == (
        'Bearer realm="https://accounts.google.com/", error="invalid_token"'
    )


def test_a_client_registered_over_the_control_api_signs_in(strict: Emulator) -> None:
    body = json.dumps({"client_id": "ctl.apps.googleusercontent.com", "redirect_uris": [REDIRECT]})
    answer = post(strict, "/_control/clients", body.encode(), {"Content-Type": "application/json"})
    config = json.loads(answer.read())
    assert config["web"]["token_uri"] == strict.token_uri
    assert config["web"]["auth_uri"] == strict.auth_uri
    flow = Flow.from_client_config(config, scopes=[SCOPE], redirect_uri=REDIRECT)
    url, _ = flow.authorization_url()
    flow.fetch_token(authorization_response=strict.authorize(url, user="bob@example.com"))
    assert client_for(strict, flow.credentials).create_session().id
    assert len(strict.backend.sessions("bob@example.com")) == 1


def test_denied_consent_and_a_bad_request(strict: Emulator) -> None:
    config = strict.register_client(redirect_uris=[REDIRECT])
    flow = Flow.from_client_config(config, scopes=[SCOPE], redirect_uri=REDIRECT)
    url, state = flow.authorization_url()
    back = urllib.parse.parse_qs(urllib.parse.urlsplit(strict.authorize(url, allow=False)).query)
    assert back == {"error": ["access_denied"], "state": [state]}
    wrong = url.replace(urllib.parse.quote(REDIRECT, safe=""), "http%3A%2F%2Fevil.test%2F")
    with pytest.raises(ValueError, match="Error 400: redirect_uri_mismatch"):
        strict.authorize(wrong)


# -- CORS and framing ---------------------------------------------------------------------------


def post(
    emu: Emulator, path: str, body: bytes, headers: dict[str, str] | None = None
) -> http.client.HTTPResponse:
    return request(emu, "POST", path, body, headers)


def request(
    emu: Emulator,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=10)
    conn.request(method, path, body=body, headers=headers or {})
    answer = conn.getresponse()
    data = answer.read()
    conn.close()
    answer.read = lambda *args: data  # type: ignore[method-assign]
    return answer


def test_a_preflight_is_answered_as_google_does(emu: Emulator) -> None:
    answer = request(
        emu,
        "OPTIONS",
        "/v1/sessions",
        headers={
            "Origin": APP_ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type",
        },
    )
    assert answer.status == 200
    assert answer.getheader("Access-Control-Allow-Origin") == APP_ORIGIN
    assert "POST" in (answer.getheader("Access-Control-Allow-Methods") or "").split(",")
    assert answer.getheader("Access-Control-Allow-Headers") == "authorization,content-type"
    assert int(answer.getheader("Access-Control-Max-Age") or 0) > 0
    assert answer.getheader("Vary") == "Origin"
    assert [a.http_method for a in emu.attempts("preflight")] == ["OPTIONS"]
    assert emu.attempts("sessions.create") == []  # nothing was created by the preflight


def test_actual_answers_carry_the_origin_errors_too(emu: Emulator) -> None:
    made = post(emu, "/v1/sessions", b"{}", {"Origin": APP_ORIGIN, "Authorization": "Bearer u"})
    assert made.status == 200 and made.getheader("Access-Control-Allow-Origin") == APP_ORIGIN
    missing = request(
        emu, "GET", "/v1/sessions/nope", headers={"Origin": APP_ORIGIN, "Authorization": "Bearer u"}
    )
    assert missing.status == 404
    assert missing.getheader("Access-Control-Allow-Origin") == APP_ORIGIN
    plain = post(emu, "/v1/sessions", b"{}", {"Authorization": "Bearer u"})
    assert plain.getheader("Access-Control-Allow-Origin") is None


def test_a_disallowed_origin_gets_no_cors_headers(emu: Emulator) -> None:
    emu.backend.configure(cors_origins=[APP_ORIGIN])
    for origin, allowed in ((APP_ORIGIN, True), ("http://evil.test", False)):
        preflight = request(
            emu,
            "OPTIONS",
            "/v1/sessions",
            headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
        )
        actual = post(emu, "/v1/sessions", b"{}", {"Origin": origin, "Authorization": "Bearer u"})
        for answer in (preflight, actual):
            assert (answer.getheader("Access-Control-Allow-Origin") == origin) is allowed


def test_the_picking_and_consent_pages_refuse_framing(emu: Emulator) -> None:
    session = emu.backend.create_session("u", {})
    config = emu.register_client(redirect_uris=[REDIRECT])["web"]
    query = urllib.parse.urlencode(
        {
            "client_id": config["client_id"],
            "redirect_uri": REDIRECT,
            "response_type": "code",
            "scope": SCOPE,
        }
    )
    picking = urllib.parse.urlsplit(session["pickerUri"]).path
    for path in (picking, picking + "/autoclose", f"/o/oauth2/v2/auth?{query}"):
        answer = request(emu, "GET", path)
        assert answer.status == 200, path
        assert answer.getheader("X-Frame-Options") == "DENY"
        assert answer.getheader("Content-Security-Policy") == "frame-ancestors 'none'"
