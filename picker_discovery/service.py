"""Build the photospicker v1 service offline, as a real googleapiclient ``Resource``."""

from __future__ import annotations

import copy
import os
from collections.abc import Collection, Mapping
from typing import Any

from googleapiclient.discovery import Resource, build_from_document
from googleapiclient.http import HttpRequest

from picker_discovery import discovery
from picker_discovery._secrets import install_log_filter

__all__ = ["build"]

install_log_filter()  # googleapiclient, google-auth and urllib3 records never show a token


def build(
    *,
    http: Any = None,
    discoveryServiceUrl: str | None = None,
    developerKey: str | None = None,
    model: Any = None,
    requestBuilder: Any = HttpRequest,
    credentials: Any = None,
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
) -> Resource:
    """Build the photospicker v1 service from a local discovery document, with no network.

    Takes the keyword arguments of ``googleapiclient.discovery.build`` except the API name and
    version, and returns the same kind of ``Resource``. Since nothing is fetched,
    ``cache_discovery``, ``cache`` and ``num_retries`` (which only govern fetching the document)
    are accepted and have no effect; asking to fetch (``discoveryServiceUrl``, or
    ``static_discovery=False``) is an error: use :func:`picker_discovery.refresh` to update the
    local copy instead.

    ``discovery_document`` is a path or an already parsed document; by default the document is
    found as :func:`picker_discovery.discovery.find_document` describes. ``allowed_hosts`` lets a
    document whose ``rootUrl`` is not on ``*.googleapis.com`` through (an emulator's, say). To
    point the service at an emulator, keep the document and pass
    ``client_options={"api_endpoint": url}``.

    Raises:
        DiscoveryDocumentError: the document is missing or not the photospicker v1 document.
        ValueError: fetching the document was asked for.
    """
    del cache_discovery, cache, num_retries  # only about fetching, which never happens here
    if discoveryServiceUrl is not None or static_discovery is False:
        raise ValueError(
            "picker_discovery.build() never fetches the discovery document; "
            "run picker_discovery.refresh() to update the local copy, then build again"
        )
    if isinstance(discovery_document, Mapping):
        discovery.validate_document(discovery_document, "<mapping>", allowed_hosts=allowed_hosts)
        # googleapiclient adds parameters to the method descriptions it builds from.
        document = copy.deepcopy(dict(discovery_document))
    else:
        document, _ = discovery.load_document(discovery_document, allowed_hosts=allowed_hosts)
    return build_from_document(
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
