"""The command line's discovery, sign-out and help commands: output, JSON and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from picker_discovery import _cli as cli, _discovery as discovery
from picker_discovery.testing import Fault
from tests.conftest import document_answer


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv(discovery.ENV_VAR, raising=False)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_discovery_show_and_path(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "discovery", "show")
    assert code == 0
    assert out.startswith("photospicker v1 revision ")
    assert "(bundled)" in out and "photospicker.sessions.delete" in out
    code, out, _ = run(capsys, "discovery", "show", "--json")
    shown = json.loads(out)
    assert (shown["source"], shown["name"], shown["version"]) == ("bundled", "photospicker", "v1")
    assert shown["scopes"] == [discovery.SCOPE]
    assert len(shown["methods"]) == 4
    code, out, _ = run(capsys, "discovery", "path")
    assert (code, out.strip()) == (0, str(discovery.BUNDLED_DOCUMENT))


def test_discovery_verify_builds_every_method(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "discovery", "verify", "--json")
    assert code == 0
    report = json.loads(out)
    assert report["ok"] is True
    assert report["methods"]["photospicker.mediaItems.list"] == (
        "GET https://photospicker.googleapis.com/v1/mediaItems"
    )


def test_a_broken_document_fails_with_exit_1_and_names_the_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"name": "drive"}')
    code, out, err = run(capsys, "discovery", "verify", "--document", str(broken))
    assert (code, out) == (1, "")
    assert str(broken) in err and "'drive'" in err


def test_discovery_refresh_stores_the_document_in_the_user_cache(
    capsys: pytest.CaptureFixture[str], serve_document: Callable[..., str]
) -> None:
    live: dict[str, Any] = json.loads(discovery.BUNDLED_DOCUMENT.read_text("utf-8"))
    live["revision"] = "20991231"
    url = serve_document(document_answer(live))
    code, out, _ = run(capsys, "discovery", "refresh", "--url", url, "--json")
    assert code == 0
    assert json.loads(out) == {"path": str(discovery.user_cache_path()), "revision": "20991231"}
    code, out, _ = run(capsys, "discovery", "path", "--json")
    assert json.loads(out)["source"] == "user-cache"


def test_a_failed_refresh_exits_1(
    capsys: pytest.CaptureFixture[str], serve_document: Callable[..., str]
) -> None:
    url = serve_document(
        *[Fault(status=503, body="<html>busy</html>", content_type="text/html")] * 3
    )
    code, _, err = run(capsys, "discovery", "refresh", "--url", url)
    assert code == 1 and "answered HTTP 503" in err


def test_logout_without_a_token(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, "logout", "--json")
    assert code == 0
    assert json.loads(out) == {
        "token_file": str(tmp_path / "config" / "picker-discovery" / "token.json"),
        "removed": False,
    }


def test_login_with_a_bad_client_file_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, "login", "--client-secrets", str(tmp_path / "missing.json"))
    assert code == 2 and "Desktop app" in err


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["login"],
        ["logout"],
        ["discovery"],
        ["discovery", "show"],
        ["discovery", "path"],
        ["discovery", "verify"],
        ["discovery", "refresh"],
        ["demo"],
    ],
)
def test_every_command_has_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main([*argv, "--help"])
    assert exited.value.code == 0
    assert "usage: picker-discovery" in capsys.readouterr().out


def test_unknown_commands_are_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["nope"])
    assert exited.value.code == 2


def test_python_dash_m_runs_the_same_command_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "picker_discovery", "discovery", "path", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["path"].endswith("photospicker.v1.json")
