"""The token file is the owner's alone: refused when others can open it, written 0600 from
the start into 0700 directories, and made durable (file and directory fsynced)."""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import google.oauth2.credentials
import pytest

from picker_discovery import _auth as auth, _cli as cli, _dirs
from picker_discovery._discovery import SCOPE

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")


@pytest.fixture
def umask_zero() -> Iterator[None]:
    """The loosest umask, so only the code's own modes decide."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def token(path: Path) -> Path:
    credentials = google.oauth2.credentials.Credentials(
        token="ya29.stored-access-token",
        refresh_token="1//0stored-refresh-token",
        token_uri="https://oauth2.googleapis.com/token",
        client_id="123-abc.apps.googleusercontent.com",
        client_secret="GOCSPX-stored-secret",
        scopes=[SCOPE],
        expiry=(datetime.now(timezone.utc) - timedelta(hours=1)).replace(tzinfo=None),
    )
    return auth.save_credentials(credentials, path)


def refuse_requests(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("a refused token file must not be used for a refresh")


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o620, 0o602, 0o610, 0o601], ids=oct)
def test_a_token_file_open_to_others_is_refused_with_the_chmod_that_fixes_it(
    tmp_path: Path, mode: int
) -> None:
    path = token(tmp_path / "my tokens" / "token.json")
    path.chmod(mode)
    with pytest.raises(PermissionError) as caught:
        auth.load_credentials(path, request=refuse_requests)
    message = str(caught.value)
    assert f"chmod 600 {shlex.quote(str(path))}" in message
    assert f"{mode:04o}" in message
    assert "stored" not in message  # nothing of the file's content

    fix = message[message.index("chmod 600") :].split(" (or")[0]
    subprocess.run(fix, shell=True, check=True)  # the advice, taken literally
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


@pytest.mark.parametrize("mode", [0o600, 0o400], ids=oct)
def test_an_owner_only_token_file_is_used(tmp_path: Path, mode: int) -> None:
    path = token(tmp_path / "token.json")
    path.chmod(mode)
    refreshed: list[str] = []

    def endpoint(url: str, method: str = "GET", body: Any = None, **kwargs: Any) -> Any:
        refreshed.append(url)
        raise AssertionError("stop here: the file was read and accepted")

    with pytest.raises(Exception, match="stop here"):
        auth.load_credentials(path, request=endpoint)
    assert refreshed == ["https://oauth2.googleapis.com/token"]


def test_the_command_line_refuses_it_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(cli.TOKEN_ENV, raising=False)
    path = token(tmp_path / "token.json")
    path.chmod(0o644)
    code = cli.main(["sessions", "get", "some-session", "--token-file", str(path)])
    err = capsys.readouterr().err
    assert code == cli.EXIT_AUTH
    assert f"chmod 600 {path}" in err


def test_the_config_directory_and_its_missing_parents_are_made_0700(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, umask_zero: None
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home" / "config"))
    path = token(auth.default_token_path())
    assert path == tmp_path / "home" / "config" / "picker-discovery" / "token.json"
    for directory in (path.parent, path.parent.parent, path.parent.parent.parent):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_an_existing_directory_is_left_as_it_is(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o755)
    _dirs.write_atomically(shared / "token.json", b"{}")
    assert stat.S_IMODE(shared.stat().st_mode) == 0o755


def test_the_token_is_never_wider_than_0600_not_even_while_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, umask_zero: None
) -> None:
    created: list[int] = []
    at_rename: list[int] = []
    real_open, real_replace = os.open, os.replace

    def spy_open(path: Any, flags: int, mode: int = 0o777, *args: Any, **kwargs: Any) -> int:
        if flags & os.O_CREAT:
            created.append(mode)
        return real_open(path, flags, mode, *args, **kwargs)

    def spy_replace(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
        at_rename.append(stat.S_IMODE(os.stat(src).st_mode))
        real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "open", spy_open)
    monkeypatch.setattr(os, "replace", spy_replace)
    path = token(tmp_path / "token.json")
    assert created and all(mode & 0o077 == 0 for mode in created), [oct(m) for m in created]
    assert at_rename == [0o600]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_directory_is_fsynced_after_the_rename(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def spy_fsync(fd: int) -> None:
        events.append("fsync dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync file")
        real_fsync(fd)

    def spy_replace(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
        events.append("rename")
        real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "fsync", spy_fsync)
    monkeypatch.setattr(os, "replace", spy_replace)
    _dirs.write_atomically(tmp_path / "token.json", b"secret")
    assert events == ["fsync file", "rename", "fsync dir"]
    assert (tmp_path / "token.json").read_bytes() == b"secret"
