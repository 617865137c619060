"""Fixtures shared by the test modules."""

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from picker_discovery.testing import Emulator, Fault

__all__ = ["document_answer", "emu", "no_proxy", "private_journal", "serve_document"]

# Property-based tests of every parser of outside input. `make test` runs a modest number of
# examples per property; `make fuzz` selects the deep profile (HYPOTHESIS_PROFILE=fuzz).
settings.register_profile("default", max_examples=100, deadline=None)
settings.register_profile(
    "fuzz",
    max_examples=5000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

PROXY_VARIABLES = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


@pytest.fixture
def anyio_backend() -> str:
    """The event loop anyio's plugin runs the async tests on: asyncio, the one the
    asyncio client supports."""
    return "asyncio"


@pytest.fixture
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """requests trusts proxy variables from the environment; keep loopback traffic off them."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def private_journal(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """The session journal of every test (and of the commands it starts) is a file of its
    own in a temporary folder, never the user's."""
    path = tmp_path_factory.mktemp("journal") / "sessions.jsonl"
    monkeypatch.setenv("PICKER_DISCOVERY_JOURNAL", str(path))
    return path


@pytest.fixture
def emu() -> Iterator[Emulator]:
    """A running loopback emulator, stopped after the test."""
    with Emulator() as running:
        yield running


def document_answer(document: Any, **fault: Any) -> Fault:
    """A scripted discovery answer: ``document`` as JSON (or these bytes), 200 unless told."""
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    return Fault(body=body, content_type="application/json; charset=UTF-8", **fault)


@pytest.fixture
def serve_document(emu: Emulator) -> Callable[..., str]:
    """Script the emulator's next discovery answers; returns the document's URL."""

    def serve(*answers: Fault) -> str:
        emu.set_faults("discovery", answers)
        return emu.discovery_url

    return serve
