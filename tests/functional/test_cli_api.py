"""The command line's API commands against the loopback emulator: output, JSON, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from picker_discovery import _cli as cli
from picker_discovery.testing import Emulator

TOKEN = "cli-user"


@pytest.fixture
def emulator(
    picker_emulator: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Emulator:
    monkeypatch.setenv(cli.ENDPOINT_ENV, picker_emulator.url)
    monkeypatch.setenv(cli.TOKEN_ENV, TOKEN)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return picker_emulator


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_session_from_create_to_delete(
    emulator: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "sessions", "create", "--max-items", "3", "--json")
    assert code == 0
    created = json.loads(out)
    session_id = created["id"]
    assert created["pickingConfig"] == {"maxItemCount": "3"}
    assert created["pickerUri"].startswith(emulator.url)

    code, out, _ = run(capsys, "sessions", "get", session_id)
    assert code == 0
    assert f"session   {session_id}" in out and "picked    not yet" in out
    assert "at most   3 items" in out and "polling   every 5 s" in out

    code, _, err = run(capsys, "items", "list", session_id)
    assert code == 1 and "FAILED_PRECONDITION" in err and "finish picking" in err

    emulator.pick(session_id, first=3)
    code, out, _ = run(capsys, "items", "list", session_id, "--json")
    items = json.loads(out)
    assert code == 0 and len(items) == 3
    assert {item["mediaFile"]["filename"] for item in items} >= {"holiday photo 1.jpg"}
    code, out, _ = run(capsys, "items", "list", session_id)
    assert out.splitlines()[-1] == "3 item(s)"
    assert "PHOTO  image/jpeg" in out

    code, out, _ = run(capsys, "sessions", "delete", session_id)
    assert (code, out.strip()) == (0, f"deleted session {session_id}")
    code, _, err = run(capsys, "sessions", "get", session_id)
    assert code == 3 and "SessionNotFound" not in err and "does not exist" in err
    code, _, _ = run(capsys, "sessions", "delete", session_id, "--missing-ok")
    assert code == 0


def test_bad_input_is_a_usage_error_with_nothing_sent(
    emulator: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:  # refused while reading the arguments
        cli.main(["sessions", "create", "--max-items", "0"])
    err = capsys.readouterr().err
    assert exited.value.code == 2 and "--max-items: must be from 1 to 2000, not 0" in err
    code, _, err = run(capsys, "sessions", "get", "../x")
    assert code == 2 and "session id" in err
    assert emulator.attempts() == []


def test_not_signed_in_exits_4(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(cli.TOKEN_ENV)
    code, _, err = run(capsys, "sessions", "create")
    assert code == 4 and "picker-discovery login" in err
    assert emulator.attempts() == []


def test_a_token_without_the_picker_scope_exits_4(
    emulator: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    emulator.seed_library(TOKEN, has_picker_scope=False)
    code, _, err = run(capsys, "sessions", "create")
    assert code == 4 and "insufficient authentication scopes" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["sessions"],
        ["sessions", "create"],
        ["sessions", "get"],
        ["sessions", "delete"],
        ["items"],
        ["items", "list"],
        ["emulator"],
    ],
)
def test_api_commands_have_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main([*argv, "--help"])
    assert exited.value.code == 0
    assert "usage: picker-discovery" in capsys.readouterr().out
