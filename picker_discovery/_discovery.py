"""Find, load, validate and refresh the photospicker v1 discovery document.

The document is looked for, in order, at:

1. an explicit path given by the caller;
2. the path in the ``PICKER_DISCOVERY_DOCUMENT`` environment variable;
3. the user's refreshed copy in the platform cache directory (written by :func:`refresh`);
4. the copy bundled with this package.

A broken explicit or environment document is an error; a broken user copy is skipped with a
logged warning, so a bad refresh can never stop a program that worked with the bundled copy.

Each file is read once per process: later loads parse its bytes again (a fresh document each
time) for as long as the file's size and modification time are unchanged.

It imports nothing from the project but the private ``_dirs``, ``_urls``, ``_frozen``,
``_errorbase`` and ``_document_urls`` (the URLs a document could send the token to).
"""

from __future__ import annotations

import copy
import http.client as http_client
import importlib.util
import json
import logging
import os
import threading
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NoReturn

import httplib2

from picker_discovery import _dirs, _urls
from picker_discovery._document_urls import token_urls
from picker_discovery._errorbase import DiscoveryDocumentError
from picker_discovery._frozen import FrozenValue, set_field

if TYPE_CHECKING:
    from importlib.abc import Traversable  # importlib.resources.abc from Python 3.11

    from picker_discovery._types import HttpTransport

__all__ = [
    "API_NAME",
    "API_VERSION",
    "BUNDLED_DOCUMENT",
    "ENV_VAR",
    "LIVE_DISCOVERY_URL",
    "REQUIRED_METHODS",
    "SCOPE",
    "DiscoveryDocumentError",
    "DocumentSource",
    "find_document",
    "load_document",
    "refresh",
    "user_cache_path",
    "validate_document",
]

logger = logging.getLogger(__name__)

API_NAME = "photospicker"
API_VERSION = "v1"
SCOPE = "https://www.googleapis.com/auth/photospicker.mediaitems.readonly"
ENV_VAR = "PICKER_DISCOVERY_DOCUMENT"
LIVE_DISCOVERY_URL = "https://photospicker.googleapis.com/$discovery/rest?version=v1"
FILE_NAME = f"{API_NAME}.{API_VERSION}.json"


def _bundled_document() -> Traversable:
    """The document shipped with the package: the file beside the data package
    ``discovery_cache`` (found, not imported), or, when the package is imported from an
    archive (a zip app), the archive's member, read through ``importlib.resources``."""
    spec = importlib.util.find_spec(f"{__package__}.discovery_cache")
    if spec is not None and spec.origin is not None:
        path = Path(spec.origin).with_name(FILE_NAME)
        if path.is_file():
            return path
    from importlib import resources

    return resources.files(f"{__package__}.discovery_cache").joinpath(FILE_NAME)


BUNDLED_DOCUMENT = _bundled_document()
REQUIRED_METHODS: Mapping[str, tuple[str, ...]] = {
    "sessions": ("create", "get", "delete"),
    "mediaItems": ("list",),
}
# The live document is reported to carry no scope block; without one googleapiclient neither
# scopes credentials nor looks for default credentials, so refresh() adds this one.
SCOPE_BLOCK: Mapping[str, Any] = {
    "oauth2": {
        "scopes": {SCOPE: {"description": "See the photos and videos you pick in Google Photos."}}
    }
}

SourceKind = Literal["explicit", "environment", "user-cache", "bundled", "mapping", "url"]


class DocumentSource(FrozenValue):
    """Where a discovery document comes from."""

    kind: SourceKind
    location: str

    def __init__(self, kind: SourceKind, location: str) -> None:
        set_field(self, "kind", kind)
        set_field(self, "location", location)

    def __str__(self) -> str:
        return f"{self.location} ({self.kind})"


def user_cache_path() -> Path:
    """Where :func:`refresh` writes the user's copy of the document."""
    return _dirs.user_cache_dir() / FILE_NAME


def find_document(path: str | os.PathLike[str] | None = None) -> DocumentSource:
    """The first place in the search order that names a document, without reading it.

    An explicit path or the environment variable is returned even if the file is missing, so
    that loading it fails loudly instead of silently using another document.
    """
    if path is not None:
        return DocumentSource("explicit", os.fspath(path))
    env = os.environ.get(ENV_VAR)
    if env:
        return DocumentSource("environment", env)
    cached = user_cache_path()
    if cached.is_file():
        return DocumentSource("user-cache", str(cached))
    return DocumentSource("bundled", str(BUNDLED_DOCUMENT))


# The bytes of each document read, by location, with the file's stat when it was read: a
# later load parses them again (a fresh document, which googleapiclient may change while
# building, for less than a deep copy of a kept one costs) instead of reading the file.
_memo: dict[str, tuple[tuple[int, int], bytes]] = {}
_memo_lock = threading.Lock()


