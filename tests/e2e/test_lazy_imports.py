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


def test_the_client_reads_answers_without_protobuf() -> None:
    # Timestamps and durations are read with the standard library: no protobuf on the path.
    loaded = modules_after(
        "from googleapiclient.http import HttpMockSequence\n"
        "import picker_discovery\n"
        'session = b\'{"id": "s1", "expireTime": "2030-01-01T00:00:00Z", '
        '"pollingConfig": {"pollInterval": "5s", "timeoutIn": "1800s"}}\'\n'
        'page = b\'{"mediaItems": [{"id": "a", "createTime": "2030-01-01T00:00:00Z", '
        '"mediaFile": {"mediaFileMetadata": {"photoMetadata": '
        '{"exposureTime": "0.01s"}}}}]}\'\n'
        "ok = {'status': '200'}\n"
        "http = HttpMockSequence([(ok, session), (ok, session), (ok, page)])\n"
        "client = picker_discovery.PickerClient(http=http, journal=False)\n"
        "session = client.create_session()\n"
        "assert session.polling_config.poll_interval.total_seconds() == 5\n"
        "assert client.get_session('s1').expire_time.year == 2030\n"
        "(item,) = client.list_media_items('s1')\n"
        "assert item.media_file.media_file_metadata.photo_metadata.exposure_time.microseconds\n"
        "item.to_dict()"
    )
    assert "picker_discovery._client" in loaded
    assert "google.protobuf" not in loaded
