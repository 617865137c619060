"""Build the photospicker v1 service offline, as a real googleapiclient ``Resource``."""

from __future__ import annotations

import copy
import os
import urllib.parse
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

from googleapiclient.discovery import build_from_document
from googleapiclient.http import BatchHttpRequest, HttpRequest

from picker_discovery import _discovery as discovery, _urls
from picker_discovery._errorbase import BadArgument
from picker_discovery._secrets import install_log_filter

if TYPE_CHECKING:  # types only: nothing more is imported at run time
    from google.auth.credentials import Credentials

    from picker_discovery._service_types import PhotospickerResource
    from picker_discovery._types import HttpTransport

__all__ = ["build"]

install_log_filter()  # googleapiclient, google-auth and urllib3 records never show a token


def build(
    *,
    http: HttpTransport | None = None,
    discoveryServiceUrl: str | None = None,
    developerKey: str | None = None,
    model: Any = None,
    requestBuilder: Any = HttpRequest,
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

    Takes the keyword arguments of ``googleapiclient.discovery.build`` except the API name and
    version, and returns the same kind of ``Resource``. Since nothing is fetched,
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
        DiscoveryDocumentError: the document is missing, not the photospicker v1 document, or
            could send the token off the allowed hosts.
        ValueError: fetching the document was asked for, or the endpoint override (or the
            endpoint googleapiclient chose) could send the token off the allowed hosts.
    """
    del cache_discovery, cache, num_retries  # only about fetching, which never happens here
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
        _batch_to(service, base, document)
    return service


def _batch_to(service: Any, base: str, document: Mapping[str, Any]) -> None:
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
