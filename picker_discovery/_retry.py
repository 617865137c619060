"""RetryPolicy: whether a failed attempt may be tried again, and how long to wait first.

The policy only decides; the caller sends, sleeps and counts. It knows HTTP and transport
failures in general, not the Picker API, so it serves API calls and byte downloads alike::

    policy = RetryPolicy()                       # 5 attempts, 1 s, x2, capped at 32 s, jitter
    attempt = 1
    while True:
        try:
            response = send()
        except Exception as exc:
            delay = policy.retry_delay(attempt, exception=exc)
            if delay is None:
                raise
        else:
            if response.status < 400:
                return response
            delay = policy.retry_delay(attempt, status=response.status, headers=response)
            if delay is None:
                raise SomeError(response)
        sleep(delay)
        attempt += 1

What is retried:

- ``idempotent=True`` (GET, DELETE, byte downloads): transport failures (connection reset,
  refused or aborted, timeouts, DNS, ``http.client`` and ``httplib2`` errors) and the statuses in
  ``retry_statuses`` (429, 500, 502, 503, 504).
- ``idempotent=False`` (a POST that creates something): only failures that prove the request
  never left this machine (connection refused, DNS failure). A 5xx, a timeout or a dropped
  connection may come after the server acted, so retrying could do the work twice.

How long to wait: ``initial_delay * multiplier ** (attempt - 1)``, capped at ``max_delay``, plus
up to ``jitter`` of itself at random; never less than a ``Retry-After`` header (seconds or an
HTTP date), and never less than ``rate_limit_delay`` (30 s, as Google's best practices ask) after
a 429. A ``Retry-After`` longer than ``max_retry_after`` ends the retries instead of waiting.
"""

from __future__ import annotations

import email.utils
import http.client
import math
import random
import socket
import sys
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

import httplib2

from picker_discovery._errorbase import BadArgument, BadArgumentType
from picker_discovery._frozen import FrozenValue, set_field

__all__ = [
    "MAX_RETRY_AFTER",
    "RetryPolicy",
    "is_transport_error",
    "is_unsent_error",
    "retry_after_seconds",
]

_TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionError,  # reset, refused, aborted, broken pipe
    TimeoutError,  # socket.timeout is TimeoutError since Python 3.10
    socket.gaierror,
    http.client.HTTPException,  # RemoteDisconnected, IncompleteRead, BadStatusLine, ...
    httplib2.HttpLib2Error,  # ServerNotFoundError, RelativeURIError is not transient but rare
)
# Failures that happen before a byte of the request is sent.
_UNSENT_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionRefusedError,
    socket.gaierror,
    httplib2.ServerNotFoundError,
)


def is_transport_error(exc: BaseException) -> bool:
    """Whether ``exc`` is a network failure that may pass if the request is sent again."""
    if isinstance(exc, (httplib2.RelativeURIError, httplib2.RedirectMissingLocation)):
        return False
    return isinstance(exc, _TRANSPORT_ERRORS)


def is_unsent_error(exc: BaseException) -> bool:
    """Whether ``exc`` proves the request never reached the server (so resending is safe)."""
    return isinstance(exc, _UNSENT_ERRORS)


MAX_RETRY_AFTER = 24 * 3600.0
"""The longest wait a ``Retry-After`` header is read as (a day): anything longer, in
seconds or as a date, counts as this."""


