"""Build the photospicker v1 service offline, as a real googleapiclient ``Resource``."""

from __future__ import annotations

import copy
import os
import urllib.parse
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

from googleapiclient.discovery import build_from_document
from googleapiclient.errors import HttpError, UnknownApiNameOrVersion
from googleapiclient.http import BatchHttpRequest, HttpRequest

from picker_discovery import _discovery as discovery, _urls
from picker_discovery._errorbase import BadArgument
from picker_discovery._errors_http import PickerHttpError, from_http_error
from picker_discovery._secrets import install_log_filter

if TYPE_CHECKING:  # types only: nothing more is imported at run time
    from google.auth.credentials import Credentials

    from picker_discovery._service_types import PhotospickerResource
    from picker_discovery._types import HttpTransport

__all__ = ["PickerRequest", "UnknownApi", "build"]

SERVICE_NAME = "photospicker"
VERSION = "v1"

install_log_filter()  # googleapiclient, google-auth and urllib3 records never show a token


class UnknownApi(BadArgument, UnknownApiNameOrVersion):  # type: ignore[misc]
    """``build()`` was asked for another API than photospicker v1.

    A ``BadArgument`` (so a ``ValueError``) and googleapiclient's ``UnknownApiNameOrVersion``,
    which ``googleapiclient.discovery.build`` raises for an API it cannot find.
    """


class PickerRequest(HttpRequest):  # type: ignore[misc]
    """googleapiclient's ``HttpRequest`` whose ``execute()`` raises the project's typed errors.

    An error answer becomes its :mod:`picker_discovery.errors` class (``SessionNotFound``,
    ``FailedPrecondition``, ...), which is still an ``HttpError``: code written for
    googleapiclient keeps working (``except HttpError``, ``e.resp.status``, ``e.content``), and
    mocks that stand in for the transport (``HttpMock``, ``HttpMockSequence``) are unaffected.
    Everything else is googleapiclient's own ``HttpRequest``.
    """

    def execute(self, http: Any = None, num_retries: int = 0) -> Any:
        try:
            return super().execute(http=http, num_retries=num_retries)
        except PickerHttpError:
            raise
        except HttpError as exc:
            raise from_http_error(
                exc, method_id=self.methodId, session_id=_session_of(self.uri)
            ) from None


def _session_of(uri: str) -> str | None:
    """The session a request's URI names: ``/v1/sessions/ID`` or ``?sessionId=ID``."""
    parts = urllib.parse.urlsplit(uri)
    _, found, rest = parts.path.partition("/sessions/")
    if found and rest and "/" not in rest:
        return urllib.parse.unquote(rest)
    values = urllib.parse.parse_qs(parts.query).get("sessionId")
    return values[0] if values else None


