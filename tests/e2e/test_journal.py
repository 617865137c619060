"""The journal of sessions this machine created and has not deleted, and the cleanup that
deletes what a killed process left behind."""

from __future__ import annotations

import json
import logging
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import google.oauth2.credentials
import pytest

from picker_discovery import PickerClient, PickerError, _cli as cli
from picker_discovery._journal import COMPACT_BYTES, JOURNAL_ENV, SessionJournal
from picker_discovery.testing import Emulator

TOKEN = "journal-person"


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(poll_interval="0.2s") as running:
        yield running


def client_for(emulator: Emulator, journal: SessionJournal | bool | None = None) -> PickerClient:
    return PickerClient(
        credentials=google.oauth2.credentials.Credentials(token=TOKEN),
        client_options={"api_endpoint": emulator.url},
        journal=journal,
    )


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_a_session_is_noted_at_create_and_forgotten_at_delete(
    emulator: Emulator, private_journal: Path
) -> None:
    client = client_for(emulator)  # the default journal: PICKER_DISCOVERY_JOURNAL's file
    assert client.journal is not None and client.journal.path == private_journal
    session = client.create_session()
    (entry,) = client.journal.entries()
    assert entry.session_id == session.id
    assert entry.endpoint == emulator.url.rstrip("/")
    assert entry.expires == session.expire_time
    client.delete_session(session)
    assert client.journal.entries() == []
    assert [line["op"] for line in lines(private_journal)] == ["add", "remove"]
    assert TOKEN not in private_journal.read_text()


