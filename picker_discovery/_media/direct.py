"""The credentials path's session: google-auth's ``AuthorizedSession`` whose media GETs skip
the parts of ``requests`` a download does not use.

A media GET through ``AuthorizedSession.request`` spends more processor time in ``requests``
than in sending it: preparing the request (merging the session's settings, cookies and hooks,
re-parsing the URL), reading the environment, building the response (cookie extraction, a
second copy of the headers). With many downloads at once on few cores that was about half
the client's CPU per file (bench/downloads.py). :meth:`DirectSession.picker_get_media`
sends the same request on the same connection pools (the session's own ``HTTPAdapter``, so
the same TLS settings and CA bundle, and the same keep-alive connections) straight through
urllib3, and hands back an ordinary streaming ``requests.Response``.

What it keeps of ``AuthorizedSession``: the token attached by the credentials (refreshed when
expired) and, on a 401, the token refreshed and the request sent again (at most twice), so a
401 reaches the caller only when a fresh token did not help. What a media GET never needed:
cookies (none are sent or kept), hooks, and redirects (the caller follows them itself, each
hop checked against the allowlist). Where the plain path cannot be taken (a proxy applies to
the URL, a client certificate, or a transport adapter other than ``requests``' own), the
request goes through ``AuthorizedSession`` as before.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

import requests
import requests.adapters
import requests.structures
import requests.utils
import urllib3
import urllib3.exceptions
from google.auth.transport.requests import AuthorizedSession

if TYPE_CHECKING:
    from google.auth.credentials import Credentials

__all__ = ["DirectSession", "EnvironmentSettings"]

_log = logging.getLogger(__name__)


class EnvironmentSettings:
    """What ``requests`` reads from the environment for a URL (its proxy, unless NO_PROXY
    names the host; a CA bundle from ``REQUESTS_CA_BUNDLE``), read once per origin."""

    def __init__(self) -> None:
        self._found: dict[tuple[str, str], dict[str, Any]] = {}

    def __call__(self, url: str) -> dict[str, Any]:
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc)
        found = self._found.get(key)
        if found is None:
            with requests.Session() as probe:
                merged = probe.merge_environment_settings(url, {}, None, None, None)
            found = {name: merged[name] for name in ("proxies", "verify", "cert")}
            self._found[key] = found
        return found


class DirectSession(AuthorizedSession):
    """An ``AuthorizedSession`` (environment read once per origin, never ``~/.netrc``) whose
    :meth:`picker_get_media` sends a media GET straight on its connection pool."""

    def __init__(
        self, credentials: Credentials, environment: EnvironmentSettings | None = None
    ) -> None:
        super().__init__(credentials)  # type: ignore[no-untyped-call]
        # requests would read the environment (proxies, NO_PROXY, CA bundle, ~/.netrc) on
        # every request: read it once per origin instead (and never let a ~/.netrc entry
        # replace the bearer token). Sessions made for one downloader share what was read.
        self.trust_env = False
        self.picker_environment = environment if environment is not None else EnvironmentSettings()
        # Per origin: the connection pool media GETs go to, or None where they take the
        # ordinary way (a proxy, a client certificate, another transport adapter).
        self._routes: dict[tuple[str, str], urllib3.HTTPConnectionPool | None] = {}

    def picker_get_media(
        self, url: str, headers: Mapping[str, str], timeout: tuple[float, float]
    ) -> requests.Response:
        """GET ``url`` with the token, ``headers`` over the session's own, body unread, no
        redirect followed; what ``get(url, stream=True, allow_redirects=False)`` answers.

        Raises:
            requests.RequestException: as ``requests`` raises them (ConnectionError,
                ConnectTimeout, ReadTimeout, SSLError).
            google.auth.exceptions.RefreshError: the token could not be refreshed.
        """
        parts = urlsplit(url)
        pool = self._pool(url, (parts.scheme, parts.netloc))
        if pool is None:
            return self.get(
                url,
                headers=dict(headers),
                stream=True,
                allow_redirects=False,
                timeout=timeout,
                **self.picker_environment(url),
            )
        target = (parts.path or "/") + ("?" + parts.query if parts.query else "")
        # The session's headers under the caller's, as requests merges them (by name in any
        # case; a None value removes one).
        names = {name.lower() for name in headers}
        base = {
            k: v for k, v in self.headers.items() if k.lower() not in names and isinstance(v, str)
        }
        auth_request = functools.partial(self._auth_request, timeout=timeout)
        attempt = 0
        while True:
            sent = {**base, **headers}
            self.credentials.before_request(auth_request, "GET", url, sent)
            response = _send(pool, url, target, sent, timeout)
            if response.status_code != 401 or attempt >= self._max_refresh_attempts:
                return response
            response.close()
            attempt += 1
            _log.info(
                "refreshing credentials after a 401 response, attempt %d of %d",
                attempt,
                self._max_refresh_attempts,
            )
            self.credentials.refresh(auth_request)

    def _pool(self, url: str, origin: tuple[str, str]) -> urllib3.HTTPConnectionPool | None:
        """The pool ``requests`` would send ``url`` on (the session's ``HTTPAdapter``, its TLS
        settings), kept per origin while it is open; None where the ordinary way must be
        taken."""
        if origin in self._routes:
            pool = self._routes[origin]
            if pool is None or pool.pool is not None:  # (a closed pool has no .pool)
                return pool
        settings = self.picker_environment(url)
        adapter = self.get_adapter(url)
        if (
            settings["cert"] is not None
            or requests.utils.select_proxy(url, settings["proxies"])
            or type(adapter) is not requests.adapters.HTTPAdapter
            or not hasattr(adapter, "get_connection_with_tls_context")  # requests < 2.32.2
        ):
            self._routes[origin] = None
            return None
        request = requests.PreparedRequest()
        request.method, request.url = "GET", url
        try:
            pool = cast(
                urllib3.HTTPConnectionPool,
                adapter.get_connection_with_tls_context(request, settings["verify"]),
            )
        except urllib3.exceptions.LocationValueError as exc:
            raise requests.exceptions.InvalidURL(exc, request=request) from exc
        adapter.cert_verify(pool, url, settings["verify"], None)  # type: ignore[no-untyped-call]
        self._routes[origin] = pool
        return pool


def _send(
    pool: urllib3.HTTPConnectionPool,
    url: str,
    target: str,
    headers: dict[str, str],
    timeout: tuple[float, float],
) -> requests.Response:
    """What ``HTTPAdapter.send`` does for a streamed GET without a proxy (its exceptions the
    same), and the plain ``requests.Response`` it builds."""
    try:
        raw = pool.urlopen(
            method="GET",
            url=target,
            body=None,
            headers=headers,
            redirect=False,
            assert_same_host=False,
            preload_content=False,
            decode_content=False,
            retries=_NO_RETRIES,
            timeout=urllib3.Timeout(connect=timeout[0], read=timeout[1]),
            chunked=False,
        )
    except urllib3.exceptions.MaxRetryError as exc:
        reason = exc.reason
        if isinstance(reason, urllib3.exceptions.ConnectTimeoutError) and not isinstance(
            reason, urllib3.exceptions.NewConnectionError
        ):
            raise requests.ConnectTimeout(exc) from exc
        if isinstance(reason, urllib3.exceptions.SSLError):
            raise requests.exceptions.SSLError(exc) from exc
        raise requests.ConnectionError(exc) from exc
    except urllib3.exceptions.SSLError as exc:
        raise requests.exceptions.SSLError(exc) from exc
    except urllib3.exceptions.ReadTimeoutError as exc:
        raise requests.ReadTimeout(exc) from exc
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise requests.ConnectionError(exc) from exc
    response = requests.Response()
    response.status_code = raw.status
    # urllib3's headers, as case-insensitive as requests' copy of them would be.
    response.headers = raw.headers  # type: ignore[assignment]
    response.raw = raw
    response.reason = raw.reason or ""
    response.url = url
    return response


_NO_RETRIES = urllib3.Retry(0, read=False)  # requests' default: no retry, errors as they are
