"""One error tree: every exception class of the package is a PickerError, the status registry
is built from the classes and agrees with the API's published table, and one condition raises
one class wherever it happens."""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import subprocess
import sys
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

import picker_discovery
from picker_discovery import _errors_http, errors
from picker_discovery._clock import FakeClock
from picker_discovery._retry import RetryPolicy
from picker_discovery.testing import Backend, Emulator, FakeHttp

# The API's error model as the Picker API documents it (the project's API facts sheet, §5,
# "HTTP for each status"), written out here rather than read from the module under test.
DOCUMENTED: dict[str, int] = {
    "INVALID_ARGUMENT": 400,
    "FAILED_PRECONDITION": 400,
    "OUT_OF_RANGE": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "ABORTED": 409,
    "RESOURCE_EXHAUSTED": 429,
    "CANCELLED": 499,
    "INTERNAL": 500,
    "UNKNOWN": 500,
    "DATA_LOSS": 500,
    "UNIMPLEMENTED": 501,
    "UNAVAILABLE": 503,
    "DEADLINE_EXCEEDED": 504,
}
# For a code several statuses share, the most general one (google.rpc's own guidance).
GENERAL = {400: "INVALID_ARGUMENT", 409: "ABORTED", 500: "INTERNAL"}


def package_modules() -> list[Any]:
    """Every module of the package, imported."""
    names = [picker_discovery.__name__] + [
        info.name
        for info in pkgutil.walk_packages(
            picker_discovery.__path__, f"{picker_discovery.__name__}."
        )
        if info.name != "picker_discovery.__main__"
    ]
    return [importlib.import_module(name) for name in names]


def exception_classes() -> list[type[BaseException]]:
    """Every exception class defined in the package's modules (found by looking, not listed)."""
    found: dict[str, type[BaseException]] = {}
    for module in package_modules():
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__ == module.__name__:
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return list(found.values())


def test_the_walk_finds_the_errors_at_the_edges() -> None:
    names = {cls.__qualname__ for cls in exception_classes()}
    assert {"DiscoveryDocumentError", "ThumbnailError", "CommandError", "SchemaError"} <= names
    assert {"MockExhausted", "ApiError", "MediaError", "SessionNotFound"} <= names
    assert len(names) >= 45


def test_every_exception_class_of_the_package_is_a_picker_error() -> None:
    outside = [
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in exception_classes()
        # A private class never leaves its module; a BaseException that is not an Exception
        # (the CLI's Terminated, like KeyboardInterrupt) unwinds a command, it reports nothing.
        if not cls.__name__.startswith("_")
        and issubclass(cls, Exception)
        and not issubclass(cls, errors.PickerError)
    ]
    assert outside == []


def test_the_errors_module_exports_the_whole_tree() -> None:
    tree = {
        cls.__name__
        for cls in exception_classes()
        if issubclass(cls, errors.PickerError)
        and cls.__module__ in ("picker_discovery.errors", "picker_discovery._errorbase")
    }
    assert tree <= set(errors.__all__)
    for name in tree:
        assert errors.__dict__[name].__name__ == name


def registered() -> dict[str, type[errors.PickerHttpError]]:
    """The classes that name a status, found among the module's classes."""
    return {
        cls.grpc_status: cls
        for cls in vars(errors).values()
        if isinstance(cls, type)
        and issubclass(cls, errors.PickerHttpError)
        and cls.grpc_status is not None
        and cls.__dict__.get("grpc_status") is not None  # its own status, not a parent's
    }


def test_the_registry_holds_every_documented_status_with_its_code() -> None:
    classes = registered()
    assert {status: cls.http_code for status, cls in classes.items()} == DOCUMENTED
    for status, cls in classes.items():
        # One class per status, named after it (NOT_FOUND -> NotFound).
        assert cls.__name__ == "".join(word.capitalize() for word in status.split("_"))
        assert issubclass(
            cls, errors.ClientError if DOCUMENTED[status] < 500 else errors.ServerError
        )