def test_the_journal_is_private(tmp_path: Path, emulator: Emulator) -> None:
    journal = SessionJournal(tmp_path / "state" / "deeper" / "sessions.jsonl")
    client_for(emulator, journal).create_session()
    assert stat.S_IMODE(journal.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(journal.path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(journal.path.parent.parent.stat().st_mode) == 0o700


def test_a_404_on_delete_forgets_the_session_too(emulator: Emulator, tmp_path: Path) -> None:
    journal = SessionJournal(tmp_path / "sessions.jsonl")
    client = client_for(emulator, journal)
    session = client.create_session()
    assert session.id is not None
    emulator.backend.delete_session(TOKEN, session.id)  # gone behind the client's back
    client.delete_session(session, missing_ok=True)
    assert journal.entries() == []


def test_the_default_file_is_in_the_user_state_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(JOURNAL_ENV)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setattr(sys, "platform", "linux")
    assert SessionJournal().path == tmp_path / "state" / "picker-discovery" / "sessions.jsonl"


@pytest.mark.parametrize("off", ["off", "OFF", "0", "false"])
def test_the_journal_can_be_turned_off(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch, private_journal: Path, off: str
) -> None:
    monkeypatch.setenv(JOURNAL_ENV, off)
    client = client_for(emulator)
    assert client.journal is None
    client.create_session()
    assert not private_journal.exists()
    with pytest.raises(PickerError, match="keeps no session journal"):
        client.cleanup_sessions()


def test_journal_false_keeps_none(emulator: Emulator, private_journal: Path) -> None:
    client = client_for(emulator, journal=False)
    client.delete_session(client.create_session())
    assert client.journal is None and not private_journal.exists()


def test_an_unwritable_journal_does_not_stop_the_flow(
    emulator: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "not-a-dir").write_text("")
    client = client_for(emulator, SessionJournal(tmp_path / "not-a-dir" / "sessions.jsonl"))
    with caplog.at_level(logging.WARNING):
        session = client.create_session()
        client.delete_session(session)
    assert f"could not note session {session.id}" in caplog.text
    assert emulator.backend.sessions(TOKEN) == []


def test_cleanup_deletes_leftovers_and_reports_them(emulator: Emulator, tmp_path: Path) -> None:
    journal = SessionJournal(tmp_path / "sessions.jsonl")
    client = client_for(emulator, journal)
    left = [str(client.create_session().id) for _ in range(3)]
    gone = left.pop()
    emulator.backend.delete_session(TOKEN, gone)

    dry = client.cleanup_sessions(dry_run=True)
    assert sorted(e.session_id for e in dry.pending) == sorted([*left, gone])
    assert dry.deleted == [] and len(emulator.backend.sessions(TOKEN)) == 2
    assert emulator.attempts("sessions.delete") == []

    report = client.cleanup_sessions()
    assert sorted(e.session_id for e in report.deleted) == sorted(left)
    assert [e.session_id for e in report.already_gone] == [gone]
    assert report.ok and report.failed == []
    assert emulator.backend.sessions(TOKEN) == []
    assert journal.entries() == []
    assert client.cleanup_sessions().to_dict()["deleted"] == []


def test_cleanup_leaves_other_endpoints_and_accounts_alone(
    emulator: Emulator, tmp_path: Path
) -> None:
    journal = SessionJournal(tmp_path / "sessions.jsonl")
    now = emulator.backend.now()
    journal.record("on-another-endpoint", "http://127.0.0.1:9/", created=now)
    journal.record("of-another-account", emulator.url, created=now, account="/other/token.json")
    report = client_for(emulator, journal).cleanup_sessions()
    assert report.elsewhere == 2 and report.deleted == [] and report.already_gone == []
    assert emulator.attempts("sessions.delete") == []
    assert {e.session_id for e in journal.entries()} == {
        "on-another-endpoint",
        "of-another-account",
    }


def test_expired_entries_are_dropped_without_a_call(emulator: Emulator, tmp_path: Path) -> None:
    journal = SessionJournal(tmp_path / "sessions.jsonl")
    now = emulator.backend.now()
    journal.record("ended", emulator.url, created=now - timedelta(days=8), expires=now)
    journal.record("never-said", emulator.url, created=now - timedelta(days=31))
    report = client_for(emulator, journal).cleanup_sessions()
    assert sorted(e.session_id for e in report.expired) == ["ended", "never-said"]
    assert emulator.attempts("sessions.delete") == []
    assert journal.path.read_text() == ""


def test_corrupt_lines_are_skipped_with_a_warning(
    emulator: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    journal = SessionJournal(tmp_path / "sessions.jsonl")
    client = client_for(emulator, journal)
    session = client.create_session()
    with journal.path.open("ab") as raw:
        raw.write(b'{"op": "add", "session": "cut-sho')  # a write a crash cut short
    client_for(emulator, journal).create_session()  # appended on a line of its own
    with journal.path.open("ab") as raw:
        raw.write(b"\xff\xfe not json\n[1, 2]\n{}\n")
        raw.write(b'{"op": "add", "session": "x", "endpoint": "e", "created": "never"}\n')
    with caplog.at_level(logging.WARNING):
        entries = journal.entries()
    assert len(entries) == 2 and entries[0].session_id == session.id
    assert caplog.text.count("cannot be read") == 5
    report = client.cleanup_sessions()
    assert len(report.deleted) == 2 and emulator.backend.sessions(TOKEN) == []
    assert journal.path.read_text() == ""  # rewritten without the bad lines


def test_the_file_stays_small(emulator: Emulator, tmp_path: Path) -> None:
    journal = SessionJournal(tmp_path / "sessions.jsonl")
    client = client_for(emulator, journal)
    kept = client.create_session()
    for _ in range(COMPACT_BYTES // 200 + 50):
        client.delete_session(client.create_session())
    assert journal.path.stat().st_size < COMPACT_BYTES + 1024
    assert [e.session_id for e in journal.entries()] == [kept.id]


def test_a_symlink_in_place_of_the_journal_is_refused(emulator: Emulator, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("")
    (tmp_path / "sessions.jsonl").symlink_to(target)
    client = client_for(emulator, SessionJournal(tmp_path / "sessions.jsonl"))
    client.create_session()
    assert target.read_text() == ""


# -- the command line --------------------------------------------------------------------------


def run_cli(emulator: Emulator, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, cli.ENDPOINT_ENV: emulator.url, cli.TOKEN_ENV: TOKEN}
    return subprocess.run(
        [sys.executable, "-m", "picker_discovery", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_sessions_cleanup_deletes_what_a_killed_pick_left(
    emulator: Emulator, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        cli.ENDPOINT_ENV: emulator.url,
        cli.TOKEN_ENV: TOKEN,
        cli.MEDIA_HOSTS_ENV: emulator.media_url.rstrip("/"),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "picker_discovery", "pick", "--dest", str(tmp_path), "--no-qr"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        end = time.monotonic() + 20
        while not emulator.attempts("sessions.get") and time.monotonic() < end:
            time.sleep(0.02)
        assert emulator.attempts("sessions.get"), "pick never polled"
        process.send_signal(signal.SIGKILL)  # nothing can clean up
        assert process.wait(timeout=20) == -signal.SIGKILL
    finally:
        process.kill()
    (left,) = emulator.backend.sessions(TOKEN)

    dry = run_cli(emulator, "sessions", "cleanup", "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["pending"] == [left.id]
    assert emulator.backend.sessions(TOKEN) != []

    done = run_cli(emulator, "sessions", "cleanup")
    assert done.returncode == 0, done.stderr
    assert f"deleted session {left.id}" in done.stdout
    assert emulator.backend.sessions(TOKEN) == []

    again = run_cli(emulator, "sessions", "cleanup", "--json")
    assert json.loads(again.stdout)["deleted"] == []


def test_sessions_cleanup_exits_1_when_a_delete_fails(emulator: Emulator) -> None:
    assert run_cli(emulator, "sessions", "create").returncode == 0
    assert run_cli(emulator, "sessions", "create").returncode == 0
    # Deletes that fail for good (403): the sessions stay noted for the next cleanup.
    emulator.set_faults("sessions.delete", [403, 403])
    failed = run_cli(emulator, "sessions", "cleanup", "--json")
    assert failed.returncode == 1, failed.stderr
    assert len(json.loads(failed.stdout)["failed"]) == 2
    assert len(emulator.backend.sessions(TOKEN)) == 2
    assert run_cli(emulator, "sessions", "cleanup").returncode == 0
    assert emulator.backend.sessions(TOKEN) == []


def test_the_pytest_plugins_clients_keep_no_journal(
    picker_client: PickerClient, picker_emulator_client: PickerClient, private_journal: Path
) -> None:
    """Users' test suites must not fill their own journal with the fake's sessions."""
    picker_client.create_session()
    picker_emulator_client.create_session()
    assert picker_client.journal is None and picker_emulator_client.journal is None
    assert not private_journal.exists()