def retry_after_seconds(
    headers: Mapping[str, Any] | None, now: datetime | None = None
) -> float | None:
    """The wait a ``Retry-After`` header asks for, in seconds, or ``None`` if there is none.

    Both forms are read: delay seconds (``"30"``, ASCII digits only, as HTTP defines them)
    and an HTTP date (``"Wed, 21 Oct 2026 07:28:00 GMT"``), the latter against ``now``
    (default: the current UTC time; a naive ``now`` is taken as UTC). A date in the past gives
    0; a header that is neither (a negative or fractional number, other digits, garbage)
    gives ``None``. The result is never more than :data:`MAX_RETRY_AFTER`. Never raises.
    """
    if not headers:
        return None
    value = None
    try:
        for key, item in headers.items():
            if isinstance(key, str) and key.lower() == "retry-after":
                value = item
                break
    except Exception:  # a headers object that cannot be read has no usable Retry-After
        return None
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).decode("latin-1")
    elif isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    text = value.strip(" \t")
    if text.isascii() and text.isdigit():
        # Compare lengths first: int() of a very long string is slow (and refused by Python).
        digits = text.lstrip("0") or "0"
        if len(digits) > len(str(int(MAX_RETRY_AFTER))):
            return MAX_RETRY_AFTER
        return min(float(int(digits)), MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(text)
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        current = now if now is not None else datetime.now(timezone.utc)
        if current.tzinfo is None:
            current = current.replace(tzinfo=timezone.utc)
        wait = (when - current).total_seconds()
    except (TypeError, ValueError, IndexError, OverflowError, AttributeError):
        return None
    if not math.isfinite(wait):  # pragma: no cover - timedelta seconds are always finite
        return None
    return min(max(0.0, wait), MAX_RETRY_AFTER)


_SECONDS_FIELDS = ("initial_delay", "max_delay", "jitter", "rate_limit_delay", "max_retry_after")


def _real(value: object) -> bool:
    """Whether ``value`` is a real number other than a bool (checked only off the common case of
    an int or a float, so building a client does not import :mod:`numbers`)."""
    import numbers

    return not isinstance(value, bool) and isinstance(value, numbers.Real)


_RANDOM = random.random
"""Where the jitter comes from by default (in the class, ``random`` is the field)."""


class RetryPolicy(FrozenValue):
    """When to try a failed request again, and how long to wait first.

    Attributes:
        max_attempts: attempts in all, the first included; 1 turns retrying off.
        initial_delay: seconds before the second attempt (Google asks for at least 1 s).
        multiplier: how much each wait grows over the one before.
        max_delay: the longest backoff wait, before jitter.
        jitter: up to this fraction of the wait is added at random (0.1: up to 10 % more).
        rate_limit_delay: the shortest wait after a 429 (Google asks for at least 30 s).
        max_retry_after: give up instead of waiting when ``Retry-After`` asks for longer.
        retry_statuses: HTTP statuses worth another attempt of an idempotent request.
        random: returns a float in [0, 1); replace it to make jitter predictable in tests.
    """

    max_attempts: int
    initial_delay: float
    multiplier: float
    max_delay: float
    jitter: float
    rate_limit_delay: float
    max_retry_after: float
    retry_statuses: frozenset[int]
    random: Callable[[], float]
    _HIDDEN = frozenset({"random"})

    def __init__(
        self,
        max_attempts: int = 5,
        initial_delay: float = 1.0,
        multiplier: float = 2.0,
        max_delay: float = 32.0,
        jitter: float = 0.1,
        rate_limit_delay: float = 30.0,
        max_retry_after: float = 300.0,
        retry_statuses: frozenset[int] = frozenset({429, 500, 502, 503, 504}),
        random: Callable[[], float] = _RANDOM,
    ) -> None:
        set_field(self, "max_attempts", max_attempts)
        set_field(self, "initial_delay", initial_delay)
        set_field(self, "multiplier", multiplier)
        set_field(self, "max_delay", max_delay)
        set_field(self, "jitter", jitter)
        set_field(self, "rate_limit_delay", rate_limit_delay)
        set_field(self, "max_retry_after", max_retry_after)
        set_field(self, "retry_statuses", retry_statuses)
        set_field(self, "random", random)
        self.__post_init__()

    def __post_init__(self) -> None:
        if isinstance(self.max_attempts, bool) or not isinstance(self.max_attempts, int):
            raise BadArgumentType(f"max_attempts must be an int, not {self.max_attempts!r}")
        if self.max_attempts < 1:
            raise BadArgument(f"max_attempts must be at least 1, not {self.max_attempts}")
        for name in (*_SECONDS_FIELDS, "multiplier"):
            value = getattr(self, name)
            if type(value) is not float and type(value) is not int and not _real(value):
                raise BadArgumentType(f"{name} must be a number, not {value!r}")
            if math.isnan(value) or math.isinf(value):
                raise BadArgument(f"{name} must be a finite number, not {value}")
            if value < 0:
                raise BadArgument(f"{name} must not be negative, not {value}")
        if self.multiplier < 1:
            raise BadArgument(f"multiplier must be at least 1, not {self.multiplier}")

    @classmethod
    def none(cls) -> RetryPolicy:
        """A policy that never retries."""
        return cls(max_attempts=1)

    def backoff(self, attempt: int) -> float:
        """The wait after failed attempt number ``attempt`` (1-based), jitter included."""
        if self.initial_delay == 0:
            grown = 0.0
        else:
            try:
                grown = self.initial_delay * self.multiplier ** max(0, attempt - 1)
            except OverflowError:  # a huge attempt number: the cap applies anyway
                grown = math.inf
        base = min(self.max_delay, grown)
        # Finite even for absurd (but finite) settings whose product would overflow.
        return min(base * (1.0 + self.jitter * self.random()), sys.float_info.max)

    def is_retryable(
        self,
        *,
        status: int | None = None,
        exception: BaseException | None = None,
        idempotent: bool = True,
    ) -> bool:
        """Whether an attempt that failed this way may be sent again (ignoring the count)."""
        if exception is not None:
            return is_transport_error(exception) if idempotent else is_unsent_error(exception)
        if status is not None:
            return idempotent and status in self.retry_statuses
        return False

    def retry_delay(
        self,
        attempt: int,
        *,
        status: int | None = None,
        headers: Mapping[str, Any] | None = None,
        exception: BaseException | None = None,
        idempotent: bool = True,
        now: datetime | None = None,
    ) -> float | None:
        """Seconds to wait before the next attempt, or ``None`` to give up.

        ``attempt`` is the number of the attempt that just failed (1 for the first). Give the
        HTTP ``status`` and response ``headers`` of an error answer, or the ``exception`` a
        transport raised. ``now`` is the current UTC time, for ``Retry-After`` dates.
        """
        if attempt >= self.max_attempts:
            return None
        if not self.is_retryable(status=status, exception=exception, idempotent=idempotent):
            return None
        delay = self.backoff(attempt)
        asked = retry_after_seconds(headers, now) if exception is None else None
        if asked is not None:
            if asked > self.max_retry_after:
                return None
            delay = max(delay, asked)
        if status == 429:
            delay = max(delay, self.rate_limit_delay)
        return delay
