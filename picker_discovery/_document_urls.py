"""Each URL a service built from a discovery document could send the access token to:
:func:`token_urls`, which ``_discovery.validate_document`` checks one by one against the rule
in ``_urls``. Paths that could leave the host they are joined to are refused here, whatever
the join. It imports only the private ``_urls`` from the project.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NoReturn

from picker_discovery import _urls

__all__ = ["token_urls"]

_EXPRESSION = re.compile(r"\{[^{}]*\}")


def token_urls(
    document: Mapping[str, Any], fail: Callable[[str], NoReturn]
) -> Iterator[tuple[str, str, str]]:
    """``(field, value, url)``: each URL a service built from ``document`` could send the
    token to, and the field and value it comes from.

    URLs are joined with googleapiclient's own functions, in its order: ``urljoin(rootUrl,
    servicePath)`` (or ``mtlsRootUrl``) for the base, ``rootUrl + batchPath`` for batches, its
    ``_urljoin`` of a base and the expanded method path, and its media path for methods with
    ``mediaUpload``. Fields googleapiclient ignores (``baseUrl``, ``basePath``, upload protocol
    paths) are checked too: other tools read them.
    """
    from googleapiclient import discovery as gdiscovery

    root: str = document["rootUrl"]
    service_path: str = document["servicePath"]
    yield "rootUrl", root, root
    if not urllib.parse.urlsplit(root).path.endswith("/"):
        fail(f"has rootUrl {root!r}, which does not end with '/' (googleapiclient appends paths)")
    _check_path(fail, "servicePath", service_path)
    bases = [_join(fail, "servicePath", root, service_path)]
    yield "servicePath", service_path, bases[0]
    mtls_root = document.get("mtlsRootUrl")
    if mtls_root is not None:
        if not isinstance(mtls_root, str):
            fail("has an mtlsRootUrl that is not a string")
        yield "mtlsRootUrl", mtls_root, mtls_root
        bases.append(_join(fail, "mtlsRootUrl", mtls_root, service_path))
        yield "mtlsRootUrl", mtls_root, bases[1]
    batch_path = document.get("batchPath", "batch")
    _check_path(fail, "batchPath", batch_path)
    yield "batchPath", batch_path, f"{root}{batch_path}"
    if "baseUrl" in document:
        yield "baseUrl", document["baseUrl"], document["baseUrl"]
    if "basePath" in document:
        base_path = document["basePath"]
        _check_path(fail, "basePath", base_path)
        yield "basePath", base_path, _join(fail, "basePath", root, base_path)
    for where, desc in _methods(document, fail):
        upload = desc.get("mediaUpload")
        for key in ("path", "flatPath"):
            if key not in desc:
                continue
            field, template = f"{where}.{key}", desc[key]
            _check_path(fail, field, template, template=True)
            expanded = _expand(fail, field, template)
            for base in bases:
                yield field, template, gdiscovery._urljoin(base, expanded)
            if key == "path" and isinstance(upload, Mapping) and upload:
                media = gdiscovery._media_path_url_from_info(
                    {"rootUrl": root, "servicePath": service_path}, template
                )
                for base in bases:
                    joined = gdiscovery._urljoin(base, _expand(fail, field, media))
                    yield field, template, gdiscovery._fix_up_media_path_base_url(joined, base)
        protocols = upload.get("protocols") if isinstance(upload, Mapping) else None
        for protocol, info in protocols.items() if isinstance(protocols, Mapping) else ():
            path = info.get("path") if isinstance(info, Mapping) else None
            if path is not None:
                field = f"{where}.mediaUpload.protocols.{protocol}.path"
                _check_path(fail, field, path, template=True)
                yield field, path, _join(fail, field, root, _expand(fail, field, path))


def _methods(
    document: Mapping[str, Any], fail: Callable[[str], NoReturn]
) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """``(field, description)`` of every method, top-level and in nested resources."""
    pending: list[tuple[str, Any]] = [("", document)]
    while pending:
        prefix, node = pending.pop()
        methods = node.get("methods", {})
        resources_ = node.get("resources", {})
        if not isinstance(methods, Mapping) or not isinstance(resources_, Mapping):
            fail(f"has {prefix or 'top-level '}methods or resources that are not objects")
        for name, desc in methods.items():
            if not isinstance(desc, Mapping):
                fail(f"has {prefix}methods.{name}, which is not an object")
            yield f"{prefix}methods.{name}", desc
        for name, resource in resources_.items():
            if not isinstance(resource, Mapping):
                fail(f"has {prefix}resources.{name}, which is not an object")
            pending.append((f"{prefix}resources.{name}.", resource))


def _check_path(
    fail: Callable[[str], NoReturn], field: str, path: object, *, template: bool = False
) -> None:
    """Refuse a path that could leave the host it is joined to, whatever the join.

    An absolute or protocol-relative path, a backslash, a dot segment, or (for a URI template)
    a start a parameter value could complete into an absolute URL, as ``{+name}`` can.
    """
    if not isinstance(path, str):
        fail(f"has a {field} that is not a string")
    prefix = path.split("{", 1)[0].lower() if template else path.lower()
    problem = None
    if path and not _urls.PRINTABLE.fullmatch(path):
        problem = "has spaces, backslashes, control or non-ASCII characters"
    elif prefix.startswith(("//", "http:", "https:")) or "://" in prefix:
        problem = "is an absolute or protocol-relative URL, not a path"
    elif not template and urllib.parse.urlsplit(prefix).scheme:
        # "photospicker.googleapis.com:443": urljoin reads the text before ':' as a scheme
        # and the whole path as an absolute URL. (Method paths are joined by
        # googleapiclient's own _urljoin, which keeps "v1:peek" under the base.)
        problem = "starts with a scheme (a name and ':' before any '/'), not a path"
    elif template and "{" in path and any(s.startswith(prefix) for s in ("http:", "https:")):
        problem = "starts with a template expression a parameter could make an absolute URL"
    else:
        segments = _EXPRESSION.sub("x", path).split("?", 1)[0].split("/")
        if any(urllib.parse.unquote(s) in (".", "..") for s in segments):
            problem = "has a '.' or '..' segment"
    if problem is not None:
        fail(f"has {field} {path!r}, which {problem}")


def _join(fail: Callable[[str], NoReturn], field: str, base: str, path: str) -> str:
    try:
        return urllib.parse.urljoin(base, path)
    except ValueError as exc:
        fail(f"has a {field} that cannot be joined to {base!r}: {exc}")


def _expand(fail: Callable[[str], NoReturn], field: str, template: str) -> str:
    """``template`` expanded as googleapiclient does, with a placeholder for each variable."""
    import uritemplate

    try:
        names = uritemplate.URITemplate(template).variable_names
        expanded: str = uritemplate.expand(template, {name: "x" for name in names})
    except Exception as exc:  # uritemplate raises many types on malformed templates
        fail(f"has {field} {template!r}, which is not a URI template: {exc}")
    return expanded
