"""Which URLs may be sent the access token: one rule for documents and endpoint overrides.

A URL may carry the token when it is https to a ``*.googleapis.com`` host on the default
port, or when its host is one the caller allowed explicitly. Plain http is accepted only to a
loopback address (``127.0.0.0/8``, ``::1``, ``localhost``) unless the caller deliberately
allows insecure http. Anything a parser could read two ways is refused outright: user info,
backslashes, spaces or control characters, non-ASCII or trailing-dot hosts, odd port spellings.

This module is a leaf: it imports only the standard library.
"""

from __future__ import annotations

import ipaddress
import re
import urllib.parse
from collections.abc import Collection

__all__ = ["INSECURE_HTTP_HINT", "is_loopback", "url_problem"]

GOOGLE_API_SUFFIX = ".googleapis.com"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
PRINTABLE = re.compile(r"[!-\[\]-~]+")  # printable ASCII but the backslash, no space

INSECURE_HTTP_HINT = (
    "to allow plain http to it deliberately, pass allow_insecure_http=True "
    "(command line: --allow-insecure-http)"
)


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an IP literal, brackets optional) is this machine."""
    host = host.lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if host == "localhost":
        return True
    if ":" not in host and not host.replace(".", "").isdigit():
        return False  # a name: an IP literal is digits and dots, or has a colon (IPv6)
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _plain_host(host: str) -> bool:
    """Whether ``host`` is lowercase ASCII labels or an IP literal, nothing a parser could
    read another way."""
    if _HOST.fullmatch(host):
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def url_problem(
    url: object,
    *,
    allowed_hosts: Collection[str] = (),
    allow_loopback: bool = False,
    allow_insecure_http: bool = False,
) -> str | None:
    """Why ``url`` may not be sent the token, as a phrase to follow the URL; None if it may.

    ``allowed_hosts`` are host names (any port, https; http only to loopback addresses unless
    ``allow_insecure_http``). ``allow_loopback`` lets every loopback address through as if it
    were in ``allowed_hosts``.
    """
    if not isinstance(url, str):
        return "is not a string"
    if not PRINTABLE.fullmatch(url):
        return (
            "has characters a URL must not have (spaces, backslashes, control or "
            "non-ASCII characters)"
        )
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f"is not a URL ({exc})"
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not url.lower().startswith(f"{scheme}://"):
        return "is not an absolute http(s) URL"
    if "@" in parts.netloc:
        return "has user info ('...@') before its host, which can hide the real host"
    host = parts.hostname or ""
    if not host:
        return "has no host"
    written = f"[{host}]" if ":" in host else host
    if parts.netloc.lower() not in (written, f"{written}:{port}"):
        return f"spells its host or port oddly ({parts.netloc!r})"
    if not _plain_host(host):
        return (
            f"has the host {host!r}, which is not plain ASCII labels "
            "(no trailing dot, no look-alike characters)"
        )
    loopback = is_loopback(host)
    allowed = host in {h.lower().strip("[]") for h in allowed_hosts} or (
        allow_loopback and loopback
    )
    if not allowed and host.endswith(GOOGLE_API_SUFFIX):
        if scheme != "https":
            return (
                "is not an https *.googleapis.com URL: it would send the access token over "
                "plain http"
            )
        if port not in (None, 443):
            return f"is not an https *.googleapis.com URL on port 443 (it names port {port})"
        return None
    if scheme == "http" and not loopback and not allow_insecure_http:
        return (
            f"would send the access token over plain http to {host}, which is not a loopback "
            f"address; {INSECURE_HTTP_HINT}"
            + ("" if allowed else ", and allow the host (allowed_hosts, --allow-host HOST)")
        )
    if not allowed:
        return f"is not an https *.googleapis.com URL (its host is {host!r})"
    return None
