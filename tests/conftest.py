"""Fixtures shared by the test modules."""

from tests.loopback import server

__all__ = ["server"]
