"""Finding, loading, validating and refreshing the discovery document."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from picker_discovery import _discovery as discovery
from picker_discovery._discovery import DiscoveryDocumentError
from picker_discovery.testing import Fault
from tests.conftest import document_answer

Serve = Callable[..., str]

BUNDLED: dict[str, Any] = json.loads(discovery.BUNDLED_DOCUMENT.read_text("utf-8"))


@pytest.fixture(autouse=True)
def isolated_places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No environment variable and an empty user cache, whatever the machine has."""
    monkeypatch.delenv(discovery.ENV_VAR, raising=False)
    cache_home = tmp_path / "cache-home"
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache_home))
    return cache_home


def write(path: Path, document: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(document if isinstance(document, str) else json.dumps(document), "utf-8")
    return path


def variant(**changes: Any) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(json.dumps(BUNDLED))
    document.update(changes)
    return document


# -- the search order ------------------------------------------------------------------------


def test_bundled_copy_is_used_when_nothing_else_is_there() -> None:
    document, source = discovery.load_document()
    assert source.kind == "bundled"
    assert document == BUNDLED


def test_user_cache_beats_bundled(isolated_places: Path) -> None:
    write(discovery.user_cache_path(), variant(revision="20990101"))
    assert discovery.user_cache_path().is_relative_to(isolated_places)
    document, source = discovery.load_document()
    assert (source.kind, document["revision"]) == ("user-cache", "20990101")


def test_environment_beats_user_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(discovery.user_cache_path(), variant(revision="1"))
    monkeypatch.setenv(discovery.ENV_VAR, str(write(tmp_path / "env.json", variant(revision="2"))))
    document, source = discovery.load_document()
    assert (source.kind, document["revision"]) == ("environment", "2")


def test_explicit_path_beats_everything(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(discovery.user_cache_path(), variant(revision="1"))
    monkeypatch.setenv(discovery.ENV_VAR, str(write(tmp_path / "env.json", variant(revision="2"))))
    explicit = write(tmp_path / "explicit.json", variant(revision="3"))
    document, source = discovery.load_document(explicit)
    assert (source.kind, source.location, document["revision"]) == (
        "explicit",
        str(explicit),
        "3",
    )


def test_missing_explicit_or_environment_file_is_an_error_not_a_fallback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(DiscoveryDocumentError, match=r"nope\.json.*cannot be read"):
        discovery.load_document(missing)
    monkeypatch.setenv(discovery.ENV_VAR, str(missing))
    with pytest.raises(DiscoveryDocumentError, match=r"nope\.json"):
        discovery.load_document()


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("", "is empty"),
        ('{"name": "photospicker",', "is not valid JSON"),
        ("[1, 2]", "is not a JSON object"),
        (variant(name="drive", version="v3"), "describes 'drive' 'v3'"),
        (variant(version="v2"), "not 'photospicker' 'v1'"),
        (variant(rootUrl="http://photospicker.googleapis.com/"), "not an https"),
        (variant(rootUrl="https://evil.example.com/"), "not an https \\*.googleapis.com"),
        (variant(rootUrl="https://googleapis.com.evil.example/"), "googleapis.com URL"),
        (variant(resources={"sessions": {"methods": {}}}), "lacks the method"),
        (variant(kind="discovery#directoryList"), "has kind"),
    ],
    ids=[
        "empty",
        "truncated",
        "not-an-object",
        "foreign-api",
        "wrong-version",
        "plain-http",
        "foreign-host",
        "lookalike-host",
        "missing-methods",
        "wrong-kind",
    ],
)
def test_broken_or_foreign_documents_are_named_and_explained(
    tmp_path: Path, content: Any, problem: str
) -> None:
    path = write(tmp_path / "doc.json", content)
    with pytest.raises(DiscoveryDocumentError, match=problem) as caught:
        discovery.load_document(path)
    assert caught.value.source == str(path)
    assert str(path) in str(caught.value)


def test_not_utf8_is_explained(tmp_path: Path) -> None:
    path = tmp_path / "doc.json"
    path.write_bytes(b"\xff\xfe{}")
    with pytest.raises(DiscoveryDocumentError, match="not UTF-8"):
        discovery.load_document(path)


