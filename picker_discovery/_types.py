"""The shapes of the objects the package takes from its users, for type checkers.

``HttpTransport`` is what googleapiclient sends requests through (``http=`` of
:func:`picker_discovery.build` and :class:`picker_discovery.PickerClient`, and what
``http_factory`` makes): ``httplib2.Http``, google-auth-httplib2's ``AuthorizedHttp``,
googleapiclient's ``HttpMock``, the test kit's ``FakeHttp``, or any object with the same
``request`` method. Credentials are google-auth's ``google.auth.credentials.Credentials``.

This module imports only ``typing``: it is a leaf, safe to import from anywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, overload

__all__ = ["HttpResponse", "HttpTransport", "HttpTransportFactory"]


class HttpResponse(Protocol):
    """The response half of what ``request`` returns: ``httplib2.Response``-like, a mapping of
    lower-case header names to values with the HTTP status as an ``int``."""

    @property
    def status(self) -> int: ...

    @property
    def reason(self) -> str: ...

    @overload
    def get(self, key: str, /) -> str | None: ...

    @overload
    def get(self, key: str, default: str, /) -> str: ...

    def __contains__(self, key: object, /) -> bool: ...

    def __getitem__(self, key: str, /) -> str: ...


class HttpTransport(Protocol):
    """An ``httplib2.Http``-like transport: ``request()`` sends one request and returns
    ``(response, content)``; it raises (``OSError``, ``httplib2`` errors) when no answer came.

    googleapiclient passes ``uri`` and ``method`` by position, ``body`` and ``headers`` by
    keyword, and never ``redirections`` or ``connection_type``: the arguments after ``method``
    are keyword-only here, so a transport may also take them as ``**kwargs``.
    """

    def request(
        self,
        uri: str,
        method: str = ...,
        *,
        body: str | bytes | None = ...,
        headers: dict[str, str] | None = ...,
        redirections: int = ...,
        connection_type: object = ...,
    ) -> tuple[HttpResponse, bytes]: ...


HttpTransportFactory = Callable[[], HttpTransport]
"""Makes one thread's transport (``PickerClient(http_factory=...)``)."""
