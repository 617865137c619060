"""Media items the downloader tests name themselves, served by the emulator's media origin.

Not a server: a thin view of :class:`~picker_discovery.testing.Emulator` for tests that build
their own item dicts. ``add("p1", 1000)`` puts an item with id ``p1`` in the user's library;
``url("p1", "g1")`` is a real baseUrl for it (each "generation" is its own session, so a
re-listing can hand out a new URL, and ``expire("g1")`` ends that generation's URLs with the
emulator's 403); ``fault("p1", Fault(...))`` scripts the emulator's faults for that item only;
``requests`` are the emulator's recorded attempts on this origin and ``paths()`` spell them
``/g1/p1=d``. ``on_downloads()`` is the same items on the emulator's second media origin.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime, timezone

import pytest

from picker_discovery.testing import Emulator, Fault, library
from picker_discovery.testing._media_app import media_payload
from picker_discovery.testing.backend import Attempt

TOKEN = "test-token"
_CREATED = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


class MediaHost:
    def __init__(self, emu: Emulator, token: str = TOKEN, origin: str = "media") -> None:
        self.emu = emu
        self.token = token
        self.origin_name = origin
        self.items: dict[str, library.MediaItem] = {}
        self._sessions: dict[tuple[str, str], tuple[str, str]] = {}  # (gen, key) -> (id, url)
        self._keys: dict[str, tuple[str, str]] = {}  # the emulator's key -> (gen, key)
        self._expired: set[str] = set()

    def on_downloads(self) -> MediaHost:
        """The same items, generations and faults, seen on the second media origin."""
        other = MediaHost(self.emu, self.token, "downloads")
        other.items, other._sessions, other._keys, other._expired = (
            self.items,
            self._sessions,
            self._keys,
            self._expired,
        )
        return other

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:PORT``, as an allowlist entry."""
        root = self.emu.media_url if self.origin_name == "media" else self.emu.downloads_url
        return root.rstrip("/")

    def add(
        self, key: str, size: int = 1000, *, content_type: str = "image/jpeg", video: bool = False
    ) -> library.MediaItem:
        """An item of ``size`` bytes (a video is served ``READY``; the item dicts a test
        builds say what status it was listed with)."""
        item = library.MediaItem(
            id=key,
            type="VIDEO" if video else "PHOTO",
            mime_type=content_type,
            filename=f"{key}.bin",
            create_time=_CREATED,
            width=4,
            height=3,
            size=size,
        )
        self.items[key] = item
        self.emu.seed_library(self.token, items=list(self.items.values()))
        return item

    def url(self, key: str, generation: str = "g1") -> str:
        """The item's baseUrl in ``generation`` (listed now, unless that one has expired)."""
        found = self._sessions.get((generation, key))
        if found is None:
            backend = self.emu.backend
            session_id = backend.create_session(self.token, {})["id"]
            backend.pick(session_id, [key])
            page = backend.list_media_items(self.token, session_id)
            url = page["mediaItems"][0]["mediaFile"]["baseUrl"]
            found = self._sessions[(generation, key)] = (session_id, url)
            self._keys[url.rsplit("/", 1)[1]] = (generation, key)
            if generation in self._expired:
                backend.expire_base_urls(session_id)
        url = found[1]
        if self.origin_name == "downloads":
            url = self.emu.downloads_url + url[len(self.emu.media_url) :]
        return url

    def expire(self, *generations: str) -> None:
        """End the baseUrls of these generations (the emulator answers them 403)."""
        self._expired.update(generations)
        for (generation, _), (session_id, _) in self._sessions.items():
            if generation in generations:
                self.emu.backend.expire_base_urls(session_id)

    def fault(self, key: str, *faults: Fault) -> None:
        """Script the next requests for ``key`` (any generation, either origin)."""
        self.emu.set_faults("media", faults, item_id=key)

    @property
    def requests(self) -> list[Attempt]:
        return [a for a in self.emu.attempts("media") if a.origin == self.origin_name]

    def paths(self) -> list[str]:
        """Each request's path as ``/<generation>/<key>=<suffix>``."""
        spelled = []
        for attempt in self.requests:
            emulator_key, _, suffix = attempt.path.rsplit("/", 1)[1].partition("=")
            generation, key = self._keys[emulator_key]
            spelled.append(f"/{generation}/{key}={suffix}")
        return spelled

    def digest(self, key: str) -> str:
        """The SHA-256 of the item's original bytes (what ``=d``/``=dv`` serve)."""
        item = self.items[key]
        sha = hashlib.sha256()
        for chunk in library.original_chunks(item, 0, item.size):
            sha.update(chunk)
        return sha.hexdigest()

    def image(self, key: str, width: int, height: int) -> bytes:
        """The image the emulator serves for ``=w{width}-h{height}-c`` (in the original's
        format)."""
        return media_payload(self.items[key], f"w{width}-h{height}-c")[1].to_bytes()


@pytest.fixture
def emu(no_proxy: None) -> Iterator[Emulator]:
    with Emulator(max_live_sessions=100_000) as running:
        yield running


@pytest.fixture
def server(emu: Emulator) -> MediaHost:
    """The emulator's media origin, holding the items a test adds."""
    return MediaHost(emu)


@pytest.fixture
def foreign(server: MediaHost) -> MediaHost:
    """The emulator's second media origin, left off the allowlist: nothing may reach it."""
    return server.on_downloads()
