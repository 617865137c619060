"""pytest fixtures for code that calls the Picker API; registered as the ``picker_discovery``
plugin, so installing picker-discovery makes them available in every test session.

=========================  ===================================================================
fixture                    what it gives
=========================  ===================================================================
``picker_clock``           a frozen :class:`~picker_discovery.FakeClock` (advance it; never sleep)
``picker_backend``         a fresh in-memory :class:`~.backend.Backend` on ``picker_clock``
``picker_http``            a :class:`~.transport.FakeHttp` on the backend, as ``fake-token``
``picker_service``         ``picker_discovery.build(http=picker_http)``: no sockets
``picker_client``          a ``PickerClient`` over ``picker_service``
``picker_emulator``        a running loopback :class:`~.emulator.Emulator` on the same backend
``picker_emulator_service``  ``picker_discovery.build()`` against the emulator over real HTTP,
                           with ``Credentials(token="emulator-token")``
``picker_emulator_client``   a ``PickerClient`` over ``picker_emulator_service``
``picker_canned``          the :mod:`~picker_discovery.testing.canned` module (HttpMock answers)
``picker_async_transport``   a :class:`~.async_transport.FakeAsyncTransport` on the backend
``picker_async_client``    an ``AsyncPickerClient`` over ``picker_async_transport`` (async)
``picker_emulator_async_client``  an ``AsyncPickerClient`` against ``picker_emulator`` over real
                           HTTP, as ``emulator-token`` (async)
=========================  ===================================================================

The async fixtures need the ``async`` extra (httpx) and run under anyio's pytest plugin
(installed with httpx): mark the test ``@pytest.mark.anyio``. The client is asyncio's, so a
suite that parametrizes ``anyio_backend`` should keep it to ``"asyncio"``.

They work on any date: ``picker_clock`` starts at the real current time, so a client of your
own on the real clock agrees with ``picker_emulator`` too. A test that asserts exact timestamps
pins it by overriding the fixture: ``return FakeClock(start=datetime(..., tzinfo=timezone.utc))``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from types import ModuleType
from typing import TYPE_CHECKING

import pytest

from picker_discovery._clock import FakeClock
from picker_discovery.testing.backend import Backend
from picker_discovery.testing.emulator import Emulator
from picker_discovery.testing.transport import FakeHttp

if TYPE_CHECKING:
    from picker_discovery._aio._client import AsyncPickerClient
    from picker_discovery._client import PickerClient
    from picker_discovery._service_types import PhotospickerResource
    from picker_discovery.testing.async_transport import FakeAsyncTransport

EMULATOR_TOKEN = "emulator-token"


@pytest.fixture
def picker_clock() -> FakeClock:
    """A frozen fake clock for the fake Picker service, starting at the real current time."""
    return FakeClock()


@pytest.fixture
def picker_backend(picker_clock: FakeClock) -> Backend:
    """A fresh fake Picker service (users, libraries, sessions, faults) in memory."""
    return Backend(clock=picker_clock)


@pytest.fixture
def picker_http(picker_backend: Backend) -> FakeHttp:
    """An httplib2.Http stand-in answering from ``picker_backend`` as the user ``fake-token``."""
    return FakeHttp(picker_backend)


@pytest.fixture
def picker_service(picker_http: FakeHttp) -> Iterator[PhotospickerResource]:
    """The photospicker v1 ``Resource``, talking to ``picker_http``."""
    from picker_discovery._service import build

    with build(http=picker_http) as service:
        yield service


@pytest.fixture
def picker_client(picker_service: PhotospickerResource, picker_clock: FakeClock) -> PickerClient:
    """A ``PickerClient`` over ``picker_service``, on the backend's clock.

    Its waits and retry sleeps move ``picker_clock`` instead of taking real time, so the
    backend sees the same simulated time pass (polling timeouts, expiry, baseUrl lifetime).
    It keeps no session journal: the fake's sessions must not reach the user's.
    """
    from picker_discovery._client import PickerClient

    return PickerClient(picker_service, clock=picker_clock, journal=False)


@pytest.fixture
def picker_emulator(picker_backend: Backend) -> Iterator[Emulator]:
    """The loopback emulator serving ``picker_backend``; stopped after the test."""
    with Emulator(backend=picker_backend) as emulator:
        yield emulator


@pytest.fixture
def picker_emulator_service(picker_emulator: Emulator) -> Iterator[PhotospickerResource]:
    """The photospicker v1 ``Resource`` against the emulator, as ``emulator-token``."""
    with picker_emulator.build(EMULATOR_TOKEN) as service:
        yield service


@pytest.fixture
def picker_emulator_client(
    picker_emulator_service: PhotospickerResource, picker_clock: FakeClock
) -> PickerClient:
    """A ``PickerClient`` against the emulator, as ``emulator-token``, on the backend's clock,
    keeping no session journal."""
    from picker_discovery._client import PickerClient

    return PickerClient(picker_emulator_service, clock=picker_clock, journal=False)


@pytest.fixture
def picker_canned() -> ModuleType:
    """The canned HttpMock answers: ``picker_canned.sequence("sessions.delete", ...)``."""
    from picker_discovery.testing import canned

    return canned


@pytest.fixture
def picker_async_transport(picker_backend: Backend) -> FakeAsyncTransport:
    """An httpx transport answering from ``picker_backend`` as the user ``fake-token``."""
    from picker_discovery.testing.async_transport import FakeAsyncTransport

    return FakeAsyncTransport(picker_backend)


@pytest.fixture
async def picker_async_client(
    picker_async_transport: FakeAsyncTransport, picker_clock: FakeClock, anyio_backend: object
) -> AsyncIterator[AsyncPickerClient]:
    """An ``AsyncPickerClient`` over ``picker_async_transport``, on the backend's clock (its
    waits move ``picker_clock``), keeping no session journal; closed after the test."""
    from picker_discovery._aio._client import AsyncPickerClient

    async with AsyncPickerClient(
        transport=picker_async_transport, clock=picker_clock, journal=False
    ) as client:
        yield client


@pytest.fixture
async def picker_emulator_async_client(
    picker_emulator: Emulator, picker_clock: FakeClock, anyio_backend: object
) -> AsyncIterator[AsyncPickerClient]:
    """An ``AsyncPickerClient`` against ``picker_emulator`` over real HTTP, as
    ``emulator-token``, on the backend's clock, keeping no session journal (proxy variables
    are not read: the emulator is on loopback)."""
    import google.oauth2.credentials
    import httpx

    from picker_discovery._aio._client import AsyncPickerClient

    credentials = google.oauth2.credentials.Credentials(token=EMULATOR_TOKEN)
    async with (
        httpx.AsyncClient(trust_env=False, timeout=httpx.Timeout(60.0, connect=10.0)) as http,
        AsyncPickerClient(
            credentials=credentials,
            client_options={"api_endpoint": picker_emulator.url},
            clock=picker_clock,
            journal=False,
            http_client=http,
        ) as client,
    ):
        yield client
