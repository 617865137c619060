"""The validating stubber: queued answers per method, expected parameters, schema checks."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from googleapiclient.errors import HttpError
from hypothesis import given, strategies as st

import picker_discovery
from picker_discovery import PickerClient
from picker_discovery.errors import (
    FailedPrecondition,
    ResourceExhausted,
    SessionNotFound,
)
from picker_discovery.models import ListMediaItemsResponse, MediaType
from picker_discovery.testing import (
    ANY,
    FakeHttp,
    InvalidStub,
    PendingResponses,
    Stubber,
    StubberError,
    UnexpectedParams,
    UnexpectedRequest,
    canned,
)

SID = "2ea3dc54-f352-4d9d-a667-1b497bdf4e52"
URI = f"https://photos.google.com/integration/picker/{SID}"
POLLING = {
    "id": SID,
    "pickerUri": URI,
    "pollingConfig": {"pollInterval": "2s", "timeoutIn": "600s"},
    "expireTime": "2031-05-06T07:08:09.123Z",
    "mediaItemsSet": False,
}
PICKED = {"id": SID, "pickerUri": URI, "mediaItemsSet": True}
PHOTO: dict[str, Any] = {
    "id": "AByIYS1",
    "createTime": "2025-02-27T23:34:05.466Z",
    "type": "PHOTO",
    "mediaFile": {
        "baseUrl": "https://lh3.googleusercontent.com/ppa/a1",
        "mimeType": "image/jpeg",
        "filename": "a.jpg",
        "mediaFileMetadata": {
            "width": 4032,
            "height": 3024,
            "photoMetadata": {"apertureFNumber": 2, "exposureTime": "0.033333335s"},
        },
    },
}


@pytest.fixture
def stubber() -> Stubber:
    return Stubber()


def test_picker_client_gets_the_queued_answers_in_order(stubber: Stubber) -> None:
    stubber.add_response("sessions.create", POLLING, expected_params={"body": {}})
    stubber.add_response("photospicker.sessions.get", POLLING, expected_params={"sessionId": SID})
    stubber.add_response("sessions.get", PICKED, expected_params={"sessionId": SID})
    stubber.add_response(
        "mediaItems.list",
        {"mediaItems": [PHOTO], "nextPageToken": "p2"},
        expected_params={"sessionId": SID, "pageSize": 100},
    )
    stubber.add_response(
        "mediaItems.list",
        {"mediaItems": [dict(PHOTO, id="AByIYS2")]},
        expected_params={"sessionId": SID, "pageSize": 100, "pageToken": "p2"},
    )
    stubber.add_response("sessions.delete", {}, expected_params={"sessionId": SID})
    with stubber:
        client = stubber.client()
        session = client.create_session()
        picked = client.wait_for_selection(session)
        items = list(client.iter_media_items(session))
        client.delete_session(session)
    assert session.id == SID and session.picker_uri == URI
    assert picked.media_items_set is True
    assert [item.id for item in items] == ["AByIYS1", "AByIYS2"]
    assert [call.method for call in stubber.calls] == [
        "photospicker.sessions.create",
        "photospicker.sessions.get",
        "photospicker.sessions.get",
        "photospicker.mediaItems.list",
        "photospicker.mediaItems.list",
        "photospicker.sessions.delete",
    ]


def test_a_client_built_by_the_user_on_stubber_http_is_served(stubber: Stubber) -> None:
    stubber.add_response("sessions.get", PICKED)
    client = PickerClient(http=stubber.http, journal=False)
    with stubber:
        assert client.get_session(SID).media_items_set is True


def test_the_plain_service_gets_the_queued_answers_in_order(stubber: Stubber) -> None:
    stubber.add_response("sessions.create", POLLING, expected_params={"body": {}})
    stubber.add_response("mediaItems.list", {"mediaItems": [PHOTO]})
    stubber.add_response("sessions.delete", {})
    service = picker_discovery.build(http=stubber.http)
    with stubber:
        created = service.sessions().create(body={}).execute()
        page = service.mediaItems().list(sessionId=SID, pageSize=7).execute()
        deleted = service.sessions().delete(sessionId=SID).execute()
    assert created == POLLING
    assert page == {"mediaItems": [PHOTO]}
    assert deleted == {}
    assert stubber.calls[1].params == {"sessionId": SID, "pageSize": 7}


def test_expected_params_match_the_keyword_arguments_of_the_call(stubber: Stubber) -> None:
    request_id = "8c8a1c43-5d6f-4e8e-9f2a-3b1c2d3e4f50"
    stubber.add_response(
        "sessions.create",
        POLLING,
        expected_params={
            "body": {"pickingConfig": {"maxItemCount": "24"}},
            "requestId": request_id,
        },
    )
    stubber.add_response("sessions.get", PICKED, expected_params={"sessionId": ANY})
    with stubber:
        client = stubber.client()
        client.create_session(max_item_count=24, request_id=request_id)
        client.get_session("any-session-id")


def test_other_params_raise_naming_what_was_expected_and_what_came(stubber: Stubber) -> None:
    stubber.add_response("sessions.get", PICKED, expected_params={"sessionId": SID})
    stubber.activate()
    with pytest.raises(UnexpectedParams) as caught:
        stubber.client().get_session("someone-else")
    message = str(caught.value)
    assert "photospicker.sessions.get" in message
    assert "'someone-else'" in message and repr(SID) in message
    # The answer stays queued for the call it was meant for.
    assert stubber.pending == ["photospicker.sessions.get"]
    assert stubber.client().get_session(SID).id == SID
    stubber.assert_no_pending_responses()


def test_a_body_that_differs_names_the_parameter(stubber: Stubber) -> None:
    stubber.add_response(
        "sessions.create",
        POLLING,
        expected_params={"body": {"pickingConfig": {"maxItemCount": "5"}}},
    )
    with pytest.raises(UnexpectedParams, match=r"body is .*'24'.*expected .*'5'"), stubber:
        stubber.client().create_session(max_item_count=24)


def test_a_call_to_another_method_raises_naming_the_expected_one(stubber: Stubber) -> None:
    stubber.add_response("sessions.get", PICKED)
    stubber.activate()
    with pytest.raises(UnexpectedRequest, match=r"sessions\.delete.*next queued answer is for "):
        stubber.client().delete_session(SID)
    assert stubber.pending == ["photospicker.sessions.get"]


def test_a_call_with_nothing_queued_raises(stubber: Stubber) -> None:
    stubber.add_response("sessions.get", PICKED)
    stubber.activate()
    service = stubber.service()
    service.sessions().get(sessionId=SID).execute()
    with pytest.raises(UnexpectedRequest, match=r"no answer is queued.*sessions\.get"):
        service.sessions().get(sessionId=SID).execute()


def test_a_url_that_is_no_method_of_the_document_raises(stubber: Stubber) -> None:
    with pytest.raises(UnexpectedRequest, match="not a method of the photospicker"), stubber:
        stubber.http.request("https://photospicker.googleapis.com/v1/albums")


def test_pending_answers_are_reported(stubber: Stubber) -> None:
    stubber.add_response("sessions.get", PICKED)
    stubber.add_error("sessions.delete", "NOT_FOUND")
    with pytest.raises(PendingResponses, match=r"2 queued.*sessions\.get.*sessions\.delete"):
        stubber.assert_no_pending_responses()


def test_leaving_the_block_checks_every_answer_was_used(stubber: Stubber) -> None:
    stubber.add_response("sessions.get", PICKED)
    with pytest.raises(PendingResponses, match=r"sessions\.get"), stubber:
        pass
    assert not stubber.active


def test_leaving_the_block_on_an_error_keeps_that_error(stubber: Stubber) -> None:
    stubber.add_response("sessions.get", PICKED)
    with pytest.raises(KeyError), stubber:
        raise KeyError("the test's own failure")


def test_an_inactive_stubber_refuses_or_passes_requests_on() -> None:
    stubber = Stubber()
    stubber.add_response("sessions.get", PICKED)
    with pytest.raises(StubberError, match="not active"):
        stubber.service().sessions().get(sessionId=SID).execute()
    real = FakeHttp()
    passing = Stubber(http=real)
    service = passing.service()
    created = service.sessions().create(body={}).execute()
    assert real.paths() == [("POST", "/v1/sessions")]
    with passing:
        passing.add_response("sessions.delete", {})
        service.sessions().delete(sessionId=created["id"]).execute()
    assert len(real.requests) == 1


def test_answers_are_checked_against_the_document_given() -> None:
    bundled = Path(__file__).resolve().parents[2] / "discovery_cache" / "photospicker.v1.json"
    document = json.loads(bundled.read_text(encoding="utf-8"))
    document["schemas"]["PickedMediaItem"]["properties"]["type"]["enum"].append("PANORAMA")
    with pytest.raises(InvalidStub, match=r"\$\.mediaItems\[0\]\.type"):
        Stubber().add_response("mediaItems.list", {"mediaItems": [dict(PHOTO, type="PANORAMA")]})
    stubber = Stubber(document)
    stubber.add_response("mediaItems.list", {"mediaItems": [dict(PHOTO, type="PANORAMA")]})
    with stubber:
        assert stubber.service().mediaItems().list(sessionId=SID).execute()["mediaItems"]


def test_method_names_are_checked(stubber: Stubber) -> None:
    with pytest.raises(ValueError, match=r"'sessions\.gett'.*sessions\.get"):
        stubber.add_response("sessions.gett", PICKED)


@pytest.mark.parametrize(
    ("method", "body", "path"),
    [
        ("sessions.get", dict(PICKED, mediaItemsSet="true"), "$.mediaItemsSet"),  # wrong type
        ("sessions.get", dict(PICKED, id=7), "$.id"),  # wrong type
        (
            "mediaItems.list",
            {"mediaItems": [dict(PHOTO, type="PICTURE")]},
            "$.mediaItems[0].type",
        ),  # bad enum
        ("sessions.get", dict(PICKED, expireTime="2031-05-06 07:08:09"), "$.expireTime"),
        ("sessions.get", dict(PICKED, expireTime="2031-02-29T07:08:09Z"), "$.expireTime"),
        ("sessions.get", dict(PICKED, expireTime="2031-05-06T24:00:00Z"), "$.expireTime"),
        ("sessions.get", dict(PICKED, expireTime="2031-05-06t07:08:09z"), "$.expireTime"),
        (
            "mediaItems.list",
            {"mediaItems": [dict(PHOTO, createTime="2025-02-27T23:34:05")]},
            "$.mediaItems[0].createTime",
        ),  # a timestamp without its zone
        (
            "sessions.get",
            dict(POLLING, pollingConfig={"pollInterval": 5, "timeoutIn": "600s"}),
            "$.pollingConfig.pollInterval",
        ),  # a duration as a number
        (
            "sessions.get",
            dict(POLLING, pollingConfig={"pollInterval": "5s", "timeoutIn": "10m"}),
            "$.pollingConfig.timeoutIn",
        ),  # a duration in other units
        (
            "sessions.get",
            dict(POLLING, pollingConfig={"pollInterval": "5s", "timeoutIn": "315576000001s"}),
            "$.pollingConfig.timeoutIn",
        ),  # longer than a Duration can be
        (
            "sessions.create",
            dict(POLLING, pickingConfig={"maxItemCount": 24}),
            "$.pickingConfig.maxItemCount",
        ),  # int64 is a JSON string
        (
            "mediaItems.list",
            {"mediaItems": [dict(PHOTO, mediaFile=dict(PHOTO["mediaFile"], width=3))]},
            "$.mediaItems[0].mediaFile.width",
        ),  # wrong nesting: width belongs in mediaFileMetadata
        ("sessions.get", dict(POLLING, pollingConfig="5s"), "$.pollingConfig"),  # wrong nesting
        ("mediaItems.list", [PHOTO], "$"),  # the page, not the list of items
        ("sessions.get", dict(PICKED, mediaItemSet=True), "$.mediaItemSet"),  # misspelt field
        ("sessions.create", {"pickerUri": URI}, "$.id"),  # a session answer without its id
        ("sessions.get", {"mediaItemsSet": True}, "$.id"),
        ("mediaItems.list", {"mediaItems": [{"type": "PHOTO"}]}, "$.mediaItems[0].id"),
        ("sessions.delete", {"done": True}, "$.done"),
    ],
)
def test_an_answer_that_does_not_match_its_schema_is_refused_when_queued(
    stubber: Stubber, method: str, body: Any, path: str
) -> None:
    with pytest.raises(InvalidStub) as caught:
        stubber.add_response(method, body)
    assert caught.value.path == path
    assert f"{path}:" in str(caught.value) and method in str(caught.value)
    assert isinstance(caught.value, ValueError)
    assert stubber.pending == []


def test_canned_success_answers_are_valid(stubber: Stubber) -> None:
    for name in canned.names():
        method = name.rsplit(".", 1)[0] if name.count(".") == 2 else name
        if canned.response(name).status == 200:
            stubber.add_canned(method, name)
    assert len(stubber.pending) == 8


def test_unknown_fields_and_enum_values_can_be_allowed() -> None:
    newer = dict(PICKED, newField={"anything": 1})
    item = dict(PHOTO, type="PANORAMA")
    with pytest.raises(InvalidStub, match=r"\$\.newField"):
        Stubber().add_response("sessions.get", newer)
    lenient = Stubber(allow_unknown_fields=True, allow_unknown_enums=True)
    lenient.add_response("sessions.get", newer)
    lenient.add_response("mediaItems.list", {"mediaItems": [item]})
    with pytest.raises(InvalidStub, match=r"\$\.mediaItems\[0\]\.type"):
        Stubber(allow_unknown_fields=True).add_response("mediaItems.list", {"mediaItems": [item]})
    with pytest.raises(InvalidStub, match=r"\$\.pollingConfig\.pollInterval"):
        lenient.add_response("sessions.get", dict(POLLING, pollingConfig={"pollInterval": 5}))
    with lenient:
        client = lenient.client()
        assert client.get_session(SID).media_items_set is True
        assert [i.type for i in client.iter_media_items(SID)] == [MediaType.UNKNOWN]


@pytest.mark.parametrize(
    ("method", "params", "problem"),
    [
        ("sessions.get", {}, "lack the required parameter.*sessionId"),
        ("mediaItems.list", {"sessionId": SID, "pagesize": 5}, "'pagesize'.*takes pageSize"),
        ("sessions.get", {"sessionId": SID, "body": {}}, "'body'"),
        ("sessions.get", {"sessionId": 42}, "sessionId: expected a string"),
        ("mediaItems.list", {"sessionId": SID, "pageSize": "5"}, "pageSize: expected an integer"),
        (
            "sessions.create",
            {"body": {"pickingConfig": {"maxItemCount": 5}}},
            r"body\.pickingConfig\.maxItemCount: expected a string",
        ),
    ],
)
def test_expected_params_are_checked_against_the_document(
    stubber: Stubber, method: str, params: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        stubber.add_response(
            method, {"id": SID} if "sessions" in method else {}, expected_params=params
        )


def test_errors_reach_picker_client_as_its_typed_errors(stubber: Stubber) -> None:
    stubber.add_error("sessions.delete", "NOT_FOUND", expected_params={"sessionId": SID})
    stubber.add_error("mediaItems.list", "FAILED_PRECONDITION", "The user is still picking.")
    stubber.add_canned("sessions.create", "sessions.create.too_many_sessions")
    stubber.add_error("sessions.create", "RESOURCE_EXHAUSTED", reason="TOO_MANY_SESSIONS")
    with stubber:
        client = stubber.client()
        with pytest.raises(SessionNotFound) as missing:
            client.delete_session(SID)
        assert missing.value.session_id == SID
        with pytest.raises(FailedPrecondition, match="still picking"):
            client.list_media_items(SID)
        for _ in range(2):
            with pytest.raises(ResourceExhausted) as exhausted:
                client.create_session()
            assert exhausted.value.error_reason == "TOO_MANY_SESSIONS"


def test_a_retried_call_takes_the_next_queued_answer(stubber: Stubber) -> None:
    stubber.add_error("sessions.get", "UNAVAILABLE")
    stubber.add_canned("sessions.get", "bad_gateway_html")
    stubber.add_response("sessions.get", PICKED)
    stubber.add_canned("sessions.delete", "internal")
    with stubber:
        client = stubber.client(retry=picker_discovery.RetryPolicy(max_attempts=3))
        assert client.get_session(SID).media_items_set is True
        with pytest.raises(HttpError) as failed:
            client.service.sessions().delete(sessionId=SID).execute()
        assert failed.value.status_code == 500
    assert client.clock.sleeps and len(client.clock.sleeps) == 2  # type: ignore[attr-defined]


def test_a_canned_answer_of_another_method_is_refused(stubber: Stubber) -> None:
    with pytest.raises(ValueError, match=r"one of sessions\.delete, not of sessions\.get"):
        stubber.add_canned("sessions.get", "sessions.delete.not_found")


def test_an_error_status_is_checked(stubber: Stubber) -> None:
    with pytest.raises(ValueError, match=r"not a google\.rpc status"):
        stubber.add_error("sessions.get", "MISSING")
    with pytest.raises(ValueError, match="400 to 599"):
        stubber.add_error("sessions.get", "NOT_FOUND", http_status=200)


def test_a_queued_answer_is_a_copy(stubber: Stubber) -> None:
    body = copy.deepcopy(PICKED)
    stubber.add_response("sessions.get", body)
    body["id"] = "changed-after-queueing"
    with stubber:
        assert stubber.service().sessions().get(sessionId=SID).execute() == PICKED


# -- properties ----------------------------------------------------------------------------

_GONE = object()  # the field is removed
_SESSION_FIELDS = [
    ("id",),
    ("pickerUri",),
    ("expireTime",),
    ("mediaItemsSet",),
    ("pollingConfig",),
    ("pollingConfig", "pollInterval"),
    ("pollingConfig", "timeoutIn"),
    ("pickingConfig",),
    ("pickingConfig", "maxItemCount"),
    ("mediaItemSet",),
]
_PAGE_FIELDS = [
    ("nextPageToken",),
    ("mediaItems",),
    ("mediaItems", 0),
    ("mediaItems", 0, "id"),
    ("mediaItems", 0, "createTime"),
    ("mediaItems", 0, "type"),
    ("mediaItems", 0, "mediaFile"),
    ("mediaItems", 0, "mediaFile", "baseUrl"),
    ("mediaItems", 0, "mediaFile", "mediaFileMetadata", "width"),
    ("mediaItems", 0, "mediaFile", "mediaFileMetadata", "photoMetadata", "apertureFNumber"),
    ("mediaItems", 0, "mediaFile", "mediaFileMetadata", "photoMetadata", "exposureTime"),
    ("mediaItems", 0, "mediaFile", "mediaFileMetadata", "videoMetadata"),
]
_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(
        [
            "5s",
            "-0.5s",
            "1e3s",
            "315576000001s",
            "2025-02-29T10:00:00Z",
            "2024-02-29T10:00:00Z",
            "2025-01-01t10:00:00z",
            "2025-01-01T10:00:00",
            "24",
            "PHOTO",
            "READY",
            "VIDEO",
        ]
    ),
)
_json = st.recursive(
    _leaves,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=6,
)


def _changed(body: Any, where: tuple[Any, ...], value: Any) -> tuple[Any, str]:
    """``body`` with the field at ``where`` set to ``value`` (or removed), and its path."""
    body = copy.deepcopy(body)
    parent = body
    for step in where[:-1]:
        parent = parent[step]
    if value is _GONE:
        parent.pop(where[-1], None) if isinstance(parent, dict) else parent.pop(where[-1])
    else:
        parent[where[-1]] = value
    return body, "$" + "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in where)


@pytest.mark.fuzz
@given(
    st.sampled_from(["session", "page"]),
    st.data(),
    st.one_of(st.just(_GONE), _json),
)
def test_an_answer_is_refused_at_the_changed_field_or_read_by_the_client(
    kind: str, data: st.DataObject, value: Any
) -> None:
    """Whatever the stubber accepts, PickerClient reads without MalformedResponse; whatever
    it refuses, it refuses naming the field that was changed (or one inside it)."""
    fields = _SESSION_FIELDS if kind == "session" else _PAGE_FIELDS
    where = data.draw(st.sampled_from(fields))
    base = dict(POLLING, pickingConfig={"maxItemCount": "24"})
    body, path = _changed(base if kind == "session" else {"mediaItems": [PHOTO]}, where, value)
    stubber = Stubber()
    method = "sessions.get" if kind == "session" else "mediaItems.list"
    try:
        stubber.add_response(method, body)
    except InvalidStub as exc:
        assert exc.path == path or exc.path.startswith((f"{path}.", f"{path}["))
        return
    with stubber:
        client = stubber.client()
        if kind == "session":
            assert client.get_session(SID).id == body["id"]
        else:
            client.service.mediaItems().list(sessionId=SID).execute()  # the raw answer
            ListMediaItemsResponse.from_dict(body)


_texts = st.text(st.characters(codec="utf-8"), min_size=1, max_size=20)


@pytest.mark.fuzz
@given(_texts, st.one_of(st.none(), _texts), st.integers(min_value=-(2**31), max_value=2**31 - 1))
def test_the_parameters_of_any_call_match_themselves_as_expected_params(
    session_id: str, page_token: str | None, page_size: int
) -> None:
    """Any value googleapiclient sends comes back as the value the caller passed."""
    params: dict[str, Any] = {"sessionId": session_id, "pageSize": page_size}
    if page_token is not None:
        params["pageToken"] = page_token
    stubber = Stubber()
    stubber.add_response(
        "sessions.get", {"id": session_id}, expected_params={"sessionId": session_id}
    )
    stubber.add_response("mediaItems.list", {}, expected_params=params)
    with stubber:
        service = stubber.service()
        assert service.sessions().get(sessionId=session_id).execute() == {"id": session_id}
        assert service.mediaItems().list(**params).execute() == {}


def test_the_readme_example_runs_as_written() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    example = readme.split("### The stubber", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    with pytest.raises(SessionNotFound):
        exec(compile(example, "README.md", "exec"), {})
