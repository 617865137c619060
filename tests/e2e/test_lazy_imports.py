"""The package imports its public names on first use, so starting up stays cheap.

bench/cold_start.py measures the time; these tests only pin down what gets imported.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import picker_discovery
from picker_discovery._discovery import BUNDLED_DOCUMENT


def modules_after(code: str) -> set[str]:
    """The modules a fresh interpreter has loaded after running ``code``."""
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"],
        check=False,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
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


# What waiting needs and creating, reading, listing and deleting do not: the poll step, the
# many-sessions scheduler and its thread pool, the rate cap. A client imports them on its first
# wait, so importing any of them at module level in the client's modules fails here.
WAIT_MACHINERY = {
    "picker_discovery._step",
    "picker_discovery._schedule",
    "picker_discovery._many",
    "picker_discovery._ratelimit",
}
# And what only a cleanup of the session journal needs.
FIRST_USE = WAIT_MACHINERY | {"picker_discovery._cleanup"}

_ANSWERS = (
    "from googleapiclient.http import HttpMockSequence\n"
    "import picker_discovery\n"
    'session = b\'{"id": "s1", "pickerUri": "https://photos.google.com/picker/s1", '
    '"expireTime": "2030-01-01T00:00:00Z", "mediaItemsSet": true, '
    '"pollingConfig": {"pollInterval": "5s", "timeoutIn": "1800s"}}\'\n'
    'page = b\'{"mediaItems": [{"id": "a"}]}\'\n'
    "ok = {'status': '200'}\n"
)


def test_building_a_client_loads_no_waiting_machinery() -> None:
    loaded = modules_after(
        "import httplib2, picker_discovery\n"
        "client = picker_discovery.PickerClient(http=httplib2.Http())"
    )
    assert "picker_discovery._client" in loaded
    assert not loaded & FIRST_USE


def test_a_session_made_read_listed_and_deleted_loads_no_waiting_machinery() -> None:
    loaded = modules_after(
        _ANSWERS + "http = HttpMockSequence([(ok, session), (ok, session), (ok, page), "
        "(ok, b'{}')])\n"
        "client = picker_discovery.PickerClient(http=http, journal=False)\n"
        "created = client.create_session()\n"
        "assert client.get_session(created).media_items_set\n"
        "assert [item.id for item in client.list_media_items(created)] == ['a']\n"
        "client.delete_session(created)"
    )
    assert not loaded & FIRST_USE


def test_the_first_wait_loads_it_and_behaves_as_before() -> None:
    # Checked before anything is sent, and raised as the same public classes as ever.
    loaded = modules_after(
        _ANSWERS + "http = HttpMockSequence([(ok, session)] * 3)\n"
        "client = picker_discovery.PickerClient(http=http, journal=False)\n"
        "try:\n"
        "    client.wait_for_sessions(['s1'], max_workers=0)\n"
        "except picker_discovery.BadArgument as exc:\n"
        "    assert isinstance(exc, ValueError) and 'max_workers' in str(exc)\n"
        "else:\n"
        "    raise AssertionError('max_workers=0 was accepted')\n"
        "try:\n"
        "    client.check_selection('s1', timeout='soon')\n"
        "except picker_discovery.BadArgumentType as exc:\n"
        "    assert isinstance(exc, TypeError)\n"
        "else:\n"
        "    raise AssertionError('a text timeout was accepted')\n"
        "check = client.check_selection('s1')\n"
        "assert isinstance(check, picker_discovery.SelectionCheck) and check.ready\n"
        "assert client.wait_for_selection('s1').id == 's1'\n"
        "(outcome,) = client.wait_for_sessions(['s1'])\n"
        "assert isinstance(outcome, picker_discovery.WaitOutcome)\n"
        "assert outcome.status == 'ready', outcome"
    )
    assert loaded >= WAIT_MACHINERY


def test_the_first_cleanup_loads_its_report(tmp_path: Path) -> None:
    journal = tmp_path / "sessions.jsonl"
    loaded = modules_after(
        "import httplib2, picker_discovery\n"
        f"client = picker_discovery.PickerClient(http=httplib2.Http(), journal={str(journal)!r})\n"
        "report = client.cleanup_sessions(dry_run=True)\n"
        "assert type(report) is picker_discovery.CleanupReport, type(report)\n"
        "assert report.ok and report.pending == [] and report.dry_run"
    )
    assert "picker_discovery._cleanup" in loaded
    assert not loaded & WAIT_MACHINERY


def test_building_a_client_loads_little_beyond_googleapiclient_building_the_service() -> None:
    # Whatever googleapiclient's own build_from_document loads is on both sides of the cold
    # start target; beyond it a client may load its own modules and these few. A module-level
    # import of anything else (html.parser for HTML error pages, numbers, a thread pool) that
    # building a client does not need fails here; add it to this list only knowingly.
    allowed = {
        "importlib.readers",  # the bundled document, found with importlib.resources
        "importlib.resources._itertools",
        "importlib.resources.readers",
        "unicodedata",  # checking session ids
    }
    plain = modules_after(
        "import json, httplib2\n"
        "from googleapiclient.discovery import build_from_document\n"
        f"document = json.load(open({str(BUNDLED_DOCUMENT)!r}, encoding='utf-8'))\n"
        "service = build_from_document(document, http=httplib2.Http())"
    )
    client = modules_after(
        "import httplib2, picker_discovery\n"
        "client = picker_discovery.PickerClient(http=httplib2.Http())"
    )
    extra = {m for m in client - plain if m.split(".")[0] != "picker_discovery"}
    assert extra <= allowed, sorted(extra - allowed)


def test_building_a_client_loads_only_what_building_needs() -> None:
    # Errors are loaded as they are needed, not the whole catalogue; values need no dataclasses
    # machinery, and the bundled document is found without importlib's resource readers.
    built = (
        "import json, httplib2\nfrom googleapiclient.discovery import build_from_document\n"
        f"document = json.load(open({str(BUNDLED_DOCUMENT)!r}, encoding='utf-8'))\n"
        "build_from_document(document, http=httplib2.Http())"
    )
    plain = modules_after(built)
    loaded = modules_after(
        "import httplib2, picker_discovery\n"
        "picker_discovery.PickerClient(http=httplib2.Http(), journal=False)"
    )
    assert "picker_discovery._client" in loaded
    assert not loaded & {"picker_discovery.errors", "picker_discovery._errors_media"}
    assert not (loaded - plain) & {"dataclasses", "importlib.resources.readers"}
