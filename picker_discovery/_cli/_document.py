"""``discovery show``, ``path``, ``verify`` and ``refresh``: the discovery document in use."""

from __future__ import annotations

import argparse
from typing import Any

from picker_discovery import _discovery as discovery, _urls
from picker_discovery._cli._common import EXIT_OK, emit
from picker_discovery._terminal import printable


def _document_summary(document: dict[str, Any], source: discovery.DocumentSource) -> dict[str, Any]:
    # load_document checked what building a service needs; fields only shown here may be
    # missing or of any kind in a document of the user's, and show as such.
    def mapping(value: Any) -> dict[str, Any]:
        return value if isinstance(value, dict) else {}

    oauth2 = mapping(mapping(document.get("auth")).get("oauth2"))
    methods = sorted(
        str(method.get("id", f"{resource_name}.{method_name} (no id)"))
        for resource_name, resource in mapping(document.get("resources")).items()
        for method_name, method in mapping(mapping(resource).get("methods")).items()
        if isinstance(method, dict)
    )
    return {
        "source": source.kind,
        "path": source.location,
        "name": document.get("name"),
        "version": document.get("version"),
        "revision": document.get("revision"),
        "rootUrl": document.get("rootUrl"),
        "scopes": sorted(map(str, mapping(oauth2.get("scopes")))),
        "methods": methods,
    }


def discovery_show(args: argparse.Namespace) -> int:
    document, source = discovery.load_document(args.document)
    summary = _document_summary(document, source)
    lines = [
        printable(f"{summary['name']} {summary['version']} revision {summary['revision']}"),
        f"from     {printable(source)}",
        f"root     {printable(summary['rootUrl'])}",
        f"scopes   {printable(', '.join(summary['scopes']) or '(none)')}",
        f"methods  {printable(', '.join(summary['methods']))}",
    ]
    emit(args, summary, "\n".join(lines))
    return EXIT_OK


def discovery_path(args: argparse.Namespace) -> int:
    _, source = discovery.load_document(args.document)
    emit(args, {"source": source.kind, "path": source.location}, printable(source.location))
    return EXIT_OK


def discovery_verify(args: argparse.Namespace) -> int:
    from picker_discovery._service import build

    document, source = discovery.load_document(args.document)
    try:
        service = build(discovery_document=document, http=_NoNetwork())
    except discovery.DiscoveryDocumentError as exc:  # it names "<mapping>": name the file
        raise discovery.DiscoveryDocumentError(str(source), exc.problem) from None
    checks = {
        "photospicker.sessions.create": service.sessions().create(body={}),
        "photospicker.sessions.get": service.sessions().get(sessionId="s"),
        "photospicker.sessions.delete": service.sessions().delete(sessionId="s"),
        "photospicker.mediaItems.list": service.mediaItems().list(sessionId="s"),
    }
    for method_id, request in checks.items():
        problem = _urls.url_problem(request.uri)
        if problem is not None:  # load_document refuses such documents; never trust one
            raise discovery.DiscoveryDocumentError(
                str(source), f"builds {method_id} as {request.uri!r}, which {problem}"
            )
    results = {method_id: f"{r.method} {r.uri.split('?')[0]}" for method_id, r in checks.items()}
    text = "\n".join(
        [f"{printable(source)}: the photospicker v1 document, every method builds"]
        + [f"  {method_id:<30} {printable(line)}" for method_id, line in results.items()]
    )
    emit(
        args, {"source": source.kind, "path": source.location, "ok": True, "methods": results}, text
    )
    return EXIT_OK


class _NoNetwork:
    """A transport for building requests that must never be sent."""

    def request(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("verify never sends requests")


def discovery_refresh(args: argparse.Namespace) -> int:
    insecure = args.allow_insecure_http
    path = discovery.refresh(args.url, allowed_hosts=args.allow_host, allow_insecure_http=insecure)
    document, _ = discovery.load_document(
        path, allowed_hosts=args.allow_host, allow_insecure_http=insecure
    )
    emit(
        args,
        {"path": str(path), "revision": document.get("revision")},
        printable(f"stored revision {document.get('revision')} at {path}"),
    )
    return EXIT_OK