@pytest.mark.parametrize(("status", "code"), sorted(DOCUMENTED.items()))
def test_a_status_finds_its_class_and_a_bare_code_the_general_one(status: str, code: int) -> None:
    assert errors.error_class(code, status).grpc_status == status
    # An answer with no status string (an HTML page, say) maps by its code alone.
    sharing = [s for s, c in DOCUMENTED.items() if c == code]
    expected = GENERAL[code] if len(sharing) > 1 else status
    assert errors.error_class(code, None).grpc_status == expected
    assert errors.error_class(code, "NO_SUCH_STATUS").grpc_status == expected


@pytest.mark.parametrize("code", [402, 418, 451])
def test_an_undocumented_code_falls_back_to_its_range(code: int) -> None:
    assert errors.error_class(code, None) is errors.ClientError
    assert errors.error_class(code + 100, None) is errors.ServerError


def test_a_status_cannot_be_registered_twice() -> None:
    before = dict(_errors_http._BY_STATUS), dict(_errors_http._BY_CODE)
    with pytest.raises(TypeError, match="NOT_FOUND is already NotFound"):

        class Missing(errors.ClientError, status="NOT_FOUND", code=404, rpc_code=99):
            pass

    with pytest.raises(TypeError, match="only one status can stand for"):

        class Conflict(
            errors.ClientError, status="CONFLICT", code=409, rpc_code=98, stands_for_code=True
        ):
            pass

    with pytest.raises(TypeError, match="give the status, the HTTP code"):

        class Half(errors.ClientError, status="HALF"):
            pass

    assert before == (_errors_http._BY_STATUS, _errors_http._BY_CODE)


def test_a_refinement_without_a_status_keeps_its_parents() -> None:
    assert errors.SessionNotFound.grpc_status == "NOT_FOUND"
    assert errors.error_class(404, "NOT_FOUND") is errors.NotFound


# -- one condition, one class --------------------------------------------------------------


def credentials(token: str) -> Any:
    import google.oauth2.credentials

    return google.oauth2.credentials.Credentials(token=token)


def test_an_expired_or_refused_media_url_is_the_same_class_for_thumbnails_and_downloads(
    picker_emulator: Emulator, picker_emulator_client: Any, tmp_path: Path
) -> None:
    from picker_discovery._media.pool import Downloader
    from picker_discovery.notebook import ThumbnailFetcher, thumbnail_url

    wrong = credentials("someone-else")  # the media host answers 403, as for an expired URL
    with picker_emulator_client.picking_session() as created:
        picker_emulator.pick(created.id or "", first=1)
        [item] = picker_emulator_client.list_media_items(created)
        fetcher = ThumbnailFetcher(wrong, allowed_hosts=[picker_emulator.media_url])
        with pytest.raises(errors.MediaError) as thumbnail:
            fetcher(thumbnail_url(item) or "")
        downloader = Downloader(wrong, allowed_hosts=[picker_emulator.media_url])
        with pytest.raises(errors.MediaError) as download:
            downloader.download(item, tmp_path)
    assert type(thumbnail.value) is type(download.value) is errors.MediaUrlExpired
    assert "HTTP 403" in str(thumbnail.value) and "list the session again" in str(thumbnail.value)


def test_another_media_host_error_is_a_media_http_error_for_thumbnails_too(
    picker_emulator: Emulator,
) -> None:
    from picker_discovery.notebook import ThumbnailFetcher

    fetcher = ThumbnailFetcher(
        credentials("emulator-token"), allowed_hosts=[picker_emulator.media_url]
    )
    with pytest.raises(errors.MediaHttpError) as raised:
        fetcher(urllib.parse.urljoin(picker_emulator.media_url, "ppa/no-such-item=w10-h10"))
    assert raised.value.code == 404


