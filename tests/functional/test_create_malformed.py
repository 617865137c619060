"""A sessions.create answer the client cannot use, but whose id is usable, still ends with the
session deleted: the server made it, so it counts against the user's limit until deleted."""

from __future__ import annotations

import json
import logging
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, strategies as st

import picker_discovery
from picker_discovery import MalformedResponse, PickerClient, PickerError
from picker_discovery._clock import FakeClock
from picker_discovery._journal import SessionJournal
from picker_discovery._retry import RetryPolicy
from picker_discovery.testing import Backend, FakeHttp

TOKEN = "fake-token"


class BentCreate:
    """The in-process fake, with the fields of each sessions.create answer replaced."""

    def __init__(self, backend: Backend, fields: dict[str, Any]) -> None:
        self.inner = FakeHttp(backend, token=TOKEN)
        self.fields = fields

    def request(self, uri: str, method: str = "GET", *args: Any, **kwargs: Any) -> Any:
        resp, content = self.inner.request(uri, method, *args, **kwargs)
        if method == "POST" and urllib.parse.urlsplit(uri).path == "/v1/sessions":
            answer = json.loads(content)
            answer.update(self.fields)
            content = json.dumps(answer).encode()
        return resp, content


def client_for(backend: Backend, fields: dict[str, Any], journal: Path) -> PickerClient:
    service = picker_discovery.build(http=BentCreate(backend, fields))
    return PickerClient(
        service, clock=backend.clock, retry=RetryPolicy.none(), journal=SessionJournal(journal)
    )


MALFORMED = [
    {"pollingConfig": {"pollInterval": "abc", "timeoutIn": "1800s"}},
    {"pollingConfig": {"pollInterval": "5s", "timeoutIn": -3}},
    {"pollingConfig": "every five seconds"},
    {"expireTime": "garbage"},
    {"expireTime": "9999-99-99T99:99:99Z"},
    {"mediaItemsSet": "yes"},
    {"pickerUri": 42},
    {"pickingConfig": ["maxItemCount", 10]},
]


@pytest.mark.parametrize("fields", MALFORMED, ids=lambda f: json.dumps(f)[:40])
def test_a_malformed_create_answer_is_deleted(
    fields: dict[str, Any], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    backend = Backend(clock=FakeClock())
    client = client_for(backend, fields, tmp_path / "journal.jsonl")
    with pytest.raises(MalformedResponse):
        client.create_session()
    assert len(backend.attempts("sessions.create")) == 1
    assert backend.sessions() == []
    (delete,) = backend.attempts("sessions.delete")
    assert delete.path.startswith("/v1/sessions/")
    assert SessionJournal(tmp_path / "journal.jsonl").entries() == []


def test_picking_session_deletes_it_too(tmp_path: Path) -> None:
    backend = Backend(clock=FakeClock())
    client = client_for(backend, {"mediaItemsSet": "yes"}, tmp_path / "journal.jsonl")
    with pytest.raises(MalformedResponse), client.picking_session():
        pytest.fail("the block must not run for a session the client cannot read")
    assert backend.sessions() == []


def test_when_that_delete_fails_the_create_error_is_raised_and_the_journal_keeps_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    backend = Backend(clock=FakeClock())
    backend.set_faults("sessions.delete", [503])
    client = client_for(backend, {"expireTime": "garbage"}, tmp_path / "journal.jsonl")
    with caplog.at_level(logging.WARNING), pytest.raises(MalformedResponse, match="expireTime"):
        client.create_session()
    (session,) = backend.sessions()
    assert f"could not delete picking session {session.id}" in caplog.text
    (entry,) = SessionJournal(tmp_path / "journal.jsonl").entries()
    assert entry.session_id == session.id
    # The journal is how it gets deleted later.
    report = client.cleanup_sessions()
    assert [e.session_id for e in report.deleted] == [session.id]
    assert backend.sessions() == []


@pytest.mark.parametrize("bad_id", ["", "a/b", "..", 7, None])
def test_an_id_that_cannot_name_a_session_is_malformed_not_bad_input(
    bad_id: Any, tmp_path: Path
) -> None:
    backend = Backend(clock=FakeClock())
    client = client_for(backend, {"id": bad_id}, tmp_path / "journal.jsonl")
    with pytest.raises(PickerError) as raised:
        client.create_session()
    assert "sessions.create" in str(raised.value) or "id" in str(raised.value)
    assert backend.attempts("sessions.delete") == []  # no URL can name it


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=6,
)
FIELDS = ["pollingConfig", "expireTime", "mediaItemsSet", "pickerUri", "pickingConfig"]


@pytest.mark.fuzz
@given(
    field=st.sampled_from(FIELDS),
    value=json_values,
    nested=st.sampled_from(["", "pollInterval", "timeoutIn", "maxItemCount"]),
)
def test_whatever_one_field_holds_no_session_is_left_behind(
    tmp_path_factory: pytest.TempPathFactory, field: str, value: Any, nested: str
) -> None:
    backend = Backend(clock=FakeClock())
    if nested and field in ("pollingConfig", "pickingConfig"):
        value = {nested: value}
    journal = tmp_path_factory.mktemp("j") / "journal.jsonl"
    client = client_for(backend, {field: value}, journal)
    try:
        session = client.create_session()
    except MalformedResponse:
        assert backend.sessions() == []
    else:
        assert [s.id for s in backend.sessions()] == [session.id]
        client.delete_session(session)
    assert SessionJournal(journal).entries() == []