def test_another_root_host_only_when_the_caller_allows_it(tmp_path: Path) -> None:
    path = write(tmp_path / "doc.json", variant(rootUrl="http://127.0.0.1:8080/"))
    with pytest.raises(DiscoveryDocumentError, match="allowed_hosts"):
        discovery.load_document(path)
    document, _ = discovery.load_document(path, allowed_hosts=["127.0.0.1"])
    assert document["rootUrl"] == "http://127.0.0.1:8080/"


def test_a_broken_user_copy_falls_back_to_the_bundled_one_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    write(discovery.user_cache_path(), '{"half": ')
    with caplog.at_level(logging.WARNING, logger="picker_discovery._discovery"):
        document, source = discovery.load_document()
    assert source.kind == "bundled"
    assert document == BUNDLED
    assert "ignoring the refreshed copy" in caplog.text
    assert str(discovery.user_cache_path()) in caplog.text


# -- parsing once per process ----------------------------------------------------------------


def test_a_file_is_read_once_while_it_is_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "doc.json", variant(revision="1"))
    reads: list[Path] = []
    real_read = discovery._read_capped

    def counting_read(path: Path, label: str) -> bytes:
        reads.append(path)
        return real_read(path, label)

    monkeypatch.setattr(discovery, "_read_capped", counting_read)
    first, _ = discovery.load_document(path)
    second, _ = discovery.load_document(path)
    assert reads == [path]
    assert first == second and first is not second  # each caller gets its own copy

    first["revision"] = "changed by the caller"
    assert discovery.load_document(path)[0]["revision"] == "1"

    write(path, variant(revision="2 and longer"))  # another size: the memo must notice
    assert discovery.load_document(path)[0]["revision"] == "2 and longer"
    assert reads == [path, path]


def test_building_twice_does_not_read_the_bundled_file_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from googleapiclient.http import HttpMock

    import picker_discovery

    picker_discovery.build(http=HttpMock(None, {"status": "200"}))
    opened: list[str] = []
    real_read = type(discovery.BUNDLED_DOCUMENT).read_bytes

    def spy(self: Any) -> bytes:
        opened.append(str(self))
        return real_read(self)

    monkeypatch.setattr(type(discovery.BUNDLED_DOCUMENT), "read_bytes", spy)
    picker_discovery.build(http=HttpMock(None, {"status": "200"}))
    assert opened == []


# -- refresh against the emulator's scripted discovery answers -------------------------------


def live_document_without_scopes() -> bytes:
    document = variant(revision="20991231")
    del document["auth"]
    return json.dumps(document).encode()


def test_refresh_stores_the_live_document_with_the_scope_block_added(
    serve_document: Serve,
) -> None:
    url = serve_document(document_answer(live_document_without_scopes()))
    path = discovery.refresh(url)
    assert path == discovery.user_cache_path()
    stored = json.loads(path.read_text("utf-8"))
    assert stored["revision"] == "20991231"
    assert list(stored["auth"]["oauth2"]["scopes"]) == [discovery.SCOPE]
    document, source = discovery.load_document()
    assert (source.kind, document["revision"]) == ("user-cache", "20991231")
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_refresh_keeps_a_scope_block_the_live_document_has(
    serve_document: Serve, tmp_path: Path
) -> None:
    document = variant(auth={"oauth2": {"scopes": {"https://example/scope": {}}}})
    url = serve_document(document_answer(document))
    path = discovery.refresh(url, destination=tmp_path / "doc.json")
    assert list(json.loads(path.read_text("utf-8"))["auth"]["oauth2"]["scopes"]) == [
        "https://example/scope"
    ]


LIVE = live_document_without_scopes()


