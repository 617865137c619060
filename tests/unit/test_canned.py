"""The canned HttpMock answers users test their own code with."""

from __future__ import annotations

import json

import pytest
from googleapiclient.discovery import build_from_document

import picker_discovery
from picker_discovery import _discovery as discovery, errors
from picker_discovery.testing import canned

ANY_TEXT = "Request is missing required authentication credential."


@pytest.mark.parametrize("name", canned.names())
def test_every_canned_answer_is_well_formed(name: str) -> None:
    answer = canned.response(name)
    headers, content = answer.to_mock_pair()
    assert headers["status"] == str(answer.status)
    if answer.content_type.startswith("application/json"):
        data = json.loads(content)
        if answer.status >= 400:
            error = data.get("error", data)
            assert error["message"]
            if "error" in data:
                assert error["code"] == answer.status
                assert errors.error_class(answer.status, error["status"]).http_code == answer.status
    elif name == "unwrapped_unauthenticated":  # JSON under a text/html type, as Google's lie
        assert json.loads(content) == {"code": 16, "message": ANY_TEXT}
    else:
        assert content.lstrip().startswith(b"<!DOCTYPE html>")


def test_a_sequence_that_runs_dry_says_which_requests_it_answered() -> None:
    http = canned.sequence("sessions.create")
    service = picker_discovery.build(http=http)
    service.sessions().create(body={}).execute()
    with pytest.raises(
        canned.MockExhausted, match=r"GET .*/v1/sessions/s1.*answered were:\n  POST "
    ):
        service.sessions().get(sessionId="s1").execute()


def test_helpers_work_with_raw_googleapiclient_too() -> None:
    document = json.loads(discovery.BUNDLED_DOCUMENT.read_text("utf-8"))
    http = canned.sequence("mediaItems.list.first_page", "mediaItems.list.last_page")
    service = build_from_document(document, http=http)
    first = service.mediaItems().list(sessionId="s").execute()
    second = service.mediaItems().list(sessionId="s", pageToken=first["nextPageToken"]).execute()
    assert [i["type"] for i in first["mediaItems"] + second["mediaItems"]] == ["PHOTO", "VIDEO"]
    assert "nextPageToken" not in second


def test_bodies_are_copies_and_unknown_names_are_listed() -> None:
    body = canned.body("sessions.create")
    body["id"] = "changed"
    assert canned.body("sessions.create")["id"] == canned.SESSION_ID
    with pytest.raises(KeyError, match=r"there are: .*sessions\.create"):
        canned.response("sessions.nope")
