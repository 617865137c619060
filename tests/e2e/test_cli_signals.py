"""SIGTERM, SIGHUP and Ctrl-C end `pick` and `demo` with the session deleted and the signal's
exit code (128 + its number), run as real processes."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from picker_discovery import _cli as cli
from picker_discovery._cli import _document
from picker_discovery.testing import Emulator

TOKEN = "signalled-person"
SIGNALS = [
    pytest.param(signal.SIGTERM, 143, id="SIGTERM"),
    pytest.param(signal.SIGHUP, 129, id="SIGHUP"),
    pytest.param(signal.SIGINT, 130, id="SIGINT"),
]


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(poll_interval="0.2s") as running:
        yield running


def start(emulator: Emulator, *argv: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        cli.ENDPOINT_ENV: emulator.url,
        cli.TOKEN_ENV: TOKEN,
        cli.MEDIA_HOSTS_ENV: emulator.media_url.rstrip("/"),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "picker_discovery", *argv],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until(what: str, condition: object, deadline: float = 20.0) -> None:
    """Poll ``condition()`` until true (bounded): the emulator's state, never a bare sleep."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting until {what}")


@pytest.mark.parametrize(("signum", "code"), SIGNALS)
def test_a_signal_while_waiting_deletes_the_session(
    emulator: Emulator, tmp_path: Path, signum: int, code: int
) -> None:
    process = start(emulator, "pick", "--dest", str(tmp_path), "--no-qr")
    try:
        wait_until("the session exists", lambda: emulator.backend.sessions(TOKEN))
        (session,) = emulator.backend.sessions(TOKEN)
        # A poll arrived: the command is in its polling loop, its handlers are set.
        wait_until("the command polls", lambda: emulator.attempts("sessions.get"))
        process.send_signal(signum)
        _, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == code, err
    assert "Traceback" not in err
    assert emulator.backend.sessions(TOKEN) == [], err
    deletes = [a.path.split("?")[0] for a in emulator.attempts("sessions.delete")]
    assert deletes == [f"/v1/sessions/{session.id}"], err


@pytest.mark.parametrize(("signum", "code"), SIGNALS[:2])
def test_a_signal_during_the_demo_deletes_its_session(signum: int, code: int) -> None:
    """The demo's emulator lives in its process: its log (-v) shows the delete it served."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "picker_discovery", "demo", "-v"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        session_id = None
        for line in process.stdout:
            found = re.match(r"created session ([0-9a-f-]{36})", line)
            if found:
                session_id = found.group(1)
                break
        assert session_id, "the demo never created a session"
        process.send_signal(signum)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == code, err
    assert f"terminated by {signal.Signals(signum).name}" in err
    assert "Traceback" not in err
    assert f"picker_discovery.testing.backend: deleted session {session_id}" in err
    assert "deleted session" not in out  # the demo did not get to finish on its own


@pytest.mark.parametrize(("signum", "code"), SIGNALS[:2])
def test_handlers_are_set_for_the_command_and_restored_after(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    signum: int,
    code: int,
) -> None:
    cleaned_up: list[str] = []

    def command(args: object) -> int:
        try:
            os.kill(os.getpid(), signum)
            time.sleep(5)  # the signal's exception ends this at once
        finally:
            cleaned_up.append("yes")
        return 0

    def before(signum: int, frame: object) -> None:
        raise AssertionError("the handler from before the command ran")

    monkeypatch.setattr(_document, "discovery_path", command)
    previous = signal.signal(signum, before)
    try:
        started = time.monotonic()
        assert cli.main(["discovery", "path"]) == code
        assert time.monotonic() - started < 4
        assert signal.getsignal(signum) is before
    finally:
        signal.signal(signum, previous)
    assert cleaned_up == ["yes"]
    assert f"terminated by {signal.Signals(signum).name}" in capsys.readouterr().err


class Interrupted(BaseException):
    """Stands for Ctrl-C or a signal's exception arriving while an answer is being read."""


def test_the_cleanup_after_an_interrupted_request_starts_on_a_fresh_connection(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """httplib2 would send the delete on the connection still holding the interrupted answer:
    the server then sees it twice, and the client misreads the stale answer as its own."""
    import http.client

    import google.oauth2.credentials

    from picker_discovery import PickerClient, SessionNotFound

    client = PickerClient(
        credentials=google.oauth2.credentials.Credentials(token=TOKEN),
        client_options={"api_endpoint": emulator.url},
    )
    session = client.create_session()
    client.get_session(session)  # a kept-alive connection for the next call
    read = http.client.HTTPResponse.read
    interruptions: list[int] = []

    def interrupted_once(self: http.client.HTTPResponse, *args: object) -> bytes:
        if not interruptions:
            interruptions.append(1)
            raise Interrupted()
        return read(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(http.client.HTTPResponse, "read", interrupted_once)
    with pytest.raises(Interrupted):
        client.get_session(session)  # its answer's head was read, its body was not
    client.delete_session(session)
    assert [a.http_method for a in emulator.attempts("sessions.delete")] == ["DELETE"]
    assert emulator.backend.sessions(TOKEN) == []
    with pytest.raises(SessionNotFound):
        client.get_session(session)
