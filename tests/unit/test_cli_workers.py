"""The command line downloads as many items at once as the library does unless told otherwise."""

from __future__ import annotations

import contextlib
import inspect
import io

import pytest

from picker_discovery import Downloader
from picker_discovery._cli._args import build_parser

LIBRARY_DEFAULT = inspect.signature(Downloader).parameters["workers"].default


@pytest.mark.parametrize("argv", [["pick"], ["items", "download", "S1"]])
def test_workers_default_is_the_downloaders(argv: list[str]) -> None:
    assert LIBRARY_DEFAULT == 16
    assert build_parser().parse_args(argv).workers == LIBRARY_DEFAULT
    assert build_parser().parse_args([*argv, "--workers", "3"]).workers == 3


@pytest.mark.parametrize("argv", [["pick"], ["items", "download"]])
def test_help_tells_the_default(argv: list[str]) -> None:
    shown = io.StringIO()
    with contextlib.redirect_stdout(shown), pytest.raises(SystemExit):
        build_parser().parse_args([*argv, "--help"])
    (line,) = [
        line for line in shown.getvalue().splitlines() if line.strip().startswith("--workers")
    ]
    assert f"(default {LIBRARY_DEFAULT})" in line
