"""The offline kit: run and test Picker API code with no Google account and no network.

* :mod:`~picker_discovery.testing.canned`: canned answers for googleapiclient's HttpMock.
* :class:`Backend`: the stateful fake service (users, libraries, sessions, rules, faults).
* :class:`FakeHttp`: an in-process ``httplib2.Http`` stand-in answering from a backend;
  :class:`FakeAsyncTransport` the same for httpx (``AsyncPickerClient(transport=...)``).
* :class:`Emulator`: the same backend over real HTTP on loopback, with a picking page.
* :class:`Stubber`: queued answers per method with expected parameters, each checked against
  the discovery document's schemas (botocore's ``Stubber``).
* the ``picker_discovery`` pytest plugin (:mod:`~picker_discovery.testing.pytest_plugin`).
* the ``emulator`` and ``demo`` commands of ``picker-discovery``
  (:mod:`~picker_discovery.testing.commands`).

Nothing here needs Pillow until an image is drawn (install the ``testing`` extra for that).
The names below are imported on first use (PEP 562), so the command line and the pytest plugin
load only the parts they use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from picker_discovery import _lazy

if TYPE_CHECKING:
    from picker_discovery._clock import FakeClock as FakeClock
    from picker_discovery.testing import canned as canned
    from picker_discovery.testing._api_errors import ApiError as ApiError
    from picker_discovery.testing.async_transport import (
        FakeAsyncTransport as FakeAsyncTransport,
    )
    from picker_discovery.testing.backend import (
        Backend as Backend,
        BackendConfig as BackendConfig,
    )
    from picker_discovery.testing.emulator import Emulator as Emulator
    from picker_discovery.testing.faults import Attempt as Attempt, Fault as Fault
    from picker_discovery.testing.library import (
        MediaItem as MediaItem,
        generate_library as generate_library,
    )
    from picker_discovery.testing.schema import (
        SchemaError as SchemaError,
        SchemaValidator as SchemaValidator,
    )
    from picker_discovery.testing.stubber import (
        ANY as ANY,
        InvalidStub as InvalidStub,
        PendingResponses as PendingResponses,
        Stubber as Stubber,
        StubberError as StubberError,
        UnexpectedParams as UnexpectedParams,
        UnexpectedRequest as UnexpectedRequest,
    )
    from picker_discovery.testing.transport import FakeHttp as FakeHttp

_BACKEND = "picker_discovery.testing.backend"
_FAULTS = "picker_discovery.testing.faults"
_LIBRARY = "picker_discovery.testing.library"
_SCHEMA = "picker_discovery.testing.schema"
_STUBBER = "picker_discovery.testing.stubber"

# Every public name and the module it lives in: __all__ is derived from this one table.
_WHERE: dict[str, str] = {
    "ANY": _STUBBER,
    "ApiError": "picker_discovery.testing._api_errors",
    "Attempt": _FAULTS,
    "Backend": _BACKEND,
    "BackendConfig": _BACKEND,
    "Emulator": "picker_discovery.testing.emulator",
    "FakeAsyncTransport": "picker_discovery.testing.async_transport",
    "FakeClock": "picker_discovery._clock",
    "FakeHttp": "picker_discovery.testing.transport",
    "Fault": _FAULTS,
    "MediaItem": _LIBRARY,
    "SchemaError": _SCHEMA,
    "SchemaValidator": _SCHEMA,
    "canned": "picker_discovery.testing.canned",
    "generate_library": _LIBRARY,
    **dict.fromkeys(
        (
            "InvalidStub",
            "PendingResponses",
            "Stubber",
            "StubberError",
            "UnexpectedParams",
            "UnexpectedRequest",
        ),
        _STUBBER,
    ),
}

__all__ = sorted(_WHERE)

__getattr__, __dir__ = _lazy.exports(__name__, _WHERE, globals())