def test_no_credentials_for_media_is_one_class_for_the_client_and_the_notebook() -> None:
    from picker_discovery._client import PickerClient
    from picker_discovery.notebook import ThumbnailFetcher

    client = PickerClient(picker_discovery.build(http=FakeHttp(Backend(clock=FakeClock()))))
    with pytest.raises(errors.PickerError) as for_downloads:
        client.downloader()
    with pytest.raises(ValueError) as for_thumbnails:
        ThumbnailFetcher.for_client(client)
    assert type(for_downloads.value) is errors.NoCredentials
    assert type(for_thumbnails.value) is errors.NoCredentials
    assert "credentials" in str(for_thumbnails.value)


class BentCreate:
    """The in-process fake, with the id of each sessions.create answer replaced."""

    def __init__(self, backend: Backend, session_id: Any) -> None:
        self.inner = FakeHttp(backend)
        self.session_id = session_id

    def request(self, uri: str, method: str = "GET", *args: Any, **kwargs: Any) -> Any:
        resp, content = self.inner.request(uri, method, *args, **kwargs)
        if method == "POST" and urllib.parse.urlsplit(uri).path == "/v1/sessions":
            answer = json.loads(content)
            answer["id"] = self.session_id
            content = json.dumps(answer).encode()
        return resp, content


@pytest.mark.parametrize("bad_id", [None, "", "a/b", "..", 7])
def test_a_create_answer_without_a_usable_id_is_always_a_malformed_response(
    bad_id: Any, tmp_path: Path
) -> None:
    from picker_discovery._client import PickerClient

    backend = Backend(clock=FakeClock())
    service = picker_discovery.build(http=BentCreate(backend, bad_id))
    client = PickerClient(service, clock=backend.clock, retry=RetryPolicy.none(), journal=False)
    with pytest.raises(errors.PickerError) as raised:
        client.create_session()
    assert type(raised.value) is errors.MalformedResponse
    assert "id" in str(raised.value)


def test_a_missing_extra_is_one_class_for_sign_in_and_fake_images(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from picker_discovery import _auth as auth
    from picker_discovery.testing import library

    monkeypatch.setitem(sys.modules, "google_auth_oauthlib", None)
    monkeypatch.setitem(sys.modules, "google_auth_oauthlib.flow", None)
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ImportError) as sign_in:
        auth.login(tmp_path / "client_secret.json", token_path=tmp_path / "token.json")
    item = library.generate_library(seed=0, count=1)[0]
    with pytest.raises(ImportError) as images:
        library.render_image(item, 10, 10)
    assert type(sign_in.value) is type(images.value) is errors.MissingExtra
    assert "pip install 'picker-discovery[login]'" in str(sign_in.value)
    assert "pip install 'picker-discovery[testing]'" in str(images.value)


@pytest.mark.skipif(sys.platform == "win32", reason="file modes are POSIX")
def test_unusable_token_files_are_credential_errors_and_keep_their_builtin_bases(
    tmp_path: Path,
) -> None:
    from picker_discovery import _auth as auth

    garbled = tmp_path / "garbled.json"
    garbled.write_text("{not json", encoding="utf-8")
    garbled.chmod(0o600)
    with pytest.raises(ValueError) as unusable:
        auth.load_credentials(garbled)
    assert type(unusable.value) is errors.CredentialsFileError
    exposed = tmp_path / "exposed.json"
    exposed.write_text("{}", encoding="utf-8")
    exposed.chmod(0o644)
    with pytest.raises(PermissionError) as refused:
        auth.load_credentials(exposed)
    assert type(refused.value) is errors.AccessNotGranted
    assert "chmod 600" in str(refused.value)


