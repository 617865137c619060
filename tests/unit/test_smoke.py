"""The core promise in one breath: an offline service, and delete with domain errors."""

import pytest
from googleapiclient.discovery import Resource
from googleapiclient.errors import HttpError

import picker_discovery
from picker_discovery._client import PickerClient
from picker_discovery.errors import SessionNotFound
from picker_discovery.testing import canned


def test_build_returns_a_real_resource_and_delete_maps_404() -> None:
    http = canned.sequence("sessions.delete", "sessions.delete.not_found")
    service = picker_discovery.build(http=http)
    assert isinstance(service, Resource)
    client = PickerClient(service)
    client.delete_session("abc")
    with pytest.raises(SessionNotFound) as caught:
        client.delete_session("abc")
    assert isinstance(caught.value, HttpError)
    assert caught.value.session_id == "abc"
    assert [(m, u.split("?")[0]) for u, m, *_ in http.request_sequence] == [
        ("DELETE", "https://photospicker.googleapis.com/v1/sessions/abc"),
        ("DELETE", "https://photospicker.googleapis.com/v1/sessions/abc"),
    ]
