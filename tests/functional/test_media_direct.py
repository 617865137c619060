"""The credentials path sends media GETs the short way (straight on the ``AuthorizedSession``'s
connection pool), with every guarantee of the ordinary ``requests`` path, over real HTTP.

Most download tests pass a ``session_factory`` (plain ``requests``); these run the same kinds
of answer through ``Downloader(credentials)``: resumes, redirects and the allowlist, timeouts,
connection reuse, content coding, the token refreshed on a 401, and a proxy, which takes the
ordinary way.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pytest
import requests
import urllib3
from google.oauth2.credentials import Credentials

from picker_discovery import errors
from picker_discovery._media import run
from picker_discovery._media.direct import DirectSession, EnvironmentSettings, _send
from picker_discovery._media.pool import Downloader
from picker_discovery._retry import RetryPolicy
from picker_discovery.testing import Fault
from tests.emulated_media import TOKEN, MediaHost, emu, foreign, server
from tests.functional.test_media_download import Sleeps, files, photo, sha, video

__all__ = ["emu", "foreign", "server"]  # fixtures


def make(server: MediaHost, sleeps: Sleeps | None = None, **kwargs: Any) -> Downloader:
    kwargs.setdefault("allowed_hosts", [server.origin])
    kwargs.setdefault("retry", RetryPolicy(max_attempts=3, random=lambda: 0.0))
    kwargs.setdefault("sleep", sleeps if sleeps is not None else Sleeps())
    return Downloader(Credentials(token=TOKEN), **kwargs)


def ranges(server: MediaHost) -> list[str | None]:
    return [attempt.headers.get("range") for attempt in server.requests]


@pytest.fixture
def no_session_request(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Fail any request that goes through ``requests.Session.request``; the URLs tried."""
    tried: list[str] = []

    def refuse(self: requests.Session, method: str, url: str, **kwargs: Any) -> Any:
        tried.append(url)
        raise AssertionError(f"a media GET went through requests.Session.request: {url}")

    monkeypatch.setattr(requests.Session, "request", refuse)
    return tried


def test_media_gets_skip_requests_session_request(
    server: MediaHost, tmp_path: Path, no_session_request: list[str]
) -> None:
    items = [photo(server, f"p{n}", f"IMG_{n}.jpg", 200_000 + n) for n in range(6)]

    result = make(server, workers=3).download_items(items, tmp_path)

    assert result.ok, result.failed
    assert no_session_request == []
    for done in result.downloaded:
        assert sha(done.path) == server.digest(done.item_id)
    # The token, and the headers requests would send with it.
    assert all(attempt.authorized for attempt in server.requests)
    agent = requests.utils.default_user_agent()
    assert {attempt.headers.get("user-agent") for attempt in server.requests} == {agent}
    assert {attempt.headers.get("accept-encoding") for attempt in server.requests} == {"identity"}


