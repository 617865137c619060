"""The notebook displays: sessions (link, QR code), thumbnail grids (token-safe), pick()."""

from __future__ import annotations

import base64
import io
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from typing import Any

import pytest

from picker_discovery import notebook
from picker_discovery._client import PickerClient
from picker_discovery.errors import PickingTimeout
from picker_discovery.models import PickedMediaItem, PickingSession
from picker_discovery.notebook import ItemGrid, Thumbnail, ThumbnailFetcher, pick
from picker_discovery.testing import Backend, Emulator, FakeHttp, Fault
from tests.fakes import stamp

NOW = datetime(2026, 11, 30, 10, 0, 0, tzinfo=timezone.utc)
URI = "https://photos.google.com/integration/picker/2ea3dc54-f352-4d9d-a667-1b497bdf4e52"
HOSTILE = "<script>alert(1)</script>\"'../../etc/passwd&amp;.jpg"


class Page(HTMLParser):
    """Every start tag with its (unescaped) attributes, and all text, of an HTML fragment."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def find(self, tag: str, **attrs: str) -> list[dict[str, str]]:
        return [
            a
            for t, a in self.tags
            if t == tag and all(a.get(k.rstrip("_")) == v for k, v in attrs.items())
        ]


def session(**fields: Any) -> PickingSession:
    data: dict[str, Any] = {
        "id": "2ea3dc54-f352-4d9d-a667-1b497bdf4e52",
        "pickerUri": URI,
        "expireTime": "2026-12-07T10:00:00Z",
        "pollingConfig": {"pollInterval": "5s", "timeoutIn": "1800s"},
        "pickingConfig": {"maxItemCount": "24"},
    }
    data.update(fields)
    return PickingSession.from_dict({k: v for k, v in data.items() if v is not None})


def data_uri_bytes(uri: str) -> tuple[str, bytes]:
    head, _, payload = uri.partition(",")
    assert head.startswith("data:") and head.endswith(";base64"), head[:40]
    return head[5:-7], base64.b64decode(payload, validate=True)


def qr_text(png: bytes) -> str:
    """Decode a QR code PNG with zxing-cpp (a decoder of its own, unrelated to segno)."""
    import io

    import zxingcpp
    from PIL import Image

    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)).convert("L"))
    assert found, "no QR code found in the image"
    return str(found[0].text)


def qr_modules(png: bytes) -> list[list[bool]]:
    """The module matrix drawn in a QR PNG with a 4-module quiet zone (Pillow samples it)."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("L")
    width = image.size[0]
    # the first dark pixel on the diagonal is the finder's corner, 4 modules in
    first = next(i for i in range(width) if image.getpixel((i, i)) < 128)  # type: ignore[operator]
    scale = first // 4
    count = width // scale - 8
    return [
        [
            image.getpixel(((4 + c) * scale + scale // 2, (4 + r) * scale + scale // 2)) < 128  # type: ignore[operator]
            for c in range(count)
        ]
        for r in range(count)
    ]


# -- sessions -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "uri",
    [URI, "http://127.0.0.1:45123/pick/2ea3dc54-f352-4d9d-a667-1b497bdf4e52/autoclose"],
)
def test_session_html_links_the_uri_and_its_qr_code_decodes_back(uri: str) -> None:
    # _repr_html_ counts from the wall clock, and shows the QR code only while one can pick.
    expires = stamp(datetime.now(timezone.utc) + timedelta(days=7))
    html = session(pickerUri=uri, expireTime=expires)._repr_html_()
    page = Page(html)
    links = page.find("a")
    assert [a["href"] for a in links] == [uri]
    assert links[0]["target"] == "_blank"
    assert "noopener" in links[0]["rel"]
    [img] = page.find("img", class_="picker-qr")
    kind, png = data_uri_bytes(img["src"])
    assert kind == "image/png"
    assert qr_text(png) == uri  # an independent decoder reads the very image shown
    import segno  # and segno's own matrix for the URI is the one drawn

    expected = [[bool(bit) for bit in row] for row in segno.make(uri, micro=False).matrix]
    assert qr_modules(png) == expected


def test_session_html_tells_status_expiry_and_polling() -> None:
    text = " ".join(Page(notebook.session_html(session(), now=NOW)).text)
    assert "waiting for the user to pick" in text
    assert "in 7 days" in text and "2026-12-07 10:00:00 UTC" in text
    assert "every 5 s, for up to 30 min" in text
    assert "24 items" in text
    assert "cannot be shown inside the notebook" in text  # why it is a link, not an iframe
    later = notebook.session_html(session(), now=NOW + timedelta(days=6, hours=23, minutes=30))
    assert "in 30 min" in " ".join(Page(later).text)


def test_a_picked_session_has_no_link_and_no_qr_code() -> None:
    picked = session(mediaItemsSet=True, pollingConfig=None)
    page = Page(notebook.session_html(picked, now=NOW))
    assert page.find("a") == [] and page.find("img") == []
    assert "picked" in " ".join(page.text)
    expired = Page(notebook.session_html(session(), now=NOW + timedelta(days=8)))
    assert expired.find("a") == [] and "expired" in " ".join(expired.text)


def test_hostile_session_values_are_escaped() -> None:
    uri = "https://photos.google.com/p?a=\"><script>alert(1)</script>&b='x"
    html = notebook.session_html(session(pickerUri=uri, id=HOSTILE), now=NOW)
    page = Page(html)
    assert all(tag != "script" for tag, _ in page.tags)
    assert "<script>" not in html
    assert [a["href"] for a in page.find("a")] == [uri]  # intact once unescaped
    assert HOSTILE in "".join(page.text)


@pytest.mark.parametrize("uri", ["javascript:alert(1)", "data:text/html,<b>x</b>", "/relative"])
def test_a_uri_that_is_not_a_web_link_is_never_linked(uri: str) -> None:
    page = Page(notebook.session_html(session(pickerUri=uri), now=NOW))
    assert page.find("a") == []
    assert uri in "".join(page.text)


def test_without_segno_the_display_says_how_to_get_the_qr_code(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "segno", None)  # import segno raises ImportError
    page = Page(notebook.session_html(session(), now=NOW))
    assert page.find("img") == []
    assert [a["href"] for a in page.find("a")] == [URI]
    assert notebook.QR_MISSING_HINT in "".join(page.text)


def test_repr_is_short_and_plain() -> None:
    text = repr(session(extra_field="x"))
    assert text == (
        "PickingSession(id='2ea3dc54-f352-4d9d-a667-1b497bdf4e52', media_items_set=False, "
        f"expire_time='2026-12-07T10:00:00Z', picker_uri='{URI}')"
    )
    item = PickedMediaItem.from_dict(
        {"id": "A1", "type": "PHOTO", "mediaFile": {"filename": HOSTILE, "mimeType": "image/jpeg"}}
    )
    assert repr(item) == (
        f"PickedMediaItem(id='A1', type='PHOTO', filename={HOSTILE!r}, mime_type='image/jpeg')"
    )
    page = Page(item._repr_html_())
    assert all(tag != "script" for tag, _ in page.tags) and HOSTILE in "".join(page.text)


def test_models_do_not_import_the_notebook_module() -> None:
    code = (
        "import sys, picker_discovery, picker_discovery.models, picker_discovery._client; "
        "assert 'picker_discovery.notebook' not in sys.modules; "
        "assert 'segno' not in sys.modules and 'IPython' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# -- thumbnails -----------------------------------------------------------------------------


def item(base_url: str, filename: str = "a.jpg", kind: str = "PHOTO") -> PickedMediaItem:
    return PickedMediaItem.from_dict(
        {
            "id": f"id-{filename}",
            "type": kind,
            "mediaFile": {"baseUrl": base_url, "mimeType": "image/jpeg", "filename": filename},
        }
    )


def fetcher_for(emulator: Emulator, token: str = "emulator-token") -> ThumbnailFetcher:
    import google.oauth2.credentials

    credentials = google.oauth2.credentials.Credentials(token=token)
    return ThumbnailFetcher(credentials, allowed_hosts=[emulator.media_url])


def test_grid_fetches_thumbnails_with_the_token_and_embeds_data_uris(
    picker_emulator: Emulator, picker_emulator_client: PickerClient
) -> None:
    client = picker_emulator_client
    with client.picking_session() as created:
        ids = [i.id for i in picker_emulator.library("emulator-token")[:12]]
        picker_emulator.pick(created.id or "", ids)
        items = client.list_media_items(created)
        grid = ItemGrid(items, fetcher_for(picker_emulator)).load()
    html = grid._repr_html_()
    page = Page(html)
    images = page.find("img")
    assert len(images) == len(items) == 12
    for img in images:
        kind, data = data_uri_bytes(img["src"])
        assert kind in ("image/png", "image/jpeg", "image/gif", "image/webp")
        from PIL import Image

        assert Image.open(io.BytesIO(data)).size == (256, 256)  # =w256-h256-c: cropped square
    media = [a for a in picker_emulator.attempts() if a.path.startswith("/ppa/")]
    assert len(media) == 12
    assert all(a.path.endswith("=w256-h256-c") for a in media)
    # the library's awkward names (../../etc/passwd.jpg and friends) come out as text
    names = [i.media_file.filename for i in items if i.media_file and i.media_file.filename]
    text = "".join(page.text)
    assert all(name in text for name in names)
    assert all(tag not in ("script", "iframe") for tag, _ in page.tags)
    assert repr(grid) == "<ItemGrid of 12 items (12 photo), 12 thumbnails>"


def test_a_wrong_token_shows_why_instead_of_an_image(
    picker_emulator: Emulator, picker_emulator_client: PickerClient
) -> None:
    with picker_emulator_client.picking_session() as created:
        picker_emulator.pick(created.id or "", first=2)
        items = picker_emulator_client.list_media_items(created)
        grid = ItemGrid(items, fetcher_for(picker_emulator, token="someone-else"))
        html = grid._repr_html_()
    assert Page(html).find("img") == []
    whys = [why for _, why in grid.failures]
    assert len(whys) == 2
    assert all(why.startswith("the media host answered HTTP 403: the baseUrl") for why in whys)


def picked_base_urls(emulator: Emulator, token: str, count: int) -> list[str]:
    """The baseUrls of ``count`` items ``token``'s user picked in a new session."""
    service = emulator.build(token=token)
    session_id = service.sessions().create(body={}).execute()["id"]
    emulator.pick(session_id, first=count)
    page = service.mediaItems().list(sessionId=session_id).execute()
    return [found["mediaFile"]["baseUrl"] for found in page["mediaItems"]]


def test_the_token_never_goes_to_a_host_off_the_allowlist(picker_emulator: Emulator) -> None:
    """The emulator's media origin is allowed and redirects away, to its second origin
    (``downloads_url``), which is not; the attempt log shows what reached each."""
    (hop_url,) = picked_base_urls(picker_emulator, "secret-token", 1)
    elsewhere = picker_emulator.downloads_url.rstrip("/")
    hop_path = hop_url.removeprefix(picker_emulator.media_url.rstrip("/"))
    picker_emulator.set_faults("media", [Fault(redirect=f"{elsewhere}{hop_path}=w256-h256-c")])
    picker_emulator.backend.clear_attempts()
    import google.oauth2.credentials

    credentials = google.oauth2.credentials.Credentials(token="secret-token")
    fetch = ThumbnailFetcher(credentials, allowed_hosts=[picker_emulator.media_url])
    items = [
        item(f"{elsewhere}{hop_path}", "direct.jpg"),
        item(hop_url, "hop.jpg"),
        item(f"https://lh3.googleusercontent.com.{elsewhere[7:]}/x", "lookalike.jpg"),
        item(f"http://user@{elsewhere[7:]}/x", "userinfo.jpg"),
    ]
    grid = ItemGrid(items, fetch).load()
    attempts = picker_emulator.attempts()
    assert [a.origin for a in attempts] == ["media"]  # nothing at all was sent elsewhere
    assert attempts[0].authorized  # the allowed hop had the token
    assert len(grid.failures) == 4
    assert all("not on the allowlist" in why for _, why in grid.failures)
    assert "secret-token" not in grid._repr_html_() + repr(grid)


@pytest.mark.parametrize(
    ("fault", "why"),
    [
        (Fault(status=500), "the media host answered HTTP 500"),
        (Fault(status=403), "the media host answered HTTP 403: the baseUrl"),
        (Fault(content_type="text/html; charset=UTF-8"), "not an image: Content-Type text/html"),
        (Fault(size_delta=4 * 1024 * 1024), "the thumbnail is larger than 4 MiB"),
    ],
    ids=["http-500", "http-403", "not-an-image", "too-large"],
)
def test_a_thumbnail_the_host_mis_answers_shows_why(
    picker_emulator: Emulator, picker_emulator_client: PickerClient, fault: Fault, why: str
) -> None:
    with picker_emulator_client.picking_session() as created:
        picker_emulator.pick(created.id or "", first=2)
        items = picker_emulator_client.list_media_items(created)
        picker_emulator.set_faults("media", [fault])  # the first thumbnail only
        grid = ItemGrid(items, fetcher_for(picker_emulator)).load()
    assert len(Page(grid._repr_html_()).find("img")) == 1
    assert len(grid.failures) == 1 and grid.failures[0][1].startswith(why)


def test_default_allowlist_is_googleusercontent_over_https_only() -> None:
    from picker_discovery._media.pool import HostAllowlist

    allow = HostAllowlist(notebook.DEFAULT_ALLOWED_HOSTS)
    assert allow.allows("https://lh3.googleusercontent.com/ppa/x=w256-h256-c")
    for url in (
        "http://lh3.googleusercontent.com/ppa/x",
        "https://googleusercontent.com/x",
        "https://evilgoogleusercontent.com/x",
        "https://lh3.googleusercontent.com.evil.net/x",
        "https://lh3.googleusercontent.com:8443/x",
        "https://a@lh3.googleusercontent.com/x",
        "https://lh3.googleusercontent.com\\@evil.net/x",
        "javascript:alert(1)",
    ):
        assert not allow.allows(url), url


def test_a_fetch_that_answers_a_non_image_is_not_embedded() -> None:
    def fetch(url: str) -> Thumbnail:
        return Thumbnail(b"<script>alert(1)</script>", "text/html")

    grid = ItemGrid([item("https://lh3.googleusercontent.com/x", HOSTILE)], fetch)
    page = Page(grid._repr_html_())
    assert page.find("img") == []
    assert grid.failures[0][1] == "not an image: Content-Type text/html"
    assert all(tag != "script" for tag, _ in page.tags)
    assert HOSTILE in "".join(page.text)


def test_for_client_needs_credentials_and_allows_google_and_the_media_hosts(
    picker_client: PickerClient, picker_emulator: Emulator
) -> None:
    with pytest.raises(ValueError, match="no credentials"):
        ThumbnailFetcher.for_client(picker_client)  # built over FakeHttp: no credentials
    client = PickerClient(picker_emulator.build("emulator-token"))
    fetch = ThumbnailFetcher.for_client(client, media_hosts=[picker_emulator.media_url])
    assert fetch.allowlist.entries == ("*.googleusercontent.com", picker_emulator.media_url)


def test_grid_without_fetch_lists_names() -> None:
    grid = ItemGrid([item("https://lh3.googleusercontent.com/x", kind="VIDEO")])
    assert repr(grid) == "<ItemGrid of 1 item (1 video)>"
    assert "no fetch function" in grid._repr_html_()
    assert repr(grid) == "<ItemGrid of 1 item (1 video), 0 thumbnails>"


# -- pick() ---------------------------------------------------------------------------------


def test_pick_waits_lists_and_fetches_thumbnails(
    picker_emulator: Emulator, picker_emulator_client: PickerClient
) -> None:
    def user_picks(state: PickingSession) -> None:
        if not state.media_items_set:  # the user taps Done after the first poll
            picker_emulator.pick(state.id or "", first=3)

    result = pick(
        picker_emulator_client,
        max_items=5,
        media_hosts=[picker_emulator.media_url],
        on_poll=user_picks,
        progress=False,
    )
    assert result.session.media_items_set
    assert len(result.items) == 3
    assert len(Page(result.grid._repr_html_()).find("img")) == 3
    assert "3 items picked" in result._repr_html_()
    assert picker_emulator.backend.sessions() == []  # deleted once done
    assert repr(result).startswith("<Picked 3 items from session ")


def test_stop_button_during_the_wait_deletes_the_session(
    picker_backend: Backend, picker_http: FakeHttp, picker_client: PickerClient
) -> None:
    polls: list[str] = []

    def stop(state: PickingSession) -> None:
        polls.append(state.id or "")
        raise KeyboardInterrupt  # what Jupyter's stop button raises in the cell

    with pytest.raises(KeyboardInterrupt):
        pick(picker_client, timeout=600, on_poll=stop)
    assert len(polls) == 1
    assert picker_backend.sessions() == []
    assert ("DELETE", f"/v1/sessions/{polls[0]}") in picker_http.paths()


def test_a_timeout_deletes_the_session_too(
    picker_backend: Backend, picker_client: PickerClient
) -> None:
    with pytest.raises(PickingTimeout):
        pick(picker_client, timeout=30)
    assert picker_backend.sessions() == []


def test_pick_downloads_to_a_folder_before_deleting_the_session(
    picker_emulator: Emulator, picker_emulator_client: PickerClient, tmp_path: Any
) -> None:
    def user_picks(state: PickingSession) -> None:
        if not state.media_items_set:
            picker_emulator.pick(state.id or "", first=4)

    result = pick(
        picker_emulator_client,
        folder=tmp_path,
        media_hosts=[picker_emulator.media_url],
        on_poll=user_picks,
        progress=False,
    )
    assert result.downloads is not None and result.downloads.ok
    done = result.downloads.downloaded
    assert len(done) + len(result.downloads.skipped) == 4
    assert done and all(d.path.parent == tmp_path and d.path.stat().st_size == d.size for d in done)
    assert picker_emulator.backend.sessions() == []
    assert f"4 items picked, {len(done)} downloaded" in result._repr_html_()


def test_thumbnails_load_in_parallel_and_keep_the_items_order() -> None:
    import random
    import time

    threads: set[str] = set()
    progress: list[tuple[int, int]] = []

    def fetch(url: str) -> Thumbnail:
        threads.add(threading.current_thread().name)
        time.sleep(random.uniform(0, 0.02))
        return Thumbnail(url.encode(), "image/png")

    items = [item(f"https://lh3.googleusercontent.com/{n}", f"{n}.jpg") for n in range(20)]
    grid = ItemGrid(items, fetch).load(lambda done, total: progress.append((done, total)))
    sources = [img["src"] for img in Page(grid._repr_html_()).find("img")]
    assert [data_uri_bytes(src)[1] for src in sources] == [
        f"https://lh3.googleusercontent.com/{n}=w256-h256-c".encode() for n in range(20)
    ]
    assert progress == [(n, 20) for n in range(1, 21)]
    assert len(threads) > 1


def test_a_uri_too_long_for_a_qr_code_still_gets_its_link() -> None:
    uri = URI + "?" + "x" * 3000
    page = Page(notebook.session_html(session(pickerUri=uri), now=NOW))
    assert [a["href"] for a in page.find("a")] == [uri]
    assert page.find("img") == []
    assert "too long" in "".join(page.text)


class FakeDisplay:
    """Stands in for IPython.display.display: records what is shown and every update."""

    def __init__(self) -> None:
        self.shown: list[object] = []
        self.updates: list[object] = []

    def __call__(self, obj: object, display_id: bool = False) -> Any:
        self.shown.append(obj)
        recorder = self

        class Handle:
            def update(self, new: object) -> None:
                recorder.updates.append(new)

        return Handle() if display_id else None


def test_pick_shows_a_live_status_in_ipython(
    picker_emulator: Emulator, picker_emulator_client: PickerClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import IPython
    import IPython.display

    display = FakeDisplay()
    monkeypatch.setattr(IPython, "get_ipython", lambda: object())
    monkeypatch.setattr(IPython.display, "display", display)
    import importlib.util

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)  # no ipywidgets

    def user_picks(state: PickingSession) -> None:
        if not state.media_items_set:
            picker_emulator.pick(state.id or "", first=3)

    result = pick(
        picker_emulator_client, media_hosts=[picker_emulator.media_url], on_poll=user_picks
    )
    first, grid = display.shown
    assert isinstance(first, notebook.SessionView) and first.note == "waiting…"
    assert grid is result.grid
    notes = [u.note for u in display.updates if isinstance(u, notebook.SessionView)]
    assert notes[0] == "polled 1 time, 5 s so far"
    assert "3 items picked; thumbnails: 3 of 3" in notes
    assert notes[-1] == "3 items picked"
    assert "waiting for the user to pick" in display.updates[0]._repr_html_()  # type: ignore[attr-defined]


def test_pick_outside_ipython_shows_progress_with_tqdm(
    picker_emulator: Emulator,
    picker_emulator_client: PickerClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    def user_picks(state: PickingSession) -> None:
        if not state.media_items_set:
            picker_emulator.pick(state.id or "", first=2)

    pick(picker_emulator_client, media_hosts=[picker_emulator.media_url], on_poll=user_picks)
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing printed
    assert "thumbnails: 100%" in captured.err and "2/2" in captured.err
