"""Where the bearer token may go: the allowlist of media hosts (security-critical).

Every URL that can carry a token (a ``baseUrl``, a redirect, an emulator's origin) is checked
here before a request is sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

import urllib3.util

from picker_discovery.errors import BadArgument, UntrustedMediaHost

DEFAULT_ALLOWED_HOSTS: tuple[str, ...] = ("*.googleusercontent.com",)
"""Where the bearer token may go by default: https on any subdomain of googleusercontent.com."""


# What no URL that may carry the token contains: white space (``\s`` is what str.isspace()
# calls space), a backslash, control characters and DEL. One regular expression search is
# about 8 times cheaper than a Python test per character, and this runs on every request.
_REFUSED_CHARS = re.compile(r"[\s\\\x00-\x1f\x7f]")


def _origin(url: str) -> tuple[str, str, int] | None:
    """``(scheme, host, port)`` of an http(s) URL both parsers agree on, else None."""
    if _REFUSED_CHARS.search(url):
        return None
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
        their_host = urllib3.util.parse_url(url).host
    except ValueError:  # includes urllib3's LocationParseError
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not host or "@" in parts.netloc:
        return None
    if not host.isascii() or host.endswith(".") or (their_host or "").lower().strip("[]") != host:
        return None
    return scheme, host, port or (443 if scheme == "https" else 80)


_HOST = re.compile(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*")


class HostAllowlist:
    """Which URLs may receive the bearer token.

    Entries are ``*.example.com`` (https on any subdomain, port 443; the apex and look-alikes
    such as ``evilexample.com`` or ``example.com.evil.net`` do not match), ``host.example.com``
    (that host over https, port 443) or an origin ``scheme://host[:port]`` (exactly that: for
    an emulator, ``http://127.0.0.1:8080``). URLs with user info, backslashes, control
    characters, non-ASCII or trailing-dot hosts never match.

    An ``http://`` origin sends the token in the clear, so it must be a loopback address
    (``127.0.0.0/8``, ``::1``, ``localhost``) unless ``allow_insecure_http`` is true; otherwise
    the entry is refused with a ``ValueError`` before anything is sent.
    """

    def __init__(
        self, entries: Iterable[str] = DEFAULT_ALLOWED_HOSTS, *, allow_insecure_http: bool = False
    ) -> None:
        from picker_discovery._urls import is_loopback

        if isinstance(entries, str):
            entries = (entries,)
        self._suffixes: set[str] = set()
        self._hosts: set[str] = set()
        self._origins: set[tuple[str, str, int]] = set()
        self.entries: tuple[str, ...] = tuple(entries)
        for entry in self.entries:
            if "://" in entry:
                origin = _origin(entry)
                if origin is None or urlsplit(entry).path not in ("", "/"):
                    raise BadArgument(f"allowlist origin must be scheme://host[:port]: {entry!r}")
                if origin[0] == "http" and not allow_insecure_http and not is_loopback(origin[1]):
                    raise BadArgument(
                        f"media host {entry!r} would receive the access token over plain http, "
                        f"and {origin[1]} is not a loopback address; nothing was sent. Use "
                        "https, or allow it deliberately with HostAllowlist([...], "
                        "allow_insecure_http=True) or PickerClient(allow_insecure_http=True) "
                        "(command line: --allow-insecure-http)"
                    )
                self._origins.add(origin)
            elif entry.startswith("*."):
                suffix = entry[1:].lower()
                if suffix.count(".") < 2 or not _HOST.fullmatch(suffix[1:]):
                    raise BadArgument(f"allowlist wildcard must look like *.example.com: {entry!r}")
                self._suffixes.add(suffix)
            else:
                if not _HOST.fullmatch(entry):
                    raise BadArgument(f"allowlist host must be a bare host name: {entry!r}")
                self._hosts.add(entry.lower())

    @classmethod
    def of(cls, entries: HostAllowlist | Iterable[str]) -> HostAllowlist:
        """``entries`` as an allowlist (an allowlist is returned as it is)."""
        return entries if isinstance(entries, HostAllowlist) else cls(entries)

    def allows(self, url: str) -> bool:
        """Whether ``url`` may be sent the bearer token."""
        origin = _origin(url)
        if origin is None:
            return False
        if origin in self._origins:
            return True
        scheme, host, port = origin
        if scheme != "https" or port != 443:
            return False
        return host in self._hosts or any(
            host.endswith(suffix) and len(host) > len(suffix) for suffix in self._suffixes
        )

    def check(self, url: str, *, item_id: str | None = None, filename: str | None = None) -> None:
        """Raise :class:`UntrustedMediaHost` unless ``url`` is allowed."""
        if not self.allows(url):
            shown = url if len(url) <= 120 else url[:119] + "…"
            raise UntrustedMediaHost(
                f"item {item_id!r} ({filename}): refused to send the access token to {shown!r}, "
                f"which is not on the media host allowlist {list(self.entries)}; nothing was "
                "sent. If this host is genuine (an emulator, say), add its origin to the "
                "allowlist",
                url=url,
                item_id=item_id,
                filename=filename,
            )

    def __repr__(self) -> str:
        return f"HostAllowlist({list(self.entries)!r})"
