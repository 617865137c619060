"""The package imports its public names on first use, so starting up stays cheap.

bench/cold_start.py measures the time; these tests only pin down what gets imported.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

import picker_discovery


def modules_after(code: str) -> set[str]:
    """The modules a fresh interpreter has loaded after running ``code``."""
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"],
        check=True,
        capture_output=True,
        text=True,
    )
    return set(out.stdout.split())


@pytest.mark.parametrize("name", picker_discovery.__all__)
def test_every_public_name_resolves(name: str) -> None:
    assert getattr(picker_discovery, name) is not None
    assert name in dir(picker_discovery)


def test_unknown_names_are_attribute_errors() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        picker_discovery.no_such_name  # noqa: B018


def test_building_loads_neither_the_client_nor_the_models() -> None:
    loaded = modules_after(
        "import httplib2, picker_discovery\npicker_discovery.build(http=httplib2.Http())"
    )
    assert "googleapiclient.discovery" in loaded
    assert not loaded & {
        "picker_discovery._client",
        "picker_discovery.models",
        "picker_discovery.errors",
        "google.protobuf",
    }


def test_the_command_line_starts_without_googleapiclient() -> None:
    # What ``picker-discovery --help`` runs: the console script's import, then the parser.
    loaded = modules_after("from picker_discovery._cli import build_parser, main\nbuild_parser()")
    assert not {m for m in loaded if m.startswith("googleapiclient")}
