"""Terminal manners of ``pick``, through real processes: under a pseudo-terminal of 80x24 (the
QR code, the status line and the link all on screen, read back through a terminal emulator),
and with its output piped (none of the drawing, only the link)."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import shlex
import struct
import subprocess
import sys
import termios
import threading
from collections.abc import Iterator
from pathlib import Path

import pyte
import pytest

from picker_discovery import _cli as cli
from picker_discovery._cli._screen import Screen, in_words
from picker_discovery.testing import Emulator
from tests.e2e.test_cli_pick import decode_terminal_qr
from tests.waiting import wait_until

TOKEN = "terminal-user"
GOOGLE_LIKE_URI = (
    "https://photos.google.com/integration/picker/2ea3dc54-f352-4d9d-a667-1b497bdf4e52"
)


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(poll_interval="0.2s") as running:
        yield running


def environment(emulator: Emulator, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        cli.ENDPOINT_ENV: emulator.url,
        cli.TOKEN_ENV: TOKEN,
        cli.MEDIA_HOSTS_ENV: emulator.media_url.rstrip("/"),
        "PICKER_DISCOVERY_JOURNAL": "off",
        "TERM": "xterm",
        **extra,
    }
    env.pop("NO_COLOR", None)
    env.update(extra)
    return env


class Terminal:
    """A process on a pseudo-terminal of ``columns`` x ``lines``, its output shown on a pyte
    screen of the same size, as a person would see it."""

    def __init__(self, argv: list[str], env: dict[str, str], columns: int = 80, lines: int = 24):
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
        self.screen = pyte.Screen(columns, lines)
        self._stream = pyte.ByteStream(self.screen)
        self.raw = b""
        self._lock = threading.Lock()
        self.process = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
        )
        os.close(slave)
        self._master = master
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self._master, 65536)
            except OSError:  # the other side closed
                return
            if not chunk:
                return
            with self._lock:
                self.raw += chunk
                self._stream.feed(chunk)

    def display(self) -> list[str]:
        with self._lock:
            return list(self.screen.display)

    def text(self) -> str:
        return "\n".join(self.display())

    def wait(self, timeout: float = 60) -> int:
        code = self.process.wait(timeout)
        self._reader.join(10)
        os.close(self._master)
        return code


def pick_argv(dest: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "picker_discovery", "pick", "--dest", str(dest), *extra]


def test_under_a_terminal_the_qr_code_link_and_status_line_fit_80x24(
    emulator: Emulator, tmp_path: Path
) -> None:
    terminal = Terminal(pick_argv(tmp_path, "--autoclose"), environment(emulator))
    wait_until(lambda: "waiting for your pick" in terminal.text(), what="the status line")
    session_id = emulator.backend.sessions(TOKEN)[0].id
    uri = f"{emulator.url}pick/{session_id}/autoclose"
    screen = terminal.display()
    # The link is on screen, whole, just above the status line, which is the last line used.
    [link_row] = [row for row, line in enumerate(screen) if line.rstrip() == uri]
    status_row = max(row for row, line in enumerate(screen) if line.strip())
    assert status_row == link_row + 1
    assert "left (checked" in screen[status_row] and " minutes " in screen[status_row]
    assert len(screen[status_row].rstrip()) < 80
    # The QR code above it is whole on screen and decodes to the link.
    drawing = [line.rstrip() for line in screen[:link_row] if "█" in line]
    assert decode_terminal_qr("\n".join(drawing)) == uri
    emulator.pick(session_id, first=2)
    assert terminal.wait() == 0, terminal.text()
    assert "downloaded 2 file(s)" in terminal.text()
    assert "2/2 items" in terminal.raw.decode()  # the progress bar was drawn


def test_a_google_length_link_keeps_its_qr_code_and_stays_on_an_80x24_screen() -> None:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    screen = pyte.Screen(80, 24)
    with os.fdopen(slave, "w", encoding="utf-8") as stream:
        shown = Screen(stream=stream)
        shown.link(GOOGLE_LIKE_URI, qr=None)
        shown.status("waiting for your pick: 14 minutes 59 seconds left (checked once)")
        output = b""
        while select.select([master], [], [], 0.5)[0]:
            output += os.read(master, 1 << 16)
    os.close(master)
    pyte.ByteStream(screen).feed(output)
    text = "".join(line.rstrip() for line in screen.display)
    assert GOOGLE_LIKE_URI in text  # wrapped over two lines, but all there
    assert "waiting for your pick" in screen.display[-1]
    drawing = [line.rstrip() for line in screen.display if "█" in line]
    assert decode_terminal_qr("\n".join(drawing)) == GOOGLE_LIKE_URI


def test_a_terminal_too_small_for_the_qr_code_gets_the_link_and_a_note(
    emulator: Emulator, tmp_path: Path
) -> None:
    terminal = Terminal(pick_argv(tmp_path), environment(emulator), columns=80, lines=12)
    wait_until(lambda: "waiting for your pick" in terminal.text(), what="the status line")
    assert "no room for the QR code" in terminal.raw.decode()
    assert "█" not in terminal.raw.decode()
    session_id = emulator.backend.sessions(TOKEN)[0].id
    assert f"{emulator.url}pick/{session_id}" in terminal.text()
    emulator.pick(session_id, first=1)
    assert terminal.wait() == 0


def test_piped_output_has_no_qr_code_status_line_or_progress_bar(
    emulator: Emulator, tmp_path: Path
) -> None:
    process = subprocess.Popen(
        pick_argv(tmp_path), env=environment(emulator), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    session_id = wait_until(lambda: emulator.backend.sessions(TOKEN), what="a session")[0].id
    wait_until(lambda: emulator.attempts("sessions.get"), what="the first poll")
    emulator.pick(session_id, first=2)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert f"{emulator.url}pick/{session_id}\n" in err
    assert "█" not in err and "waiting for your pick" not in err
    assert "\r" not in err and "items" not in err and "\x1b" not in err
    assert "downloaded 2 file(s)" in out


def test_asked_for_the_qr_code_and_progress_draws_them_when_piped(
    emulator: Emulator, tmp_path: Path
) -> None:
    process = subprocess.Popen(
        pick_argv(tmp_path, "--qr", "--progress"), env=environment(emulator),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    session_id = wait_until(lambda: emulator.backend.sessions(TOKEN), what="a session")[0].id
    wait_until(lambda: emulator.attempts("sessions.get"), what="the first poll")
    emulator.pick(session_id, first=1)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "█" in err and "waiting for your pick:" in err and "1/1 items" in err


def test_quiet_prints_only_the_link(emulator: Emulator, tmp_path: Path) -> None:
    process = subprocess.Popen(
        pick_argv(tmp_path, "--quiet"), env=environment(emulator), stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    session_id = wait_until(lambda: emulator.backend.sessions(TOKEN), what="a session")[0].id
    emulator.pick(session_id, first=1)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert (out, err) == ("", f"{emulator.url}pick/{session_id}\n")
    assert len([p for p in tmp_path.iterdir() if not p.name.startswith(".")]) == 1


def test_open_hands_the_link_to_the_browser(emulator: Emulator, tmp_path: Path) -> None:
    opened = tmp_path / "opened.txt"
    script = tmp_path / "browser.py"
    script.write_text(f"import sys\nopen({str(opened)!r}, 'w').write(sys.argv[1])\n")
    browser = f"{shlex.quote(sys.executable)} {shlex.quote(str(script))} %s"
    env = environment(emulator, BROWSER=browser)
    process = subprocess.Popen(
        pick_argv(tmp_path / "photos", "--open", "--no-qr"), env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    session_id = wait_until(lambda: emulator.backend.sessions(TOKEN), what="a session")[0].id
    wait_until(opened.exists, what="the browser to be started")
    emulator.pick(session_id, first=1)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert opened.read_text() == f"{emulator.url}pick/{session_id}"


@pytest.mark.parametrize("no_color", [None, "1"])
def test_errors_are_red_on_a_terminal_unless_no_color(
    emulator: Emulator, no_color: str | None
) -> None:
    extra = {"NO_COLOR": no_color} if no_color else {}
    argv = [sys.executable, "-m", "picker_discovery", "sessions", "get", "missing"]
    terminal = Terminal(argv, environment(emulator, **extra))
    assert terminal.wait() == cli.EXIT_NOT_FOUND
    raw = terminal.raw.decode()
    assert ("\x1b[31merror:\x1b[0m" in raw) is (no_color is None)
    assert "error:" in terminal.text()


def test_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "picker_discovery", "--version"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert result.stdout.strip() == "picker-discovery 0.1.0"


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0.2, "less than a second"),
        (1, "1 second"),
        (59.6, "1 minute"),
        (872, "14 minutes 32 seconds"),
        (3600, "1 hour"),
        (7325, "2 hours 2 minutes"),
        (-3, "less than a second"),
    ],
)
def test_durations_in_words(seconds: float, words: str) -> None:
    assert in_words(seconds) == words
