"""Server text on a terminal: control, escape and bidirectional characters shown, never run."""

from __future__ import annotations

import dataclasses
import logging
import re
import unicodedata
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from picker_discovery import _cli as cli
from picker_discovery._cli._main import _PrintableFormatter
from picker_discovery._clock import FakeClock
from picker_discovery._terminal import printable
from picker_discovery.models import PickedMediaItem
from picker_discovery.notebook import item_repr
from picker_discovery.testing import library
from picker_discovery.testing.emulator import Emulator
from tests.waiting import user_picks

pytestmark = pytest.mark.usefixtures("no_proxy")

TOKEN = "terminal-person"
BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
# Retitles the terminal, clears the screen, recolours, and reverses what follows.
HOSTILE = "\x1b]0;owned\x07\x1b[2J\x1b[31mred\x9b1m\u202eexe.gpj\r\n\x00"


def hidden(char: str) -> bool:
    return char in BIDI or unicodedata.category(char) in ("Cc", "Zl", "Zp", "Cs")


def shows_nothing_hidden(text: str) -> bool:
    """None of HOSTILE's characters that are never our own output (progress bars write \r)."""
    return not set(text) & set("\x1b\x07\x9b\u202e\x00")


_ESCAPE = re.compile(r"\\(\\|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8})")


def unescape(shown: str) -> str:
    """The inverse of printable(): proves that no two texts print the same."""

    def back(match: re.Match[str]) -> str:
        body = match.group(1)
        return "\\" if body == "\\" else chr(int(body[1:], 16))

    return _ESCAPE.sub(back, shown)


# -- the helper ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("holiday.jpg", "holiday.jpg"),
        ("café ☕ été — 日本.jpg", "café ☕ été — 日本.jpg"),
        ("a\x1b[31mb", "a\\x1b[31mb"),
        ("bell\x07", "bell\\x07"),
        ("c1\x9b", "c1\\x9b"),
        ("two\nlines\r", "two\\x0alines\\x0d"),
        ("tab\there", "tab\\x09here"),
        ("gnp\u202eexe", "gnp\\u202eexe"),
        ("sep\u2028x", "sep\\u2028x"),
        ("bad\udcffbyte", "bad\\udcffbyte"),
        ("C:\\Users\\x", "C:\\Users\\x"),
        ("\\x1b", "\\\\x1b"),
        ("\\\x1b", "\\\\\\x1b"),
        (404, "404"),
    ],
)
def test_printable(text: object, shown: str) -> None:
    assert printable(text) == shown


@pytest.mark.fuzz
@given(st.text(alphabet=st.characters(codec=None)))
def test_printable_hides_nothing_and_loses_nothing(text: str) -> None:
    shown = printable(text)
    assert not any(hidden(char) for char in shown)
    assert unescape(shown) == text


@pytest.mark.fuzz
@given(st.text(alphabet=st.characters(exclude_categories=["Cc", "Zl", "Zp", "Cs"])))
def test_printable_leaves_ordinary_text_alone(text: str) -> None:
    text = "".join(c for c in text if c not in BIDI and c != "\\")
    assert printable(text) == text


@pytest.mark.fuzz
@given(st.text(), st.text())
def test_printable_never_shows_two_texts_alike(first: str, second: str) -> None:
    if first != second:
        assert printable(first) != printable(second)


def test_the_command_lines_log_shows_server_text_escaped() -> None:
    formatter = _PrintableFormatter("%(levelname)s %(name)s: %(message)s")
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "session %s", (HOSTILE,), None)
    line = formatter.format(record)
    assert shows_nothing_hidden(line) and "\\x1b]0;owned" in line


def test_notebook_reprs_escape_file_names() -> None:
    item = PickedMediaItem.from_dict(
        {"id": HOSTILE, "mediaFile": {"filename": HOSTILE, "mimeType": HOSTILE}}
    )
    assert shows_nothing_hidden(item_repr(item))


# -- the command line against the emulator ------------------------------------------------------


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    with Emulator(clock=FakeClock(datetime.now(timezone.utc)), poll_interval="0.1s") as running:
        monkeypatch.setenv(cli.ENDPOINT_ENV, running.url)
        monkeypatch.setenv(cli.TOKEN_ENV, TOKEN)
        monkeypatch.setenv(cli.MEDIA_HOSTS_ENV, running.media_url.rstrip("/"))
        items = library.generate_library("terminal", 80)
        photo = next(i for i in items if not i.is_video)
        video = next(i for i in items if i.is_video)
        hostile = [
            dataclasses.replace(photo, filename=f"{HOSTILE}.jpg", size=min(photo.size, 5000)),
            dataclasses.replace(
                video, filename=f"{HOSTILE}.mp4", processing_status="FAILED", mime_type=HOSTILE
            ),
        ]
        running.seed_library(TOKEN, items=hostile)
        yield running


def picked(emu: Emulator) -> str:
    service = emu.build(token=TOKEN)
    session_id: str = service.sessions().create(body={}).execute()["id"]
    emu.pick(session_id, first=2)
    return session_id


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_items_list_shows_file_names_and_types_escaped(
    emu: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "items", "list", picked(emu))
    assert code == 0, err
    assert shows_nothing_hidden(out + err)
    assert "\\x1b]0;owned" in out


@pytest.mark.parametrize("command", [["sessions", "get", "s-1"], ["sessions", "delete", "s-1"]])
def test_an_error_message_from_the_server_is_escaped(
    emu: Emulator, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    method = f"sessions.{command[1]}"
    emu.set_faults(method, [{"status": 400, "message": HOSTILE}])
    code, out, err = run(capsys, *command)
    assert code == cli.EXIT_USAGE or code == cli.EXIT_FAILED, err
    assert shows_nothing_hidden(out + err)
    assert "\\x1b[2J" in err


def test_pick_shows_file_names_and_reasons_escaped(
    emu: Emulator, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with user_picks(emu, TOKEN, first=2):  # picks once the command has made its session
        code, out, err = run(capsys, "pick", "--dest", str(tmp_path), "--no-qr", "-v")
    assert shows_nothing_hidden(out + err)
    assert "\\x1b]0;owned" in out + err
    assert code in (cli.EXIT_OK, cli.EXIT_FAILED), err
