"""The offline kit: run and test Picker API code with no Google account and no network.

* :mod:`~picker_discovery.testing.canned`: canned answers for googleapiclient's HttpMock.
* :class:`Backend`: the stateful fake service (users, libraries, sessions, rules, faults).
* :class:`FakeHttp`: an in-process ``httplib2.Http`` stand-in answering from a backend.
* :class:`Emulator`: the same backend over real HTTP on loopback, with a picking page.
* :class:`Stubber`: queued answers per method with expected parameters, each checked against
  the discovery document's schemas (botocore's ``Stubber``).
* the ``picker_discovery`` pytest plugin (:mod:`~picker_discovery.testing.pytest_plugin`).

Nothing here needs Pillow until an image is drawn (install the ``testing`` extra for that).
"""

from picker_discovery.clock import FakeClock
from picker_discovery.testing import canned
from picker_discovery.testing.backend import (
    ApiError,
    Attempt,
    Backend,
    BackendConfig,
    Fault,
)
from picker_discovery.testing.emulator import Emulator
from picker_discovery.testing.library import MediaItem, generate_library
from picker_discovery.testing.schema import SchemaError, SchemaValidator
from picker_discovery.testing.stubber import (
    ANY,
    InvalidStub,
    PendingResponses,
    Stubber,
    StubberError,
    UnexpectedParams,
    UnexpectedRequest,
)
from picker_discovery.testing.transport import FakeHttp

__all__ = [
    "ANY",
    "ApiError",
    "Attempt",
    "Backend",
    "BackendConfig",
    "Emulator",
    "FakeClock",
    "FakeHttp",
    "Fault",
    "InvalidStub",
    "MediaItem",
    "PendingResponses",
    "SchemaError",
    "SchemaValidator",
    "Stubber",
    "StubberError",
    "UnexpectedParams",
    "UnexpectedRequest",
    "canned",
    "generate_library",
]