def _read_parsed(
    source: DocumentSource, allowed_hosts: Collection[str], allow_insecure_http: bool
) -> dict[str, Any]:
    """The parsed and validated document at ``source``, a new one each time (its bytes
    memoized on the file's stat)."""
    if source.kind == "bundled":
        key: tuple[int, int] = (0, 0)
        label = f"{source.location} (bundled)"
    else:
        label = source.location
        try:
            stat = os.stat(source.location)
        except OSError as exc:
            raise DiscoveryDocumentError(label, f"cannot be read: {exc.strerror}") from exc
        key = (stat.st_mtime_ns, stat.st_size)
    with _memo_lock:
        hit = _memo.get(source.location)
    if hit is not None and hit[0] == key:
        document = parse_document(hit[1], label)
    else:
        try:
            raw = (
                BUNDLED_DOCUMENT.read_bytes()
                if source.kind == "bundled"
                else _read_capped(Path(source.location), label)
            )
        except OSError as exc:
            raise DiscoveryDocumentError(label, f"cannot be read: {exc.strerror}") from exc
        document = parse_document(raw, label)
        with _memo_lock:
            _memo[source.location] = (key, raw)
    validate_document(
        document, label, allowed_hosts=allowed_hosts, allow_insecure_http=allow_insecure_http
    )
    return document


MAX_DOCUMENT_BYTES = 4 * 1024 * 1024
"""The largest discovery document read (the photospicker one is about 20 KB): a path such as
``/dev/zero`` or a huge file is refused instead of filling the memory."""


def _read_capped(path: Path, label: str) -> bytes:
    with open(path, "rb") as fh:
        raw = fh.read(MAX_DOCUMENT_BYTES + 1)
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise DiscoveryDocumentError(
            label,
            f"is larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MiB, so it is not the "
            "photospicker v1 discovery document; name the right file",
        )
    return raw


def load_document(
    path: str | os.PathLike[str] | None = None,
    *,
    allowed_hosts: Collection[str] = (),
    allow_insecure_http: bool = False,
) -> tuple[dict[str, Any], DocumentSource]:
    """Load the document by the search order and say where it came from.

    Returns a fresh copy the caller may change (googleapiclient does, while building).

    Raises:
        DiscoveryDocumentError: the explicit or environment document, or the bundled one, is
            missing, not JSON, not the photospicker v1 document, or could send the token off
            the allowed hosts (see :func:`validate_document`; a user copy that fails is
            skipped with a warning).
    """
    source = find_document(path)
    try:
        document = _read_parsed(source, allowed_hosts, allow_insecure_http)
    except DiscoveryDocumentError as exc:
        if source.kind != "user-cache":
            raise
        logger.warning("ignoring the refreshed copy and using the bundled document: %s", exc)
        source = DocumentSource("bundled", str(BUNDLED_DOCUMENT))
        document = _read_parsed(source, allowed_hosts, allow_insecure_http)
    return document, source


