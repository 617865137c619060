"""The offline kit: run and test Picker API code with no Google account and no network."""

from picker_discovery.testing import canned

__all__ = ["canned"]
