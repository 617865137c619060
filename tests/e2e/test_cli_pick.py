"""`picker-discovery pick`, run as a real process against an emulator in this test process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from picker_discovery import _cli as cli
from picker_discovery.testing import Emulator
from tests.waiting import wait_until

TOKEN = "picker-person"


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(poll_interval="0.2s") as running:
        yield running


def start_pick(emulator: Emulator, dest: Path, *extra: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        cli.ENDPOINT_ENV: emulator.url,
        cli.TOKEN_ENV: TOKEN,
        cli.MEDIA_HOSTS_ENV: emulator.media_url.rstrip("/"),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "picker_discovery", "pick", "--dest", str(dest), *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_session(emulator: Emulator) -> str:
    """The id of the session the command made, once it exists (bounded wait)."""
    sessions = wait_until(
        lambda: emulator.backend.sessions(TOKEN), what="the pick command to create a session"
    )
    return sessions[0].id


def test_pick_waits_downloads_and_deletes_the_session(emulator: Emulator, tmp_path: Path) -> None:
    process = start_pick(emulator, tmp_path, "--max-items", "4", "--json", "--size", "64x64")
    session_id = wait_for_session(emulator)
    emulator.pick(session_id, first=4)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    summary = json.loads(out)
    assert summary["session"] == session_id
    assert len(summary["downloaded"]) == 4
    for entry in summary["downloaded"]:
        path = Path(entry["path"])
        assert path.parent == tmp_path and path.stat().st_size == entry["bytes"]
        assert path.suffix in (".jpg", ".png", ".gif", ".webp")  # the original's format
    assert f"/pick/{session_id}" in err
    assert emulator.backend.sessions(TOKEN) == []


def test_ctrl_c_while_waiting_deletes_the_session(emulator: Emulator, tmp_path: Path) -> None:
    process = start_pick(emulator, tmp_path)
    session_id = wait_for_session(emulator)
    assert emulator.backend.sessions(TOKEN)
    wait_until(  # it is in the polling loop once its first poll has arrived
        lambda: emulator.attempts("sessions.get"), what="the pick command's first poll"
    )
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == cli.EXIT_INTERRUPTED, err
    assert "interrupted" in err
    assert emulator.backend.sessions(TOKEN) == []
    assert [a.path.split("?")[0] for a in emulator.attempts("sessions.delete")] == [
        f"/v1/sessions/{session_id}"
    ]


def test_a_timeout_exits_5_and_deletes_the_session(emulator: Emulator, tmp_path: Path) -> None:
    process = start_pick(emulator, tmp_path, "--timeout", "0.5")
    _, err = process.communicate(timeout=30)
    assert process.returncode == cli.EXIT_TIMEOUT, err
    assert "did not finish picking" in err
    assert emulator.backend.sessions(TOKEN) == []


def decode_terminal_qr(text: str) -> str:
    """Read a QR code drawn with half blocks (light = full block) back into its text."""
    rows = [line for line in text.splitlines() if line]
    width = max(len(line) for line in rows)
    image = Image.new("L", (width, 2 * len(rows)), 255)
    halves = {"█": (255, 255), " ": (0, 0), "▀": (255, 0), "▄": (0, 255)}
    for y, line in enumerate(rows):
        for x, char in enumerate(line.ljust(width, "█")):
            top, bottom = halves[char]
            image.putpixel((x, 2 * y), top)
            image.putpixel((x, 2 * y + 1), bottom)
    scaled = image.resize((width * 8, 2 * len(rows) * 8), Image.Resampling.NEAREST)
    # The drawing is light-on-dark for dark terminals: invert it for the decoder.
    found = zxingcpp.read_barcodes(scaled.point(lambda v: 255 - v))
    assert found, "no QR code found in the drawing"
    return str(found[0].text)


def test_the_qr_code_decodes_back_to_the_picker_uri(emulator: Emulator, tmp_path: Path) -> None:
    process = start_pick(emulator, tmp_path, "--autoclose")
    session_id = wait_for_session(emulator)
    emulator.pick(session_id, first=1)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    uri = f"{emulator.url}pick/{session_id}/autoclose"
    assert f"  {uri}\n" in err
    drawing = err.split(f"  {uri}\n", 1)[1].split("\n\n", 1)[0]
    assert decode_terminal_qr(drawing) == uri


def test_bad_size_is_a_usage_error(
    emulator: Emulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    os.environ[cli.TOKEN_ENV] = TOKEN
    try:
        code = cli.main(["pick", "--endpoint", emulator.url, "--size", "big", "--dest", "x"])
    finally:
        del os.environ[cli.TOKEN_ENV]
    assert code == cli.EXIT_USAGE
    assert "--size must look like 1024x768" in capsys.readouterr().err
    assert emulator.attempts() == []


def test_pick_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["pick", "--help"])
    assert exited.value.code == 0
    assert "--media-host" in capsys.readouterr().out


def test_pick_waits_fifteen_minutes_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    args = cli.build_parser().parse_args(["pick"])
    assert args.timeout == 900.0
    with pytest.raises(SystemExit):
        cli.main(["pick", "--help"])
    assert "(default 900, 15 minutes;" in " ".join(capsys.readouterr().out.split())
