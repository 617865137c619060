"""The access token goes only where the caller allowed: every URL a document, an endpoint
override or a media host could send it to is checked before anything is sent."""

from __future__ import annotations

import contextlib
import copy
import http.client
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

import httplib2
import pytest
from google.api_core.client_options import ClientOptions
from google.oauth2.credentials import Credentials
from hypothesis import example, given, strategies as st

import picker_discovery
from picker_discovery import _cli as cli, _discovery as discovery
from picker_discovery._client import PickerClient
from picker_discovery._discovery import DiscoveryDocumentError
from picker_discovery._media.pool import HostAllowlist
from picker_discovery.notebook import ThumbnailFetcher
from tests.conftest import document_answer

BUNDLED: dict[str, Any] = json.loads(discovery.BUNDLED_DOCUMENT.read_text("utf-8"))
GET = ("resources", "sessions", "methods", "get")
LIST = ("resources", "mediaItems", "methods", "list")
CREATE = ("resources", "sessions", "methods", "create")


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No document variable, an empty user cache and config, no mTLS switch from outside."""
    monkeypatch.delenv(discovery.ENV_VAR, raising=False)
    monkeypatch.delenv(cli.ENDPOINT_ENV, raising=False)
    monkeypatch.delenv(cli.MEDIA_HOSTS_ENV, raising=False)
    for name in ("GOOGLE_API_USE_MTLS_ENDPOINT", "GOOGLE_API_USE_CLIENT_CERTIFICATE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("GOOGLE_CLOUD_UNIVERSE_DOMAIN", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))


def changed(changes: dict[tuple[str, ...], Any]) -> dict[str, Any]:
    """The bundled document with the values at some key paths replaced."""
    document = copy.deepcopy(BUNDLED)
    for path, value in changes.items():
        node = document
        for key in path[:-1]:
            if not isinstance(node.get(key), dict):
                node[key] = {}
            node = node[key]
        node[path[-1]] = value
    return document


class Recorder:
    """An httplib2.Http stand-in that records every URL it is asked to send to."""

    def __init__(self) -> None:
        self.uris: list[str] = []

    def request(self, uri: str, method: str = "GET", *args: Any, **kwargs: Any) -> Any:
        self.uris.append(uri)
        return httplib2.Response({"status": "200"}), b"{}"

    def close(self) -> None:
        pass


def send_every_method(service: Any) -> None:
    """Call each method of the photospicker service, as the client does."""
    service.sessions().create(body={}).execute()
    service.sessions().get(sessionId="s1").execute()
    service.sessions().delete(sessionId="s1").execute()
    service.mediaItems().list(sessionId="s1", pageSize=10).execute()


# -- documents: every URL-bearing field, through every entry path ---------------------------

# (id, changes to the bundled document, the field the error must name). Every one of these
# is accepted by a check of rootUrl alone, and sends the token elsewhere or reads two ways.
HOSTILE_DOCUMENTS: list[tuple[str, dict[tuple[str, ...], Any], str]] = [
    ("servicePath-absolute", {("servicePath",): "https://evil.example/"}, "servicePath"),
    ("servicePath-protocol-relative", {("servicePath",): "//evil.example/v1/"}, "servicePath"),
    ("servicePath-http", {("servicePath",): "http://photospicker.googleapis.com/"}, "servicePath"),
    ("path-absolute", {(*GET, "path"): "https://evil.example/v1/{sessionId}"}, "get.path"),
    ("path-uppercase-scheme", {(*GET, "path"): "HTTPS://evil.example/x"}, "get.path"),
    ("path-reserved-expansion", {(*GET, "path"): "{+sessionId}"}, "get.path"),
    ("path-scheme-completed", {(*GET, "path"): "http{+sessionId}"}, "get.path"),
    ("path-dot-dot", {(*LIST, "path"): "v1/../../evil/mediaItems"}, "list.path"),
    ("path-encoded-dot-dot", {(*LIST, "path"): "v1/%2E%2e/x"}, "list.path"),
    ("path-backslash", {(*CREATE, "path"): "v1\\..\\sessions"}, "create.path"),
    ("flatPath-absolute", {(*GET, "flatPath"): "https://evil.example/x"}, "get.flatPath"),
    (
        "top-level-method-absolute",
        {("methods",): {"x": {"id": "x", "path": "https://evil.example/", "httpMethod": "GET"}}},
        "methods.x.path",
    ),
    ("batchPath-absolute", {("batchPath",): "https://evil.example/batch"}, "batchPath"),
    # Found by the fuzz test below: a join reads "host:port" as a scheme and a path.
    ("batchPath-scheme-like", {("batchPath",): "photospicker.googleapis.com:443"}, "batchPath"),
    ("servicePath-scheme-like", {("servicePath",): "evil.example:8080/x/"}, "servicePath"),
    (
        "batchPath-glued-to-rootUrl",
        {("rootUrl",): "https://photospicker.googleapis.com", ("batchPath",): ".evil.example/b"},
        "rootUrl",
    ),
    ("mtlsRootUrl-foreign", {("mtlsRootUrl",): "https://evil.example/"}, "mtlsRootUrl"),
    ("mtlsRootUrl-http", {("mtlsRootUrl",): "http://photospicker.mtls.googleapis.com/"}, "mtls"),
    (
        "mtlsRootUrl-trailing-dot",
        {("mtlsRootUrl",): "https://photospicker.mtls.googleapis.com./"},
        "mtlsRootUrl",
    ),
    (
        "mtlsRootUrl-lookalike",
        {("mtlsRootUrl",): "https://photospicker.mtls.googleapis.c\u03bfm/"},
        "mtlsRootUrl",
    ),
    ("baseUrl-foreign", {("baseUrl",): "https://evil.example/"}, "baseUrl"),
    ("basePath-protocol-relative", {("basePath",): "//evil.example/"}, "basePath"),
    (
        "rootUrl-userinfo",
        {("rootUrl",): "https://evil.example@photospicker.googleapis.com/"},
        "rootUrl",
    ),
    ("rootUrl-odd-port", {("rootUrl",): "https://photospicker.googleapis.com:8443/"}, "rootUrl"),
    ("rootUrl-backslash", {("rootUrl",): "https://evil.example\\.googleapis.com/"}, "rootUrl"),
    (
        # U+FF03 is a fullwidth '#': IDNA maps it to '#', cutting the host to evil.example.
        "rootUrl-idna-fullwidth-hash",
        {("rootUrl",): "https://evil.example\uff03.googleapis.com/"},
        "rootUrl",
    ),
]
DOCUMENT_IDS = [case[0] for case in HOSTILE_DOCUMENTS]


@pytest.fixture(params=HOSTILE_DOCUMENTS, ids=DOCUMENT_IDS)
def hostile(request: pytest.FixtureRequest) -> tuple[dict[str, Any], str]:
    _, changes, field = request.param
    return changed(changes), field


def write(path: Path, document: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document), "utf-8")
    return path


def test_validate_names_the_field(hostile: tuple[dict[str, Any], str]) -> None:
    document, field = hostile
    with pytest.raises(DiscoveryDocumentError, match="has ") as caught:
        discovery.validate_document(document, "doc.json")
    assert field in caught.value.problem


def test_the_environment_document_is_refused(
    hostile: tuple[dict[str, Any], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    document, field = hostile
    monkeypatch.setenv(discovery.ENV_VAR, str(write(tmp_path / "env.json", document)))
    recorder = Recorder()
    with pytest.raises(DiscoveryDocumentError) as caught:
        picker_discovery.build(http=recorder)
    assert field in caught.value.problem and caught.value.source.endswith("env.json")
    assert recorder.uris == []


def test_the_user_copy_is_skipped_for_the_bundled_one(
    hostile: tuple[dict[str, Any], str], caplog: pytest.LogCaptureFixture
) -> None:
    document, field = hostile
    write(discovery.user_cache_path(), document)
    with caplog.at_level(logging.WARNING, logger="picker_discovery._discovery"):
        loaded, source = discovery.load_document()
    assert source.kind == "bundled" and loaded == BUNDLED
    assert field in caplog.text
    recorder = Recorder()
    send_every_method(picker_discovery.build(http=recorder))
    assert recorder.uris and all(
        uri.startswith("https://photospicker.googleapis.com/v1/") for uri in recorder.uris
    )


def test_discovery_document_as_a_path_or_a_mapping_is_refused(
    hostile: tuple[dict[str, Any], str], tmp_path: Path
) -> None:
    document, field = hostile
    for given_document in (write(tmp_path / "doc.json", document), document):
        with pytest.raises(DiscoveryDocumentError) as caught:
            picker_discovery.build(http=Recorder(), discovery_document=given_document)
        assert field in caught.value.problem
        with pytest.raises(DiscoveryDocumentError):
            PickerClient(credentials=Credentials(token="t"), discovery_document=given_document)


def test_refresh_never_stores_it(
    hostile: tuple[dict[str, Any], str], serve_document: Callable[..., str]
) -> None:
    document, field = hostile
    url = serve_document(document_answer(document))
    with pytest.raises(DiscoveryDocumentError) as caught:
        discovery.refresh(url)
    assert field in caught.value.problem
    assert not discovery.user_cache_path().exists()


def test_discovery_verify_fails_on_it(
    hostile: tuple[dict[str, Any], str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document, field = hostile
    path = write(tmp_path / "doc.json", document)
    code = cli.main(["discovery", "verify", "--document", str(path)])
    out, err = capsys.readouterr()
    assert (code, out) == (cli.EXIT_FAILED, "")
    assert str(path) in err and field in err


@pytest.mark.parametrize(
    "changes",
    [
        {(*GET, "path"): "v1/sessions/{+sessionId}:peek", (*GET, "flatPath"): "v1:peek"},
        {("servicePath",): "photospicker/v1/", ("batchPath",): "batch/photospicker/v1"},
        {("rootUrl",): "https://PHOTOSPICKER.googleapis.com/", ("mtlsRootUrl",): None},
        {(*LIST, "path"): "/v1/mediaItems", ("basePath",): "/"},
    ],
    ids=["colons-and-reserved-expansion-mid-path", "service-path", "uppercase-host", "slashes"],
)
def test_ordinary_documents_are_still_accepted(changes: dict[tuple[str, ...], Any]) -> None:
    document = changed(changes)
    if document["mtlsRootUrl"] is None:
        del document["mtlsRootUrl"]
    recorder = Recorder()
    send_every_method(picker_discovery.build(http=recorder, discovery_document=document))
    assert all(".googleapis.com/" in uri for uri in recorder.uris)


def test_the_bundled_document_sends_only_to_google_under_every_endpoint_option(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for mode, root in (
        ("never", "https://photospicker.googleapis.com/"),
        ("always", "https://photospicker.mtls.googleapis.com/"),
    ):
        monkeypatch.setenv("GOOGLE_API_USE_MTLS_ENDPOINT", mode)
        service: Any = picker_discovery.build(credentials=Credentials(token="t"))
        recorder = Recorder()
        service._http = recorder
        send_every_method(service)
        assert {uri.split("v1/")[0] for uri in recorder.uris} == {root}


def test_another_host_only_when_allowed_and_http_only_on_loopback() -> None:
    loopback = changed({("rootUrl",): "http://127.0.0.1:9/", ("mtlsRootUrl",): "http://[::1]:9/"})
    discovery.validate_document(loopback, allowed_hosts=["127.0.0.1", "::1"])
    remote = changed({("rootUrl",): "http://10.1.2.3:9/", ("mtlsRootUrl",): "https://x.example/"})
    with pytest.raises(DiscoveryDocumentError, match="allow_insecure_http=True"):
        discovery.validate_document(remote, allowed_hosts=["10.1.2.3", "x.example"])
    discovery.validate_document(
        remote, allowed_hosts=["10.1.2.3", "x.example"], allow_insecure_http=True
    )


def test_a_universe_domain_off_the_allowlist_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_CLOUD_UNIVERSE_DOMAIN", "evil.example")
    with pytest.raises(ValueError, match=r"base URL.*evil\.example"):
        picker_discovery.build(credentials=Credentials(token="t"))


# -- endpoint overrides ---------------------------------------------------------------------

ENDPOINTS_OFF_THE_ALLOWLIST = [
    "http://evil.example/",
    "http://10.0.0.5:8080/",
    "http://[2001:db8::1]/",
    "http://127.0.0.1.evil.example/",
    "http://localhost.evil.example:8080/",
    "http://evil@127.0.0.1:8080/",
    "http://127.0.0.1\\@evil.example/",
    # https, but not where it seems: look-alikes, user info, odd ports, trailing dots
    "https://evil.example\uff03.googleapis.com/",
    "https://photospicker.googleapis.com.evil.example/",
    "https://photospicker.googleapis.com@evil.example/",
    "https://evil.example@photospicker.googleapis.com/",
    "https://photospicker.googleapis.com:8443/",
    "https://photospicker.googleapis.com./",
    "HTTP://PHOTOSPICKER.GOOGLEAPIS.COM/",
]
LOOPBACK_ENDPOINTS = [
    "http://127.0.0.1:8080/",
    "http://127.200.0.1:8080/",
    "http://localhost:8080/",
    "http://[::1]:8080/",
    "https://127.0.0.1:8443/",
]


def options_forms(endpoint: str) -> list[Any]:
    return [{"api_endpoint": endpoint}, ClientOptions(api_endpoint=endpoint)]


@pytest.mark.parametrize("endpoint", ENDPOINTS_OFF_THE_ALLOWLIST)
def test_an_endpoint_off_the_allowlist_is_refused_before_anything_is_sent(endpoint: str) -> None:
    for options in options_forms(endpoint):
        recorder = Recorder()
        with pytest.raises(ValueError, match="api_endpoint") as caught:
            picker_discovery.build(http=recorder, client_options=options)
        assert not isinstance(caught.value, DiscoveryDocumentError)
        assert recorder.uris == []
        with pytest.raises(ValueError, match="api_endpoint"):
            PickerClient(credentials=Credentials(token="t"), client_options=options)


def test_the_refusal_says_how_to_allow_plain_http_deliberately() -> None:
    endpoint = "http://10.0.0.5:8080/"
    with pytest.raises(ValueError, match=r"allow_insecure_http=True.*--allow-insecure-http"):
        picker_discovery.build(http=Recorder(), client_options={"api_endpoint": endpoint})
    recorder = Recorder()
    service = picker_discovery.build(
        http=recorder,
        client_options={"api_endpoint": endpoint},
        allowed_hosts=["10.0.0.5"],
        allow_insecure_http=True,
    )
    send_every_method(service)
    assert all(uri.startswith(endpoint + "v1/") for uri in recorder.uris)


@pytest.mark.parametrize("endpoint", LOOPBACK_ENDPOINTS)
def test_a_loopback_endpoint_needs_no_opt_in(endpoint: str) -> None:
    for options in options_forms(endpoint):
        recorder = Recorder()
        send_every_method(picker_discovery.build(http=recorder, client_options=options))
        assert len(recorder.uris) == 4
        assert all(uri.startswith(endpoint + "v1/") for uri in recorder.uris)


def test_an_https_endpoint_off_google_needs_its_host_allowed() -> None:
    options = {"api_endpoint": "https://proxy.example/"}
    with pytest.raises(ValueError, match=r"allowed_hosts=\[its host\]"):
        picker_discovery.build(http=Recorder(), client_options=options)
    recorder = Recorder()
    service = picker_discovery.build(
        http=recorder, client_options=options, allowed_hosts=["proxy.example"]
    )
    send_every_method(service)
    assert all(uri.startswith("https://proxy.example/v1/") for uri in recorder.uris)
    picker_discovery.build(http=Recorder(), client_options={"api_endpoint": BUNDLED["rootUrl"]})
    picker_discovery.build(http=Recorder(), client_options={"api_endpoint": ""})  # ignored


@pytest.fixture
def token_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cli.TOKEN_ENV, "cli-token")


@pytest.mark.parametrize("source", ["flag", "environment"])
@pytest.mark.parametrize("endpoint", ["http://10.0.0.5:8080/", "https://proxy.example/"])
def test_the_command_line_refuses_an_endpoint_off_the_allowlist(
    source: str,
    endpoint: str,
    token_env: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["sessions", "create"]
    if source == "flag":
        argv += ["--endpoint", endpoint]
    else:
        monkeypatch.setenv(cli.ENDPOINT_ENV, endpoint)
    with mock.patch.object(httplib2.Http, "request", side_effect=AssertionError("sent")):
        code = cli.main(argv)
    err = capsys.readouterr().err
    assert code == cli.EXIT_USAGE
    assert endpoint in err and "nothing was sent" in err
    assert ("--allow-insecure-http" if endpoint.startswith("http:") else "--allow-host") in err


# -- media hosts ----------------------------------------------------------------------------

INSECURE_MEDIA = ["http://10.0.0.5:8081", "http://evil.example", "http://[2001:db8::1]:8081"]
LOOPBACK_MEDIA = ["http://127.0.0.1:8081", "http://localhost:8081", "http://[::1]:8081"]


@pytest.mark.parametrize("origin", INSECURE_MEDIA)
def test_a_plain_http_media_host_off_this_machine_is_refused(origin: str) -> None:
    with pytest.raises(ValueError, match=r"allow_insecure_http=True.*--allow-insecure-http"):
        HostAllowlist([origin])
    assert HostAllowlist([origin], allow_insecure_http=True).allows(origin + "/item")
    client = PickerClient(credentials=Credentials(token="t"), http=None)
    with pytest.raises(ValueError, match="plain http"):
        client.downloader(media_hosts=[origin])
    with pytest.raises(ValueError, match="plain http"):
        ThumbnailFetcher.for_client(client, media_hosts=[origin])
    trusting = PickerClient(credentials=Credentials(token="t"), allow_insecure_http=True)
    assert trusting.downloader(media_hosts=[origin]).allowlist.allows(origin + "/item")
    assert ThumbnailFetcher.for_client(trusting, media_hosts=[origin]).allowlist.allows(
        origin + "/x"
    )


@pytest.mark.parametrize("origin", LOOPBACK_MEDIA)
def test_a_loopback_media_host_needs_no_opt_in(origin: str) -> None:
    assert HostAllowlist([origin]).allows(origin + "/item")


@pytest.mark.parametrize("source", ["flag", "environment"])
def test_pick_refuses_an_insecure_media_host_before_making_a_session(
    source: str,
    token_env: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["pick", "--endpoint", "http://127.0.0.1:9/", "--no-qr"]
    if source == "flag":
        argv += ["--media-host", "http://10.0.0.5:8081"]
    else:
        monkeypatch.setenv(cli.MEDIA_HOSTS_ENV, "http://10.0.0.5:8081")
    with (
        mock.patch.object(httplib2.Http, "request", side_effect=AssertionError("sent")),
        mock.patch("requests.Session.request", side_effect=AssertionError("sent")),
    ):
        code = cli.main(argv)
    err = capsys.readouterr().err
    assert code == cli.EXIT_USAGE and "--allow-insecure-http" in err


# -- properties -----------------------------------------------------------------------------

HOSTS = st.sampled_from(
    [
        "photospicker.googleapis.com",
        "photospicker.mtls.googleapis.com",
        "evil.example",
        "photospicker.googleapis.com.evil.example",
        "evil.example@photospicker.googleapis.com",
        "photospicker.googleapis.com@evil.example",
        "evil.example\\.googleapis.com",
        "evil.example\uff03.googleapis.com",
        "photospicker.googleapis.c\u03bfm",
        "photospicker.googleapis.com.",
        "PHOTOSPICKER.GOOGLEAPIS.COM",
        "127.0.0.1",
        "[::1]",
        "localhost",
        "",
    ]
)
SCHEMES = st.sampled_from(["https://", "http://", "HTTPS://", "//", "", "ftp://", "https:"])
PORTS = st.sampled_from(["", ":443", ":8443", ":", ":0443", ":99999", ":x"])
PATHS = st.sampled_from(
    [
        "",
        "/",
        "v1/",
        "batch",
        "../",
        "/../..",
        "%2e%2e/",
        "{+sessionId}",
        "{sessionId}",
        "{/sessionId}",
        "v1/sessions/{sessionId}",
        "\\..\\",
        "@evil.example/",
        ".evil.example/",
        "?",
        "#",
    ]
)
URL_LIKE = (
    st.builds(lambda *parts: "".join(parts), SCHEMES, HOSTS, PORTS, PATHS)
    | st.builds(lambda a, b: a + b, PATHS, PATHS)
    | st.text(max_size=40)
)
FIELDS = st.sampled_from(
    [
        ("rootUrl",),
        ("servicePath",),
        ("batchPath",),
        ("mtlsRootUrl",),
        ("baseUrl",),
        ("basePath",),
        (*GET, "path"),
        (*GET, "flatPath"),
        (*LIST, "path"),
        (*CREATE, "path"),
    ]
)
ALLOWED = st.sampled_from([(), ("127.0.0.1",), ("evil.example",), ("localhost", "::1")])


def sent_to_an_allowed_place(uri: str, allowed: tuple[str, ...]) -> bool:
    """Whether the host httplib2 would really connect to for ``uri`` is allowed, judged apart
    from the code under test: https to a googleapis.com host on 443, or an allowed host
    (plain http only to a loopback one)."""
    scheme, authority, _, _ = httplib2.urlnorm(httplib2.iri2uri(uri))
    connection = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
    try:
        target = connection(authority)  # how httplib2 splits host and port; connects nothing
    except (http.client.InvalidURL, ValueError):
        return True  # no connection can be made to it, so nothing is sent
    host = target.host.lower()
    if scheme == "https" and host.endswith(".googleapis.com") and target.port == 443:
        return all(ch.isalnum() or ch in ".-" for ch in host) and host.isascii()
    if host in allowed:
        return scheme == "https" or host in ("127.0.0.1", "::1", "localhost")
    return False


class _Stop(Exception):
    pass


@pytest.mark.fuzz
@given(
    changes=st.dictionaries(FIELDS, URL_LIKE, max_size=3),
    allowed=ALLOWED,
    session_id=st.text(max_size=20) | st.just("https://evil.example/"),
    mtls=st.sampled_from(["never", "always"]),
)
@example(
    changes={("batchPath",): "photospicker.googleapis.com:443"},
    allowed=(),
    session_id="",
    mtls="never",
)
def test_a_built_service_sends_only_to_allowed_hosts_or_the_document_is_refused(
    changes: dict[tuple[str, ...], str], allowed: tuple[str, ...], session_id: str, mtls: str
) -> None:
    document = changed(changes)
    with mock.patch.dict(os.environ, {"GOOGLE_API_USE_MTLS_ENDPOINT": mtls}):
        try:
            service: Any = picker_discovery.build(
                credentials=Credentials(token="t"),
                discovery_document=document,
                allowed_hosts=allowed,
            )
        except DiscoveryDocumentError:
            return
    recorder = Recorder()
    service._http = recorder
    send_every_method(service)
    service.sessions().get(sessionId=session_id).execute()
    batch = service.new_batch_http_request()
    batch.add(service.sessions().get(sessionId="s1"))
    with (
        mock.patch.object(recorder, "request", side_effect=_Stop) as batch_send,
        pytest.raises(_Stop),
    ):
        batch.execute()
    recorder.uris.append(batch_send.call_args.args[0])
    for uri in recorder.uris:
        assert sent_to_an_allowed_place(uri, allowed), (uri, changes)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | URL_LIKE,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(["path", "methods", "resources", "x", "id"]), children)
    ),
    max_leaves=10,
)


@pytest.mark.fuzz
@given(
    changes=st.dictionaries(
        st.sampled_from(
            [
                ("resources",),
                ("resources", "sessions"),
                ("resources", "sessions", "methods"),
                GET,
                (*GET, "mediaUpload"),
                ("methods",),
                ("servicePath",),
                ("mtlsRootUrl",),
                ("batchPath",),
            ]
        ),
        JSON_VALUES,
        max_size=2,
    )
)
def test_validating_any_document_raises_only_its_own_error(
    changes: dict[tuple[str, ...], Any],
) -> None:
    document = changed(changes)
    with contextlib.suppress(DiscoveryDocumentError):
        discovery.validate_document(document)


@pytest.mark.fuzz
@given(url=URL_LIKE, insecure=st.booleans())
def test_a_media_allowlist_never_trusts_plain_http_off_this_machine_unasked(
    url: str, insecure: bool
) -> None:
    try:
        allowlist = (
            HostAllowlist([url], allow_insecure_http=True) if insecure else HostAllowlist([url])
        )
    except ValueError:
        return
    for probe in (url, url.rstrip("/") + "/x"):
        if allowlist.allows(probe) and probe.lower().startswith("http:"):
            assert insecure or sent_to_an_allowed_place(probe, ("127.0.0.1", "::1", "localhost"))
