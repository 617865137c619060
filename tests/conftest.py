"""Fixtures shared by the test modules."""

import pytest

from tests.loopback import server

__all__ = ["no_proxy", "server"]

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