def build(
    serviceName: str = SERVICE_NAME,
    version: str = VERSION,
    *,
    http: HttpTransport | None = None,
    discoveryServiceUrl: str | None = None,
    developerKey: str | None = None,
    model: Any = None,
    requestBuilder: Any = PickerRequest,
    credentials: Credentials | None = None,
    cache_discovery: bool = True,
    cache: Any = None,
    client_options: Any = None,
    adc_cert_path: str | None = None,
    adc_key_path: str | None = None,
    num_retries: int = 1,
    static_discovery: bool | None = None,
    always_use_jwt_access: bool = False,
    discovery_document: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    allowed_hosts: Collection[str] = (),
    allow_insecure_http: bool = False,
) -> PhotospickerResource:
    """Build the photospicker v1 service from a local discovery document, with no network.

    Takes the arguments of ``googleapiclient.discovery.build``, and returns the same kind of
    ``Resource``: ``build("photospicker", "v1", credentials=creds)`` or just
    ``build(credentials=creds)``; another API name or version raises :class:`UnknownApi`.
    Its requests are :class:`PickerRequest` objects, whose ``execute()`` raises the project's
    typed errors (``SessionNotFound`` and the rest, each still an ``HttpError``); pass
    ``requestBuilder=googleapiclient.http.HttpRequest`` for googleapiclient's plain ones. Since
    nothing is fetched,
    ``cache_discovery``, ``cache`` and ``num_retries`` (which only govern fetching the document)
    are accepted and have no effect; asking to fetch (``discoveryServiceUrl``, or
    ``static_discovery=False``) is an error: use :func:`picker_discovery.refresh` to update the
    local copy instead.

    Type checkers see the service as a ``PhotospickerResource``, generated from the document
    (``picker_discovery._service_types``), so a misspelt method, parameter or body field is
    caught before the code runs.

    ``discovery_document`` is a path or an already parsed document; by default the document is
    found as :func:`picker_discovery._discovery.find_document` describes.

    The access token goes only to https ``*.googleapis.com`` hosts, to hosts named in
    ``allowed_hosts``, and (for an endpoint override) to loopback addresses. Every URL the
    document could make the service send to is checked before building (see
    :func:`picker_discovery._discovery.validate_document`), and so is the endpoint the built
    service really uses. To point the service at an emulator on this machine, keep the document
    and pass ``client_options={"api_endpoint": "http://127.0.0.1:PORT/"}``. Plain http to any
    other host is refused unless ``allow_insecure_http`` is true (and the host is allowed).

    Raises:
        UnknownApi: ``serviceName`` and ``version`` name another API than photospicker v1.
        DiscoveryDocumentError: the document is missing, not the photospicker v1 document, or
            could send the token off the allowed hosts.
        ValueError: fetching the document was asked for, or the endpoint override (or the
            endpoint googleapiclient chose) could send the token off the allowed hosts.
    """
    del cache_discovery, cache, num_retries  # only about fetching, which never happens here
    if (serviceName, version) != (SERVICE_NAME, VERSION):
        raise UnknownApi(
            f"picker_discovery.build() builds only {SERVICE_NAME!r} {VERSION!r}, not "
            f"{serviceName!r} {version!r}; use googleapiclient.discovery.build for other APIs"
        )
    if discoveryServiceUrl is not None or static_discovery is False:
        raise BadArgument(
            "picker_discovery.build() never fetches the discovery document; "
            "run picker_discovery.refresh() to update the local copy, then build again"
        )
    endpoint = (
        client_options.get("api_endpoint")
        if isinstance(client_options, Mapping)
        else getattr(client_options, "api_endpoint", None)
    )
    if endpoint:  # googleapiclient ignores an empty one too
        _check_endpoint("client_options api_endpoint", endpoint, allowed_hosts, allow_insecure_http)
    label = "<mapping>"
    if isinstance(discovery_document, Mapping):
        discovery.validate_document(
            discovery_document,
            label,
            allowed_hosts=allowed_hosts,
            allow_insecure_http=allow_insecure_http,
        )
        # googleapiclient adds parameters to the method descriptions it builds from.
        document = copy.deepcopy(dict(discovery_document))
    else:
        document, source = discovery.load_document(
            discovery_document, allowed_hosts=allowed_hosts, allow_insecure_http=allow_insecure_http
        )
        label = str(source)
    try:
        service: PhotospickerResource = build_from_document(
            document,
            http=http,
            developerKey=developerKey,
            model=model,
            requestBuilder=requestBuilder,
            credentials=credentials,
            client_options=client_options,
            adc_cert_path=adc_cert_path,
            adc_key_path=adc_key_path,
            always_use_jwt_access=always_use_jwt_access,
        )
        # googleapiclient builds a resource's methods only when the resource is first asked
        # for: build the ones this API needs now, so a malformed method fails here.
        for name in discovery.REQUIRED_METHODS:
            getattr(service, name)()
    except (KeyError, TypeError, AttributeError, IndexError) as exc:
        # googleapiclient reads fields validate_document does not look at (parameters,
        # schemas) without checking their kind: a malformed one fails deep inside it.
        raise discovery.DiscoveryDocumentError(
            label,
            f"cannot be built into a service ({type(exc).__name__}: {exc}); "
            "is it the photospicker v1 discovery document?",
        ) from exc
    # What googleapiclient settled on, after the mTLS switch and the universe domain.
    base = getattr(service, "_baseUrl", None)
    if base is not None and base != endpoint:
        _check_endpoint("the service's base URL", base, allowed_hosts, allow_insecure_http)
    if isinstance(base, str):
        _batch_to(service, base, document, label)
    return service


def _batch_to(service: Any, base: str, document: Mapping[str, Any], label: str) -> None:
    """Send ``new_batch_http_request()`` batches where the service's calls go.

    googleapiclient joins the document's ``rootUrl`` with ``batchPath`` for batches, ignoring
    ``api_endpoint`` (and the mTLS endpoint): a batch from a service aimed at an emulator would
    go to Google. Its root is the service's base URL without the ``servicePath``.
    """
    service_path = str(document.get("servicePath", ""))
    root = base[: len(base) - len(service_path)] if base.endswith(service_path) else base
    batch_uri = urllib.parse.urljoin(root, str(document.get("batchPath", "batch")))
    if batch_uri == f"{document.get('rootUrl')}{document.get('batchPath', 'batch')}":
        return  # googleapiclient's own answer
    if urllib.parse.urlsplit(batch_uri)[:2] != urllib.parse.urlsplit(root)[:2]:
        # validate_document refuses any batchPath that could leave its host; this holds
        # the token to the base URL's origin even so.
        raise discovery.DiscoveryDocumentError(
            label, f"would send batches to {batch_uri!r}, off the service's {root!r}"
        )

    def new_batch_http_request(callback: Any = None) -> BatchHttpRequest:
        """A ``BatchHttpRequest`` to the service's own endpoint (see googleapiclient's)."""
        return BatchHttpRequest(callback=callback, batch_uri=batch_uri)

    service._set_dynamic_attr("new_batch_http_request", new_batch_http_request)


def _check_endpoint(
    what: str, url: object, allowed_hosts: Collection[str], allow_insecure_http: bool
) -> None:
    """Refuse an endpoint that could send the token off the allowed hosts, before any call."""
    problem = _urls.url_problem(
        url,
        allowed_hosts=allowed_hosts,
        allow_loopback=True,
        allow_insecure_http=allow_insecure_http,
    )
    if problem is None:
        return
    if problem.startswith("is not an https"):
        problem += (
            "; if it is genuine, pass allowed_hosts=[its host] (command line: --allow-host HOST)"
        )
    raise BadArgument(f"{what} {url!r} {problem}; nothing was sent")
