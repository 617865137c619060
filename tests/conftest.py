"""Fixtures shared by the test modules."""

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.loopback import server

__all__ = ["no_proxy", "private_journal", "server"]

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