@pytest.mark.parametrize(
    ("fault", "problem"),
    [
        (document_answer(LIVE, length_delta=999_999 - len(LIVE)), "cut short|could not be"),
        (document_answer(LIVE, truncate=True), "cut short|could not be"),
        (document_answer(LIVE, drop_after=100), "cut short|could not be"),
        (Fault(drop=True), "could not be fetched"),
        (document_answer(b"<html>Sign in</html>"), "is not valid JSON"),
        (Fault(body="<html>Sign in</html>", content_type="text/html"), "is not valid JSON"),
        (Fault(status=500), "answered HTTP 500"),
        (Fault(status=503, html=True), "answered HTTP 503"),
        (Fault(status=404, body=b"Not Found"), "answered HTTP 404"),
        (document_answer(variant(name="drive", version="v3")), "'drive'"),
        (document_answer(variant(rootUrl="https://evil.example/")), "rootUrl"),
        (document_answer(b" " * (discovery.MAX_DOCUMENT_BYTES + 1)), "more than the 4 MiB"),
    ],
    ids=[
        "long-length",
        "truncated",
        "dropped-mid-body",
        "dropped",
        "not-json",
        "html-page",
        "http-500",
        "http-503-html",
        "http-404",
        "another-api",
        "foreign-root",
        "huge",
    ],
)
def test_a_failed_refresh_leaves_the_previous_copy_untouched(
    serve_document: Serve, fault: Fault, problem: str
) -> None:
    previous = write(discovery.user_cache_path(), variant(revision="20200101"))
    before = previous.read_bytes()
    url = serve_document(*[fault] * 3)  # a server that answers so every time (a retry too)
    with pytest.raises(DiscoveryDocumentError, match=problem) as caught:
        discovery.refresh(url)
    assert caught.value.source == url
    assert previous.read_bytes() == before
    assert [p.name for p in previous.parent.iterdir()] == [previous.name]  # no temporary left


def test_refresh_from_an_unreachable_host_is_a_clear_error() -> None:
    import socket

    with socket.socket() as probe:  # a port that is closed once this block ends
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(DiscoveryDocumentError, match="could not be fetched"):
        discovery.refresh(f"http://127.0.0.1:{port}/$discovery/rest?version=v1", timeout=5)
    assert not discovery.user_cache_path().exists()


def test_an_interrupted_write_leaves_no_file_behind(
    serve_document: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = serve_document(document_answer(live_document_without_scopes()))

    def crash(src: str, dst: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        discovery.refresh(url)
    directory = discovery.user_cache_path().parent
    assert list(directory.iterdir()) == []


def test_refresh_from_another_host_needs_it_allowed_for_its_root_url(
    serve_document: Serve, tmp_path: Path
) -> None:
    emulated = variant(rootUrl="http://127.0.0.1:9/")
    url = serve_document(*[document_answer(emulated)] * 2)
    with pytest.raises(DiscoveryDocumentError, match="allowed_hosts"):
        discovery.refresh(url, destination=tmp_path / "doc.json")
    path = discovery.refresh(url, destination=tmp_path / "doc.json", allowed_hosts={"127.0.0.1"})
    assert json.loads(path.read_text("utf-8"))["rootUrl"] == "http://127.0.0.1:9/"


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("/dev/zero", "larger than 4 MiB"),  # endless: read with a cap, not to the end
        ("deep.json", "nests too deeply"),
    ],
)
def test_a_document_that_would_exhaust_the_reader_is_a_clear_error(
    tmp_path: Path, path: str, problem: str
) -> None:
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    target = path if path.startswith("/") else str(tmp_path / path)
    with pytest.raises(DiscoveryDocumentError, match=problem) as caught:
        discovery.load_document(target)
    assert caught.value.source == target


def test_the_bundled_document_is_read_from_a_zip_app(tmp_path: Path) -> None:
    # A zip app imports the package from the archive, where the document is no file on disk.
    import picker_discovery
    from picker_discovery import discovery_cache

    archive = tmp_path / "app.pyz"
    package = Path(picker_discovery.__file__).parent
    with zipfile.ZipFile(archive, "w") as zf:
        for path in package.rglob("*.py"):
            zf.write(path, Path("picker_discovery") / path.relative_to(package))
        zf.write(
            str(discovery.BUNDLED_DOCUMENT),
            f"picker_discovery/discovery_cache/{discovery.FILE_NAME}",
        )
        zf.write(str(discovery_cache.__file__), "picker_discovery/discovery_cache/__init__.py")
    code = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "from picker_discovery import _discovery\n"
        "document, source = _discovery.load_document()\n"
        "print(_discovery.__file__, document['name'], source.kind, source.location)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(archive)], capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr
    module, name, kind, location = out.stdout.split()
    assert module.startswith(str(archive)) and location.startswith(str(archive))
    assert (name, kind) == ("photospicker", "bundled")