def test_the_test_kit_raises_tree_errors_that_keep_their_builtin_bases() -> None:
    from picker_discovery.testing import canned

    with pytest.raises(KeyError) as unknown_answer:
        canned.response("sessions.nope")
    with pytest.raises(KeyError) as unknown_session:
        Backend(clock=FakeClock()).pick("nope")
    assert type(unknown_answer.value) is type(unknown_session.value) is errors.UnknownName
    with pytest.raises(RuntimeError) as not_running:
        _ = Emulator().url
    assert type(not_running.value) is errors.InvalidState
    backend = Backend(clock=FakeClock())
    session = backend.create_session("alice", {})
    backend.pick(session["id"])
    with pytest.raises(ValueError) as already_picked:
        backend.pick(session["id"])
    assert type(already_picked.value) is errors.BadArgument


def bad_arguments() -> list[tuple[str, Any]]:
    from datetime import datetime

    from picker_discovery._client import check_session_id
    from picker_discovery._media.pool import Downloader, Size
    from picker_discovery.testing.library import generate_library

    return [
        ("session id", lambda: check_session_id("a/b")),
        ("session id of a number", lambda: check_session_id(7)),
        ("retry attempts", lambda: RetryPolicy(max_attempts=0)),
        ("retry attempts type", lambda: RetryPolicy(max_attempts="3")),  # type: ignore[arg-type]
        ("naive clock", lambda: FakeClock(start=datetime(2020, 1, 1))),
        ("clock backwards", lambda: FakeClock().advance(-1)),
        ("size", lambda: Size(0, 10)),
        ("workers", lambda: Downloader(session_factory=object, workers=0)),  # type: ignore[arg-type]
        ("fetch the document", lambda: picker_discovery.build(static_discovery=False)),
        (
            "endpoint",
            lambda: picker_discovery.build(client_options={"api_endpoint": "https://evil.example"}),
        ),
        ("fake library", lambda: generate_library(count=-1)),
    ]


@pytest.mark.parametrize(("what", "call"), bad_arguments(), ids=[w for w, _ in bad_arguments()])
def test_a_bad_argument_is_a_documented_picker_error_and_still_a_value_error(
    what: str, call: Any
) -> None:
    with pytest.raises(errors.BadArgument) as raised:
        call()
    assert isinstance(raised.value, ValueError)  # ``except ValueError`` keeps working
    if what.endswith(" type"):
        assert isinstance(raised.value, errors.BadArgumentType)
        assert isinstance(raised.value, TypeError)  # and ``except TypeError`` too


def test_the_discovery_loader_raises_its_error_without_loading_googleapiclient(
    tmp_path: Path,
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("[]", encoding="utf-8")
    code = (
        "import sys\n"
        "from picker_discovery import _discovery as discovery\n"
        "from picker_discovery._errorbase import PickerError\n"
        "try:\n"
        f"    discovery.load_document({str(broken)!r})\n"
        "except PickerError as exc:\n"
        "    assert isinstance(exc, ValueError) and type(exc).__name__ == 'DiscoveryDocumentError'\n"
        "else:\n"
        "    raise SystemExit('no error')\n"
        "print(any(m.startswith('googleapiclient') for m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=60
    )
    assert out.stdout.strip() == "False"


def test_a_model_raises_tree_errors_without_loading_googleapiclient() -> None:
    code = (
        "import sys\n"
        "from picker_discovery import models\n"
        "from picker_discovery._errorbase import PickerError\n"
        "for bad in ('not an object', {'mediaItemsSet': 'yes'}):\n"
        "    try:\n"
        "        models.PickingSession.from_dict(bad)\n"
        "    except PickerError as exc:\n"
        "        assert isinstance(exc, (TypeError, ValueError)), exc\n"
        "    else:\n"
        "        raise SystemExit('no error')\n"
        "print(any(m.startswith('googleapiclient') for m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=60
    )
    assert out.stdout.strip() == "False"


def test_errors_read_as_the_public_module() -> None:
    # Defined in a leaf so the cold-start path can raise them; named where users import them.
    for name in ("PickerError", "BadArgument", "MalformedResponse", "DiscoveryDocumentError"):
        cls = getattr(errors, name)
        assert cls.__module__ == "picker_discovery.errors"
        assert f"picker_discovery.errors.{name}" in repr(cls)
