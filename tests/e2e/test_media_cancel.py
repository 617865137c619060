"""A cancel (Ctrl-C, a signal, fail_fast) takes effect within a second even while a media
answer is stalled mid-body, and leaves no partial file under a final name."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import google.oauth2.credentials
import pytest

from picker_discovery import PickerClient, _cli as cli
from picker_discovery._media.pool import MANIFEST_NAME
from picker_discovery.testing import Emulator
from picker_discovery.testing.backend import Fault

TOKEN = "stalled-person"
STALL = 20.0  # seconds of silence mid-body: far longer than a cancel may take


class Stop(BaseException):
    """What the test's signal raises in the main thread, as Ctrl-C raises KeyboardInterrupt."""


@contextlib.contextmanager
def stop_on_sigusr1() -> Iterator[None]:
    def raise_stop(signum: int, frame: Any) -> None:
        raise Stop()

    previous = signal.signal(signal.SIGUSR1, raise_stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGUSR1, previous)


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(poll_interval="0.2s") as running:
        yield running


def leftovers(folder: Path) -> list[str]:
    """Files in ``folder`` besides the download manifest: finished files or part files."""
    return sorted(p.name for p in folder.iterdir() if p.name != MANIFEST_NAME)


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param(Fault(stall=STALL), id="stalled-mid-body"),
        pytest.param(Fault(latency=STALL), id="stalled-before-the-head"),
    ],
)
def test_a_signal_ends_a_stalled_download_within_a_second(
    emulator: Emulator, tmp_path: Path, fault: Fault
) -> None:
    client = PickerClient(
        credentials=google.oauth2.credentials.Credentials(token=TOKEN),
        client_options={"api_endpoint": emulator.url},
    )
    session = client.create_session()
    assert session.id is not None
    emulator.pick(session.id, first=1)
    emulator.set_faults("media", [fault])
    main = threading.main_thread().ident
    assert main is not None and threading.current_thread().ident == main
    sent_at: list[float] = []

    def interrupt_when_stalled() -> None:
        end = time.monotonic() + 20
        while not emulator.attempts("media") and time.monotonic() < end:
            time.sleep(0.01)
        if emulator.attempts("media"):  # the media request arrived: its answer stalls
            sent_at.append(time.monotonic())
            signal.pthread_kill(main, signal.SIGUSR1)

    helper = threading.Thread(target=interrupt_when_stalled)
    folder = tmp_path / "picked"
    with stop_on_sigusr1():
        helper.start()
        try:
            with pytest.raises(Stop):
                client.download_session(
                    session,
                    folder,
                    media_hosts=[emulator.media_url.rstrip("/")],
                )
            ended = time.monotonic()
        finally:
            helper.join()
    assert sent_at, "the download never started"
    assert ended - sent_at[0] < 1.0
    assert leftovers(folder) == []
    client.delete_session(session)


@pytest.mark.parametrize(
    ("signum", "code"),
    [
        pytest.param(signal.SIGINT, 130, id="SIGINT"),
        pytest.param(signal.SIGTERM, 143, id="SIGTERM"),
    ],
)
def test_pick_ends_promptly_on_a_signal_while_a_download_stalls(
    emulator: Emulator, tmp_path: Path, signum: int, code: int
) -> None:
    env = {
        **os.environ,
        cli.ENDPOINT_ENV: emulator.url,
        cli.TOKEN_ENV: TOKEN,
        cli.MEDIA_HOSTS_ENV: emulator.media_url.rstrip("/"),
    }
    emulator.set_faults("media", [Fault(stall=STALL)])
    process = subprocess.Popen(
        [sys.executable, "-m", "picker_discovery", "pick", "--dest", str(tmp_path), "--no-qr"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        end = time.monotonic() + 20
        while not emulator.backend.sessions(TOKEN) and time.monotonic() < end:
            time.sleep(0.02)
        (session,) = emulator.backend.sessions(TOKEN)
        emulator.pick(session.id, first=1)
        while not emulator.attempts("media") and time.monotonic() < end:
            time.sleep(0.02)
        assert emulator.attempts("media"), "pick never fetched the media"
        sent = time.monotonic()
        process.send_signal(signum)
        _, err = process.communicate(timeout=30)
        took = time.monotonic() - sent
    finally:
        process.kill()
    assert process.returncode == code, err
    # Not a second here: the process also deletes its session and exits, on a busy machine.
    assert took < 5.0, f"the command took {took:.1f} s to end"
    assert emulator.backend.sessions(TOKEN) == []
    assert leftovers(tmp_path) == []


# -- the emulator's stall fault ----------------------------------------------------------------


def test_a_stall_sends_half_the_body_then_nothing_until_the_emulator_stops(
    emulator: Emulator,
) -> None:
    import http.client
    import urllib.parse

    client = PickerClient(
        credentials=google.oauth2.credentials.Credentials(token=TOKEN),
        client_options={"api_endpoint": emulator.url},
        journal=False,
    )
    session = client.create_session()
    assert session.id is not None
    emulator.pick(session.id, first=1)
    (item,) = client.list_media_items(session)
    assert item.media_file is not None and item.media_file.base_url is not None
    url = urllib.parse.urlsplit(item.media_file.base_url + "=d")
    emulator.set_faults("media", [{"stall": 30}])
    connection = http.client.HTTPConnection(url.netloc, timeout=0.5)
    connection.request("GET", url.path, headers={"Authorization": f"Bearer {TOKEN}"})
    answer = connection.getresponse()
    length = int(answer.headers["Content-Length"])
    assert len(answer.read(length // 2)) == length // 2
    with pytest.raises(TimeoutError):
        answer.read(1)
    started = time.monotonic()
    emulator.stop()  # ends the stall: stopping never waits for it
    assert time.monotonic() - started < 5
    connection.close()


def test_in_process_a_stall_moves_the_fake_clock() -> None:
    from picker_discovery import build
    from picker_discovery._clock import FakeClock
    from picker_discovery.testing import Backend, FakeHttp

    backend = Backend(clock=FakeClock())
    backend.set_faults("sessions.create", [Fault(stall=7.5)])
    before = backend.now()
    build(http=FakeHttp(backend)).sessions().create(body={}).execute()
    assert (backend.now() - before).total_seconds() == 7.5


@pytest.mark.parametrize("bad", ["abc", -1, True, float("inf"), float("nan")])
def test_a_stall_is_a_finite_number_of_seconds(bad: object) -> None:
    with pytest.raises(ValueError, match="stall"):
        Fault.from_json({"stall": bad})
