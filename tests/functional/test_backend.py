"""The fake service's rules, called directly: every documented error, paging, expiry, schemas."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from picker_discovery._clock import FakeClock
from picker_discovery._paging import MAX_PAGES
from picker_discovery.testing.backend import (
    ApiError,
    Backend,
    Fault,
    format_duration,
    parse_duration,
)
from picker_discovery.testing.library import generate_library
from picker_discovery.testing.schema import SchemaError, SchemaValidator

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TOKEN = "alice"


def status_of(call: Any, *args: Any, **kwargs: Any) -> tuple[int, str]:
    with pytest.raises(ApiError) as caught:
        call(*args, **kwargs)
    body = caught.value.body()["error"]
    assert set(body) <= {"code", "message", "status", "details"}
    assert body["message"]
    return body["code"], body["status"]


@pytest.fixture
def backend() -> Backend:
    return Backend(clock=FakeClock())


def test_create_answers_a_polling_session() -> None:
    backend = Backend(clock=FakeClock(start=datetime(2031, 5, 4, 10, 0, tzinfo=timezone.utc)))
    session = backend.create_session(TOKEN, {})
    assert UUID_RE.match(session["id"])
    assert session["pickerUri"] == f"https://photos.google.com/integration/picker/{session['id']}"
    assert session["pollingConfig"] == {"pollInterval": "5s", "timeoutIn": "1800s"}
    assert session["pickingConfig"] == {"maxItemCount": "2000"}
    assert session["mediaItemsSet"] is False
    assert (
        session["expireTime"] == "2031-05-11T10:00:00Z"
    )  # 7 days on the frozen clock, as proto3 JSON
    backend.validator.validate("PickingSession", session)


def test_missing_token_is_unauthenticated(backend: Backend) -> None:
    assert status_of(backend.create_session, None, {}) == (401, "UNAUTHENTICATED")
    assert status_of(backend.get_session, "", "x") == (401, "UNAUTHENTICATED")
    assert status_of(backend.list_media_items, None, "x") == (401, "UNAUTHENTICATED")


def test_each_token_is_its_own_user(backend: Backend) -> None:
    session = backend.create_session(TOKEN, None)
    assert status_of(backend.get_session, "mallory", session["id"]) == (404, "NOT_FOUND")
    assert status_of(backend.delete_session, "mallory", session["id"]) == (404, "NOT_FOUND")
    assert status_of(backend.list_media_items, "mallory", session["id"]) == (404, "NOT_FOUND")
    assert backend.library(TOKEN) != backend.library("mallory")
    assert backend.library(TOKEN) == backend.library(TOKEN)


def test_deleted_session_is_not_found(backend: Backend) -> None:
    session = backend.create_session(TOKEN, {})
    assert backend.delete_session(TOKEN, session["id"]) == {}
    assert status_of(backend.get_session, TOKEN, session["id"]) == (404, "NOT_FOUND")
    assert status_of(backend.delete_session, TOKEN, session["id"]) == (404, "NOT_FOUND")


def test_polling_counts_down_then_expiry_denies_access(backend: Backend) -> None:
    backend.configure(poll_interval="0.5s", polling_timeout=120, session_lifetime=3600)
    session = backend.create_session(TOKEN, {})
    assert session["pollingConfig"] == {"pollInterval": "0.500s", "timeoutIn": "120s"}
    backend.advance(30.25)
    got = backend.get_session(TOKEN, session["id"])
    assert got["pollingConfig"]["timeoutIn"] == "89.750s"
    backend.advance(100)
    assert backend.get_session(TOKEN, session["id"])["pollingConfig"]["timeoutIn"] == "0s"
    backend.advance(3600)
    assert status_of(backend.get_session, TOKEN, session["id"]) == (403, "PERMISSION_DENIED")
    assert status_of(backend.list_media_items, TOKEN, session["id"]) == (403, "PERMISSION_DENIED")
    assert backend.delete_session(TOKEN, session["id"]) == {}  # [open] deleting stays allowed


def test_expire_control_and_pick_refusals(backend: Backend) -> None:
    session = backend.create_session(TOKEN, {})
    backend.expire_session(session["id"])
    assert status_of(backend.get_session, TOKEN, session["id"]) == (403, "PERMISSION_DENIED")
    with pytest.raises(ValueError, match="expired"):
        backend.pick(session["id"])
    with pytest.raises(KeyError, match="no session"):
        backend.pick("nope")


def test_picking_drops_polling_config_and_allows_listing(backend: Backend) -> None:
    session = backend.create_session(TOKEN, {"pickingConfig": {"maxItemCount": "3"}})
    assert status_of(backend.list_media_items, TOKEN, session["id"]) == (400, "FAILED_PRECONDITION")
    with pytest.raises(ValueError, match="maxItemCount 3"):
        backend.pick(session["id"], first=4)
    picked = backend.pick(session["id"])
    assert len(picked) == 3
    got = backend.get_session(TOKEN, session["id"])
    assert got["mediaItemsSet"] is True
    assert "pollingConfig" not in got
    page = backend.list_media_items(TOKEN, session["id"])
    assert [item["id"] for item in page["mediaItems"]] == picked
    assert "nextPageToken" not in page
    with pytest.raises(ValueError, match="already picked"):
        backend.pick(session["id"])


@pytest.mark.parametrize("value", ["0", "-1", "2001", "abc", "1.5", 0, True, ""])
def test_bad_max_item_count_is_invalid_argument(backend: Backend, value: Any) -> None:
    body = {"pickingConfig": {"maxItemCount": value}}
    assert status_of(backend.create_session, TOKEN, body) == (400, "INVALID_ARGUMENT")


def test_max_item_count_clamp_setting(backend: Backend) -> None:
    backend.configure(invalid_max_item_count="clamp")
    made = backend.create_session(TOKEN, {"pickingConfig": {"maxItemCount": "5000"}})
    assert made["pickingConfig"]["maxItemCount"] == "2000"
    made = backend.create_session(TOKEN, {"pickingConfig": {"maxItemCount": 0}})
    assert made["pickingConfig"]["maxItemCount"] == "2000"
    made = backend.create_session(TOKEN, {"pickingConfig": {"maxItemCount": 24}})
    assert made["pickingConfig"]["maxItemCount"] == "24"
    body = {"pickingConfig": {"maxItemCount": "x"}}
    assert status_of(backend.create_session, TOKEN, body) == (400, "INVALID_ARGUMENT")


def test_unknown_fields_in_the_body_are_invalid(backend: Backend) -> None:
    assert status_of(backend.create_session, TOKEN, {"bogus": 1}) == (400, "INVALID_ARGUMENT")
    body = {"pickingConfig": {"maxItems": "3"}}
    assert status_of(backend.create_session, TOKEN, body) == (400, "INVALID_ARGUMENT")
    assert status_of(backend.create_session, TOKEN, []) == (400, "INVALID_ARGUMENT")


def test_request_id_must_be_a_uuid(backend: Backend) -> None:
    ok = backend.create_session(TOKEN, {}, request_id="2EA3DC54-F352-4D9D-A667-1B497BDF4E52")
    assert ok["id"]
    for bad in (
        "",
        "abc",
        "2ea3dc54f3524d9da6671b497bdf4e52",
        "2ea3dc54-f352-4d9d-a667-1b497bdf4e5",
    ):
        code = status_of(backend.create_session, TOKEN, {}, request_id=bad)
        assert code == (400, "INVALID_ARGUMENT")


def test_too_many_live_sessions_is_resource_exhausted(backend: Backend) -> None:
    backend.configure(max_live_sessions=2)
    first = backend.create_session(TOKEN, {})
    backend.create_session(TOKEN, {})
    with pytest.raises(ApiError) as caught:
        backend.create_session(TOKEN, {})
    assert (caught.value.code, caught.value.status) == (429, "RESOURCE_EXHAUSTED")
    assert caught.value.body()["error"]["details"][0]["reason"] == "TOO_MANY_SESSIONS"
    backend.create_session("bob", {})  # the limit is per user
    backend.delete_session(TOKEN, first["id"])
    backend.create_session(TOKEN, {})


def test_no_photos_account_is_failed_precondition(backend: Backend) -> None:
    backend.seed_library(TOKEN, count=3, has_photos_account=False)
    assert status_of(backend.create_session, TOKEN, {}) == (400, "FAILED_PRECONDITION")


def list_all(backend: Backend, session_id: str, page_size: int | None) -> list[list[str]]:
    pages: list[list[str]] = []
    token: str | None = None
    for _ in range(MAX_PAGES):  # a listing that never ends fails instead of hanging
        page = backend.list_media_items(TOKEN, session_id, page_size=page_size, page_token=token)
        pages.append([item["id"] for item in page.get("mediaItems", [])])
        token = page.get("nextPageToken")
        if token is None:
            return pages
    raise AssertionError(f"the listing did not end after {MAX_PAGES} pages")


@pytest.mark.parametrize(
    ("page_size", "sizes"),
    [
        (None, [50, 50, 20]),
        (0, [50, 50, 20]),
        (7, [7] * 17 + [1]),
        (100, [100, 20]),
        (101, [100, 20]),
        (10**6, [100, 20]),
        (120, [100, 20]),
    ],
)
def test_page_size_rules(backend: Backend, page_size: int | None, sizes: list[int]) -> None:
    session = backend.create_session(TOKEN, {})
    picked = backend.pick(session["id"])
    assert len(picked) == 120
    pages = list_all(backend, session["id"], page_size)
    assert [len(p) for p in pages] == sizes
    assert [i for p in pages for i in p] == picked


def test_negative_page_size_is_invalid(backend: Backend) -> None:
    session = backend.create_session(TOKEN, {})
    backend.pick(session["id"], first=2)
    code = status_of(backend.list_media_items, TOKEN, session["id"], page_size=-1)
    assert code == (400, "INVALID_ARGUMENT")


def test_forged_and_foreign_page_tokens_are_invalid(backend: Backend) -> None:
    one = backend.create_session(TOKEN, {})
    two = backend.create_session(TOKEN, {})
    backend.pick(one["id"], first=10)
    backend.pick(two["id"], first=10)
    token = backend.list_media_items(TOKEN, one["id"], page_size=3)["nextPageToken"]
    assert backend.list_media_items(TOKEN, one["id"], page_token=token)["mediaItems"]
    payload, _mac = token.split(".")
    for forged in ("CAEQAQ", token + "x", payload + ".AAAA", "", "a.b.c", "\u00e9.x"):
        if forged:
            code = status_of(backend.list_media_items, TOKEN, one["id"], page_token=forged)
            assert code == (400, "INVALID_ARGUMENT"), forged
    code = status_of(backend.list_media_items, TOKEN, two["id"], page_token=token)
    assert code == (400, "INVALID_ARGUMENT")
    other = Backend(clock=FakeClock())  # another server's secret
    assert status_of(other.list_media_items, TOKEN, one["id"], page_token=token)[0] in (400, 404)


def test_base_url_lifetime_on_the_fake_clock(backend: Backend) -> None:
    session = backend.create_session(TOKEN, {})
    backend.pick(session["id"], first=2)
    item = backend.list_media_items(TOKEN, session["id"])["mediaItems"][0]
    key = item["mediaFile"]["baseUrl"].rsplit("/", 1)[1]
    assert backend.media_item_for_key(TOKEN, key).id == item["id"]
    with pytest.raises(ApiError) as caught:
        backend.media_item_for_key(None, key)
    assert caught.value.code == 401
    with pytest.raises(ApiError) as caught:
        backend.media_item_for_key("mallory", key)
    assert caught.value.code == 403
    backend.advance(timedelta(minutes=59, seconds=59))
    assert backend.media_item_for_key(TOKEN, key).id == item["id"]
    backend.advance(1)
    with pytest.raises(ApiError, match="expired") as caught:
        backend.media_item_for_key(TOKEN, key)
    assert caught.value.code == 403
    backend.list_media_items(TOKEN, session["id"])  # listing again renews the baseUrls
    assert backend.media_item_for_key(TOKEN, key).id == item["id"]
    backend.expire_base_urls(session["id"])
    with pytest.raises(ApiError, match="expired"):
        backend.media_item_for_key(TOKEN, key)
    backend.delete_session(TOKEN, session["id"])
    with pytest.raises(ApiError) as caught:
        backend.media_item_for_key(TOKEN, key)
    assert caught.value.code == 404


def test_faults_are_spent_in_order_and_attempts_recorded(backend: Backend) -> None:
    backend.set_faults("sessions.get", [503, {"status": 429, "retry_after": 30}, None, 500])
    assert backend.pending_faults("sessions.get") == 4
    spent = [backend.record_attempt("sessions.get", "GET", "/v1/sessions/x") for _ in range(5)]
    assert [f.status if f else None for f in spent] == [503, 429, None, 500, None]
    assert spent[1] is not None
    error = spent[1].error()
    assert error is not None
    assert error.headers == {"Retry-After": "30"}
    assert error.body()["error"]["status"] == "RESOURCE_EXHAUSTED"
    assert len(backend.attempts("sessions.get")) == 5
    with pytest.raises(ValueError, match="cannot script"):
        backend.set_faults("sessions.list", [503])
    with pytest.raises(ValueError, match="unknown fault fields"):
        Fault.from_json({"stauts": 503})


def test_reset_forgets_everything(backend: Backend) -> None:
    session = backend.create_session(TOKEN, {})
    backend.set_faults("media", [503])
    backend.record_attempt("sessions.get", "GET", "/")
    backend.reset()
    assert backend.sessions() == []
    assert backend.attempts() == []
    assert backend.pending_faults() == 0
    assert status_of(backend.get_session, TOKEN, session["id"]) == (404, "NOT_FOUND")


def test_durations() -> None:
    assert format_duration(timedelta(seconds=5)) == "5s"
    assert format_duration(timedelta(seconds=0.5)) == "0.500s"
    assert format_duration(timedelta(seconds=-3)) == "0s"
    assert parse_duration("3.5s") == timedelta(seconds=3.5)
    with pytest.raises(ValueError):
        parse_duration("3.5")


def test_clock_only_moves_forward() -> None:
    clock = FakeClock()
    start = clock.now()
    assert clock.now() == start  # frozen
    assert clock.advance(10) == start + timedelta(seconds=10)
    with pytest.raises(ValueError):
        clock.advance(-1)


def test_validator_catches_what_a_real_client_could_not_receive(backend: Backend) -> None:
    validator = SchemaValidator(backend.document)
    good = {"maxItemCount": "24"}
    validator.validate("PickingConfig", good)
    bad_values: list[tuple[str, Any, str]] = [
        ("PickingConfig", {"maxItemCount": 24}, "maxItemCount"),
        ("PickingConfig", {"maxItemCount": "2.5"}, "maxItemCount"),
        ("PickingConfig", {"extra": True}, "extra"),
        ("PollingConfig", {"pollInterval": "5"}, "pollInterval"),
        ("PickingSession", {"expireTime": "2026-01-01 10:00"}, "expireTime"),
        ("PickingSession", {"mediaItemsSet": "true"}, "mediaItemsSet"),
        ("PickedMediaItem", {"type": "GIF"}, "type"),
        ("MediaFileMetadata", {"width": "100"}, "width"),
        ("MediaFileMetadata", {"width": 2**40}, "width"),
        ("ListMediaItemsResponse", {"mediaItems": {}}, "mediaItems"),
    ]
    for schema, value, field in bad_values:
        with pytest.raises(SchemaError) as caught:
            validator.validate(schema, value)
        assert field in caught.value.path, (schema, value)


def test_every_listed_item_validates(backend: Backend) -> None:
    backend.configure(library_size=150)
    session = backend.create_session(TOKEN, {})
    backend.pick(session["id"])
    for page in list_all(backend, session["id"], 100):
        assert page  # validation happens inside; any bad item would have raised


def test_library_is_deterministic_and_awkward() -> None:
    one = generate_library(7, 120)
    assert one == generate_library(7, 120)
    assert one != generate_library(8, 120)
    names = [item.filename for item in one]
    assert "../../etc/passwd.jpg" in names and "a/b.jpg" in names and "CON.jpg" in names
    assert len(names) != len(set(names))  # duplicates
    assert any(len(n.encode()) > 255 for n in names)
    mimes = {item.mime_type for item in one}
    assert {
        "image/jpeg",
        "image/png",
        "image/heic",
        "image/gif",
        "video/mp4",
        "video/quicktime",
    } <= mimes
    statuses = [item.processing_status for item in one if item.is_video]
    assert statuses.count("FAILED") == 1 and "PROCESSING" in statuses
    assert max(item.size for item in one) > 200 * 1024 * 1024
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{64}", item.id) for item in one)
    assert len({item.id for item in one}) == len(one)


def test_token_without_the_picker_scope(backend: Backend) -> None:
    backend.seed_library("narrow", count=1, has_picker_scope=False)
    with pytest.raises(ApiError) as caught:
        backend.create_session("narrow", {})
    assert (caught.value.code, caught.value.status) == (403, "PERMISSION_DENIED")
    assert caught.value.message == "Request had insufficient authentication scopes."


def test_a_video_finishes_processing(backend: Backend) -> None:
    video = next(i for i in backend.library(TOKEN) if i.processing_status == "PROCESSING")
    session = backend.create_session(TOKEN, {})
    backend.pick(session["id"], [video.id])

    def status() -> str:
        item = backend.list_media_items(TOKEN, session["id"])["mediaItems"][0]
        return str(item["mediaFile"]["mediaFileMetadata"]["videoMetadata"]["processingStatus"])

    assert status() == "PROCESSING"
    backend.set_processing_status(TOKEN, video.id, "READY")
    assert status() == "READY"
    photo = next(i for i in backend.library(TOKEN) if not i.is_video)
    with pytest.raises(ValueError, match="not a video"):
        backend.set_processing_status(TOKEN, photo.id, "READY")
    with pytest.raises(ValueError, match="status must be"):
        backend.set_processing_status(TOKEN, video.id, "DONE")
