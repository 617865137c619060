"""Answers shaped as Google's JSON encoder writes them: proto3 JSON times and durations, the
error details of quota and disabled-API answers, the bare 401 with a lying content type; the
same shapes in ``testing.canned``. Through googleapiclient, the client and raw HTTP."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import httplib2
import pytest
import requests
from google.oauth2.credentials import Credentials
from googleapiclient.errors import HttpError

import picker_discovery
from picker_discovery import PickerClient
from picker_discovery.errors import PermissionDenied, Unauthenticated, from_http_error
from picker_discovery.testing import Emulator, FakeClock, canned

TOKEN = "shape-user"
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3}|\.\d{6}|\.\d{9})?Z$")
DURATION = re.compile(r"^\d+(\.\d{3}|\.\d{6}|\.\d{9})?s$")
QUOTA_KEYS = {
    "quota_metric",
    "quota_limit",
    "quota_limit_value",
    "consumer",
    "service",
    "quota_location",
}

pytestmark = pytest.mark.usefixtures("no_proxy")


def whole_second() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(clock=FakeClock(whole_second())) as running:
        yield running


@pytest.fixture
def service(emu: Emulator) -> Iterator[Any]:
    with emu.build(TOKEN) as built:
        yield built


def error_of(call: Any) -> tuple[HttpError, dict[str, Any]]:
    with pytest.raises(HttpError) as caught:
        call.execute()
    return caught.value, json.loads(caught.value.content)


# -- times and durations ------------------------------------------------------------------------


def test_whole_seconds_have_no_fraction_and_others_three_or_six_digits(
    emu: Emulator, service: Any
) -> None:
    emu.backend.configure(poll_interval="1.5s", polling_timeout=300)
    session = service.sessions().create(body={}).execute()
    assert session["expireTime"].endswith(":00Z") or re.search(r":\d\dZ$", session["expireTime"])
    assert "." not in session["expireTime"]  # never .000000Z for whole seconds
    assert session["pollingConfig"] == {"pollInterval": "1.500s", "timeoutIn": "300s"}
    emu.advance(0.25)
    got = service.sessions().get(sessionId=session["id"]).execute()
    assert got["pollingConfig"]["timeoutIn"] == "299.750s"
    emu.advance(0.000001)
    got = service.sessions().get(sessionId=session["id"]).execute()
    assert got["pollingConfig"]["timeoutIn"] == "299.749999s"


def test_every_time_and_duration_of_a_flow_is_proto3_json(emu: Emulator, service: Any) -> None:
    emu.backend.clock.set(whole_second().replace(microsecond=123000))
    session = service.sessions().create(body={}).execute()
    assert TIMESTAMP.match(session["expireTime"]) and session["expireTime"].endswith(".123Z")
    emu.pick(session["id"])
    page = service.mediaItems().list(sessionId=session["id"], pageSize=100).execute()
    for item in page["mediaItems"]:
        assert TIMESTAMP.match(item["createTime"]), item["createTime"]
        photo = item["mediaFile"]["mediaFileMetadata"].get("photoMetadata", {})
        if "exposureTime" in photo:
            assert DURATION.match(photo["exposureTime"]), photo["exposureTime"]
    raw = requests.get(
        f"{emu.url}v1/sessions/{session['id']}", headers={"Authorization": f"Bearer {TOKEN}"}
    ).json()
    assert raw["expireTime"] == session["expireTime"]


# -- quota, disabled API, the bare 401 ----------------------------------------------------------


def quota_details(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    info, help_ = body["error"]["details"][:2]
    assert info["@type"] == "type.googleapis.com/google.rpc.ErrorInfo"
    assert help_["@type"] == "type.googleapis.com/google.rpc.Help"
    return info, help_


def test_a_quota_429_has_googles_details_and_no_retry_after(emu: Emulator, service: Any) -> None:
    emu.set_faults("sessions.create", [429])
    error, body = error_of(service.sessions().create(body={}))
    assert error.status_code == 429 and "retry-after" not in error.resp
    info, help_ = quota_details(body)
    assert (info["reason"], info["domain"]) == ("RATE_LIMIT_EXCEEDED", "googleapis.com")
    assert set(info["metadata"]) == QUOTA_KEYS
    assert info["metadata"]["consumer"] == "projects/123456789012"
    assert help_["links"][0]["url"].startswith("https://")
    assert body["error"]["status"] == "RESOURCE_EXHAUSTED"
    # Over raw HTTP, and a Retry-After only when the setting asks for one.
    emu.backend.configure(quota_retry_after=30, project_number="42")
    emu.set_faults("sessions.get", [429])
    answer = requests.get(f"{emu.url}v1/sessions/x", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "30"
    info, _ = quota_details(answer.json())
    assert info["metadata"]["consumer"] == "projects/42"


def test_the_services_own_errors_use_googleapis_com(emu: Emulator, service: Any) -> None:
    emu.backend.configure(max_live_sessions=0)
    _, body = error_of(service.sessions().create(body={}))
    info = body["error"]["details"][0]
    assert info["domain"] == "googleapis.com"
    assert info["metadata"]["service"] == "photospicker.googleapis.com"


def test_a_disabled_api_answers_with_every_detail(emu: Emulator, service: Any) -> None:
    emu.backend.configure(api_enabled=False, project_number="987")
    error, body = error_of(service.sessions().create(body={}))
    assert error.status_code == 403 and body["error"]["status"] == "PERMISSION_DENIED"
    assert "has not been used in project 987 before or it is disabled" in body["error"]["message"]
    kinds = [d["@type"].rsplit(".", 1)[1] for d in body["error"]["details"]]
    assert kinds == ["ErrorInfo", "LocalizedMessage", "Help"]
    info = body["error"]["details"][0]
    assert (info["reason"], info["domain"]) == ("SERVICE_DISABLED", "googleapis.com")
    assert info["metadata"]["activationUrl"].endswith("?project=987")
    assert info["metadata"]["consumer"] == "projects/987"
    client = PickerClient(
        credentials=Credentials(token=TOKEN), client_options={"api_endpoint": emu.url}
    )
    with pytest.raises(PermissionDenied) as caught:
        client.create_session()
    assert caught.value.error_reason == "SERVICE_DISABLED"
    assert emu.backend.sessions() == []


def test_a_bare_401_with_a_lying_content_type(emu: Emulator) -> None:
    emu.backend.configure(auth="strict", unauthenticated_body="bare")
    answer = requests.post(
        f"{emu.url}v1/sessions", json={}, headers={"Authorization": "Bearer never-issued"}
    )
    assert answer.status_code == 401
    assert answer.headers["Content-Type"].startswith("text/html")
    body = json.loads(answer.content)
    assert set(body) == {"code", "message"} and body["code"] == 16
    # googleapiclient with a bare transport sends no token: the missing-token 401, bare too.
    anonymous = picker_discovery.build(
        http=httplib2.Http(), client_options={"api_endpoint": emu.url}
    )
    error, parsed = error_of(anonymous.sessions().create(body={}))
    assert error.status_code == 401 and parsed["code"] == 16
    # The client's error tree reads it right although it is neither wrapped nor typed JSON.
    assert isinstance(from_http_error(error), Unauthenticated)


# -- canned answers have the same shapes --------------------------------------------------------


def test_canned_answers_have_the_emulators_shapes(emu: Emulator, service: Any) -> None:
    clock = FakeClock(whole_second())
    session = canned.body("sessions.create", clock=clock)
    assert TIMESTAMP.match(session["expireTime"]) and "." not in session["expireTime"]
    limited = canned.response("rate_limited")
    assert "retry-after" not in {k.lower() for k in limited.headers}
    info, help_ = quota_details(limited.body)
    assert set(info["metadata"]) == QUOTA_KEYS and help_["links"]
    emu.set_faults("sessions.get", [429])
    _, live = error_of(service.sessions().get(sessionId="x"))
    assert set(quota_details(live)[0]["metadata"]) == set(info["metadata"])
    disabled = canned.body("service_disabled")
    emu.backend.configure(api_enabled=False)
    _, live = error_of(service.sessions().get(sessionId="x"))
    assert disabled == live
    bare = canned.response("unwrapped_unauthenticated")
    assert bare.content_type.startswith("text/html") and bare.body["code"] == 16
    too_many = canned.body("sessions.create.too_many_sessions")["error"]["details"][0]
    assert too_many["domain"] == "googleapis.com"