def parse_document(raw: bytes, source: str) -> dict[str, Any]:
    """Decode and parse a document's bytes, with errors that name ``source``."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DiscoveryDocumentError(source, f"is not UTF-8 text ({exc.reason})") from exc
    try:
        document = json.loads(text)
    except RecursionError:
        raise DiscoveryDocumentError(source, "is not valid JSON: it nests too deeply") from None
    except json.JSONDecodeError as exc:
        problem = f"is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        if not text.strip():
            problem = "is empty"
        raise DiscoveryDocumentError(source, problem) from exc
    if not isinstance(document, dict):
        raise DiscoveryDocumentError(source, "is not a JSON object")
    return document


def validate_document(
    document: Mapping[str, Any],
    source: str = "<document>",
    *,
    allowed_hosts: Collection[str] = (),
    allow_insecure_http: bool = False,
) -> None:
    """Check that ``document`` is a usable photospicker v1 discovery document.

    Every URL a service built from it could send the access token to must be an https URL on
    a ``*.googleapis.com`` host, unless its host is in ``allowed_hosts`` (an emulator, say):
    ``rootUrl`` and ``rootUrl`` joined with ``servicePath``, ``batchPath``, ``mtlsRootUrl``
    (used with ``GOOGLE_API_USE_MTLS_ENDPOINT`` or a client certificate), ``baseUrl`` and
    ``basePath``, and each method's ``path``, ``flatPath`` and media upload paths, resolved the
    way googleapiclient resolves them. Plain http is accepted only to a loopback address, or
    to an allowed host when ``allow_insecure_http`` is true.

    Raises:
        DiscoveryDocumentError: naming ``source``, the field and the first problem found.
    """

    def fail(problem: str) -> NoReturn:
        raise DiscoveryDocumentError(source, problem)

    if document.get("kind", "discovery#restDescription") != "discovery#restDescription":
        fail(f"has kind {document.get('kind')!r}, not 'discovery#restDescription'")
    name, version = document.get("name"), document.get("version")
    if (name, version) != (API_NAME, API_VERSION):
        fail(f"describes {name!r} {version!r}, not {API_NAME!r} {API_VERSION!r}")
    if not isinstance(document.get("rootUrl"), str):
        fail("has no rootUrl")
    if not isinstance(document.get("servicePath"), str):
        fail("has no servicePath (a string, '' for none)")
    resources_ = document.get("resources")
    if not isinstance(resources_, Mapping):
        fail("has no resources")
    for resource, methods in REQUIRED_METHODS.items():
        described = resources_.get(resource)
        described = described.get("methods") if isinstance(described, Mapping) else None
        for method in methods:
            desc = described.get(method) if isinstance(described, Mapping) else None
            method_id = f"{API_NAME}.{resource}.{method}"
            if not isinstance(desc, Mapping):
                fail(f"lacks the method {method_id}")
            elif not isinstance(desc.get("path"), str) or not desc.get("httpMethod"):
                fail(f"describes {method_id} without a path or an HTTP method")
            elif desc["httpMethod"] not in _HTTP_METHODS:
                fail(f"describes {method_id} with the HTTP method {desc['httpMethod']!r}")
    for field, value, url in token_urls(document, fail):
        problem = _urls.url_problem(
            url, allowed_hosts=allowed_hosts, allow_insecure_http=allow_insecure_http
        )
        if problem is not None:
            shown = f"{value!r}" if value == url else f"{value!r} (resolved to {url!r})"
            if problem.startswith("is not an https"):
                problem += " (pass allowed_hosts to accept another host)"
            fail(f"has {field} {shown}, which {problem}")


_HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})


def refresh(
    url: str = LIVE_DISCOVERY_URL,
    *,
    destination: str | os.PathLike[str] | None = None,
    http: HttpTransport | None = None,
    timeout: float = 30.0,
    allowed_hosts: Collection[str] = (),
    allow_insecure_http: bool = False,
) -> Path:
    """Fetch the live document, check it, and store it as the user's copy.

    The document is validated, given the picker scope block if it has none, and written to a
    temporary file beside ``destination`` (by default :func:`user_cache_path`), which is then
    renamed into place: a failed or interrupted refresh leaves the previous copy untouched.

    ``http`` is an ``httplib2.Http``-like object (a new one with ``timeout`` by default).

    Returns:
        The path written.

    Raises:
        DiscoveryDocumentError: the service could not be reached or answered something that is
            not the photospicker v1 document, or one that could send the token off the allowed
            hosts (see :func:`validate_document`). Nothing is written then.
    """
    target = Path(destination) if destination is not None else user_cache_path()
    own: Any = httplib2.Http(timeout=timeout) if http is None else None  # closed here
    client: HttpTransport = http if http is not None else own
    try:
        resp, content = client.request(url, "GET", headers={"Accept": "application/json"})
    except http_client.IncompleteRead as exc:
        raise DiscoveryDocumentError(
            url, f"answer was cut short: {len(exc.partial)} bytes arrived, {exc.expected} missing"
        ) from exc
    except (OSError, http_client.HTTPException, httplib2.HttpLib2Error) as exc:
        raise DiscoveryDocumentError(url, f"could not be fetched: {exc}") from exc
    except ValueError as exc:  # the caller's URL cannot even be parsed ("http://[::1")
        raise ValueError(f"cannot fetch a discovery document from {url!r}: {exc}") from exc
    finally:
        if own is not None:
            own.close()
    if resp.status != 200:
        raise DiscoveryDocumentError(url, f"answered HTTP {resp.status} {resp.reason}")
    expected = resp.get("content-length")
    if len(content) > MAX_DOCUMENT_BYTES:
        raise DiscoveryDocumentError(
            url,
            f"answered {len(content)} bytes, more than the {MAX_DOCUMENT_BYTES // (1024 * 1024)} "
            "MiB a discovery document can be; check the URL",
        )
    if expected is not None and expected.isdigit() and int(expected) != len(content):
        raise DiscoveryDocumentError(
            url, f"answer was cut short: {len(content)} of {expected} bytes arrived"
        )
    document = parse_document(content, url)
    validate_document(
        document, url, allowed_hosts=allowed_hosts, allow_insecure_http=allow_insecure_http
    )
    if not document.get("auth", {}).get("oauth2", {}).get("scopes"):
        document["auth"] = copy.deepcopy(dict(SCOPE_BLOCK))
    _dirs.write_atomically(target, json.dumps(document, indent=2, sort_keys=True).encode() + b"\n")
    logger.info(
        "stored the refreshed discovery document (revision %s) at %s",
        document.get("revision"),
        target,
    )
    return target