def test_one_worker_keeps_one_connection(
    server: MediaHost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    connects: list[object] = []
    real = run._CuttableConnection.connect

    def counting(self: run._CuttableConnection) -> None:
        connects.append(self)
        real(self)

    monkeypatch.setattr(run._CuttableConnection, "connect", counting)
    items = [photo(server, f"p{n}", f"IMG_{n}.jpg", 100_000 + n) for n in range(5)]

    result = make(server, workers=1).download_items(items, tmp_path)

    assert result.ok, result.failed
    assert len(server.requests) == 5
    assert len(connects) == 1


def test_a_dropped_body_resumes_at_the_exact_byte(
    server: MediaHost, tmp_path: Path, no_session_request: list[str]
) -> None:
    item = photo(server, "p1", "a.jpg", 1_000_000, faults=(Fault(drop_after=300_001),))
    sleeps = Sleeps()

    result = make(server, sleeps).download_items([item], tmp_path)

    assert result.ok, result.failed
    assert sha(tmp_path / "a.jpg") == server.digest("p1")
    assert ranges(server) == [None, "bytes=300001-"]
    assert len(sleeps) == 1


def test_a_stalled_answer_times_out_and_is_retried(
    server: MediaHost, tmp_path: Path, no_session_request: list[str]
) -> None:
    item = photo(server, "p1", "a.jpg", 400_000, faults=(Fault(stall=30),))
    sleeps = Sleeps()

    result = make(server, sleeps, timeout=(5.0, 0.5)).download_items([item], tmp_path)

    assert result.ok, result.failed
    assert sha(tmp_path / "a.jpg") == server.digest("p1")
    assert len(server.requests) == 2 and len(sleeps) == 1


def test_an_error_status_is_retried_as_the_policy_says(
    server: MediaHost, tmp_path: Path, no_session_request: list[str]
) -> None:
    item = photo(server, "p1", "a.jpg", faults=(Fault(status=503, retry_after=7),))
    sleeps = Sleeps()

    result = make(server, sleeps).download_items([item], tmp_path)

    assert result.ok, result.failed
    assert sleeps == [7.0]


def test_a_redirect_off_the_allowlist_sends_nothing_there(
    server: MediaHost, foreign: MediaHost, tmp_path: Path, no_session_request: list[str]
) -> None:
    foreign.add("v1", 5000, content_type="video/mp4", video=True)
    item = video(server, "v1", "clip.mp4", faults=(Fault(redirect=foreign.url("v1") + "=dv"),))

    result = make(server).download_items([item], tmp_path)

    assert isinstance(result.failed[0].error, errors.UntrustedMediaHost)
    assert foreign.requests == []
    assert files(tmp_path) == []


def test_a_redirect_within_the_allowlist_is_followed(
    server: MediaHost, tmp_path: Path, no_session_request: list[str]
) -> None:
    server.add("v2", 5000, content_type="video/mp4", video=True)
    item = video(server, "v1", "clip.mp4", faults=(Fault(redirect=server.url("v2") + "=dv"),))

    result = make(server).download_items([item], tmp_path)

    assert result.ok, result.failed
    assert sha(result.downloaded[0].path) == server.digest("v2")
    assert server.paths() == ["/g1/v1=dv", "/g1/v2=dv"]
    assert all(attempt.authorized for attempt in server.requests)


@pytest.mark.usefixtures("no_proxy")
def test_a_connection_refused_fails_as_requests_would(tmp_path: Path) -> None:
    # Nothing listens on port 9: requests raises ConnectionError; so does the short way, and
    # the download retries it, then says so.
    session = DirectSession(Credentials(token=TOKEN), EnvironmentSettings())
    with pytest.raises(requests.ConnectionError):
        session.picker_get_media("http://127.0.0.1:9/g1/p1=d", {}, (2.0, 2.0))
    pool = urllib3.HTTPConnectionPool("127.0.0.1", 9)
    with pytest.raises(requests.ConnectionError):
        _send(pool, "http://127.0.0.1:9/x", "/x", {}, (2.0, 2.0))

    item = {
        "id": "p1",
        "type": "PHOTO",
        "mediaFile": {"baseUrl": "http://127.0.0.1:9/g1/p1", "mimeType": "image/jpeg"},
    }
    sleeps = Sleeps()
    downloader = Downloader(
        Credentials(token=TOKEN),
        allowed_hosts=["http://127.0.0.1:9"],
        retry=RetryPolicy(max_attempts=2, random=lambda: 0.0),
        sleep=sleeps,
    )
    result = downloader.download_items([item], tmp_path)
    assert isinstance(result.failed[0].error, errors.IncompleteDownload)
    assert len(sleeps) == 1
    assert files(tmp_path) == []  # no part file left, nothing recorded


def test_a_content_coded_answer_is_decoded(
    server: MediaHost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A server that codes the body though asked for identity: the file holds the decoded bytes.
    item = photo(server, "p1", "a.jpg", 50_000)
    plain = b"picker" * 10_000
    coded = gzip.compress(plain)

    def urlopen(self: Any, method: str, url: str, **kwargs: Any) -> urllib3.HTTPResponse:
        import io

        return urllib3.HTTPResponse(
            body=io.BytesIO(coded),
            headers={"Content-Encoding": "gzip", "Content-Type": "image/jpeg"},
            status=200,
            preload_content=False,
        )

    monkeypatch.setattr(urllib3.HTTPConnectionPool, "urlopen", urlopen)

    result = make(server).download_items([item], tmp_path)

    assert result.ok, result.failed
    assert result.downloaded[0].path.read_bytes() == plain


def test_a_proxy_takes_the_ordinary_way(
    server: MediaHost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    sent: list[dict[str, Any]] = []
    real = requests.Session.request

    def spy(self: requests.Session, method: str, url: str, **kwargs: Any) -> Any:
        sent.append(kwargs)
        return real(self, method, url, **kwargs)

    monkeypatch.setattr(requests.Session, "request", spy)
    downloader = make(server, retry=RetryPolicy.none())

    result = downloader.download_items([photo(server, "p1", "a.jpg")], tmp_path)

    assert isinstance(result.failed[0].error, errors.IncompleteDownload)  # the proxy is down
    assert server.requests == []
    assert sent and sent[0]["proxies"] == {"http": "http://127.0.0.1:9"}
