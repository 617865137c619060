"""Every argument of a pick is checked before a session is created.

A person's picking costs them minutes: an argument that cannot work must fail before
``sessions.create`` is sent (checked in the emulator's attempt log), not after they picked.
"""

from __future__ import annotations

import contextlib
import errno
import io
import math
import os
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import google.oauth2.credentials
import pytest
from hypothesis import given, strategies as st

from picker_discovery import _checks, _cli as cli, _client as client, notebook
from picker_discovery._client import PickerClient
from picker_discovery._media import pool as media
from picker_discovery.testing import Emulator

TOKEN = "careful-user"


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(poll_interval="0.2s") as running:
        yield running


@pytest.fixture
def picker(emulator: Emulator) -> PickerClient:
    emulator.backend.clear_attempts()
    return PickerClient(
        credentials=google.oauth2.credentials.Credentials(token=TOKEN),
        client_options={"api_endpoint": emulator.url},
    )


def run_cli(argv: list[str], monkeypatch: pytest.MonkeyPatch, emulator: Emulator) -> int:
    monkeypatch.setenv(cli.TOKEN_ENV, TOKEN)
    monkeypatch.delenv(cli.MEDIA_HOSTS_ENV, raising=False)
    emulator.backend.clear_attempts()
    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        try:
            return cli.main(["pick", "--endpoint", emulator.url, *argv])
        except SystemExit as exited:
            assert isinstance(exited.code, int)
            return exited.code


# -- the command line --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["--workers", "0"],
        ["--workers", "65"],
        ["--timeout", "nan"],
        ["--timeout", "0"],
        ["--size", "\u00b2x3"],
        ["--size", "20000x10"],
        ["--dest", "{file}"],
        ["--dest", "{file}/below"],
        ["--media-host", "http://media.example"],
        ["--max-items", "2001"],
    ],
    ids=lambda argv: " ".join(argv),
)
def test_pick_with_a_bad_argument_sends_nothing(
    argv: list[str], emulator: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "file").write_text("not a folder")
    argv = [word.format(file=tmp_path / "file") for word in argv]
    if "--dest" not in argv:
        argv += ["--dest", str(tmp_path / "picked")]
    assert run_cli(argv, monkeypatch, emulator) == cli.EXIT_USAGE
    assert emulator.attempts() == []  # not even a create
    assert not (tmp_path / "picked").exists()


def test_a_dest_that_cannot_be_written_is_refused_before_the_session(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """As root, permissions do not stop writes: the write probe itself is refused here."""
    probes: list[Any] = []

    def denied(*args: Any, dir: Any = None, **kwargs: Any) -> Any:
        probes.append(dir)
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(dir))

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    dest = tmp_path / "new" / "deeper"
    assert run_cli(["--dest", str(dest)], monkeypatch, emulator) == cli.EXIT_USAGE
    assert probes == [dest]  # the folder was really tried, after creating it
    assert emulator.attempts() == []
    assert list(tmp_path.iterdir()) == []  # and the folders made for the try are gone


def test_a_bad_token_leaves_no_dest_behind(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(cli.TOKEN_ENV, "two words")
    dest = tmp_path / "new"
    with contextlib.redirect_stderr(io.StringIO()):
        code = cli.main(["pick", "--endpoint", emulator.url, "--dest", str(dest)])
    assert code == cli.EXIT_USAGE
    assert emulator.attempts() == []
    assert not dest.exists()


# -- the checks themselves -----------------------------------------------------------------------


def test_a_folder_check_writes_really_and_leaves_nothing(tmp_path: Path) -> None:
    (tmp_path / "kept").mkdir()
    assert _checks.check_folder(tmp_path / "kept") == tmp_path / "kept"
    assert _checks.check_folder(tmp_path / "a" / "b" / "c") == tmp_path / "a" / "b" / "c"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept"]
    assert list((tmp_path / "kept").iterdir()) == []


def test_a_folder_check_names_what_is_wrong(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match=r"'.*file' is not a directory"):
        _checks.check_folder(tmp_path / "file" / "sub", "--dest")
    with pytest.raises(ValueError, match="empty"):
        _checks.check_folder("", "--dest")


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (0, ValueError),
        (-1, ValueError),
        (math.nan, ValueError),
        (math.inf, ValueError),
        (-math.inf, ValueError),
        (1e300, ValueError),
        (timedelta(seconds=-1), ValueError),
        (True, TypeError),
        ("30", TypeError),
    ],
    ids=repr,
)
def test_a_timeout_must_be_positive_and_finite(value: Any, problem: type[Exception]) -> None:
    with pytest.raises(problem, match="timeout"):
        _checks.check_timeout(value)


def test_good_values_pass_unchanged() -> None:
    assert _checks.check_timeout(None) is None
    assert _checks.check_timeout(timedelta(minutes=2)) == 120.0
    assert _checks.check_workers(_checks.MAX_WORKERS) == _checks.MAX_WORKERS
    assert _checks.parse_size(" 1024X768 ") == (1024, 768)
    assert _checks.parse_int("+12", "n") == 12
    assert _checks.parse_seconds("1.5e1", "t") == 15.0


def test_the_limits_agree_with_the_api_and_the_downloader() -> None:
    assert _checks.MAX_ITEM_COUNT == client.MAX_ITEM_COUNT == cli.MAX_ITEMS
    assert _checks.MAX_DIMENSION == media.MAX_DIMENSION
    with pytest.raises(ValueError, match="workers"):
        media.Downloader(session_factory=lambda: None, workers=_checks.MAX_WORKERS + 1)  # type: ignore[arg-type, return-value]


@pytest.mark.fuzz
@given(st.text(max_size=40))
def test_a_size_is_ascii_digits_within_limits_or_a_clear_error(text: str) -> None:
    try:
        width, height = _checks.parse_size(text)
    except ValueError as exc:
        assert "--size" in str(exc)
        return
    assert 1 <= width <= _checks.MAX_DIMENSION and 1 <= height <= _checks.MAX_DIMENSION
    assert text.strip().isascii()


@pytest.mark.fuzz
@given(st.text(max_size=40))
def test_numbers_are_ascii_and_finite_or_a_clear_error(text: str) -> None:
    for parse in (_checks.parse_int, _checks.parse_seconds):
        try:
            value = parse(text, "--n")
        except ValueError as exc:
            assert "--n" in str(exc)
            continue
        assert text.strip().isascii() and math.isfinite(value)


# -- notebook.pick and download_session ----------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_items": 0},
        {"max_items": 2001},
        {"timeout": math.nan},
        {"timeout": -1},
        {"timeout": math.inf},
        {"timeout": "600"},
        {"folder": "{file}"},
        {"folder": "{file}/below"},
        {"media_hosts": ["http://media.example"]},
    ],
    ids=repr,
)
def test_notebook_pick_with_a_bad_argument_sends_nothing(
    kwargs: dict[str, Any], picker: PickerClient, emulator: Emulator, tmp_path: Path
) -> None:
    (tmp_path / "file").write_text("not a folder")
    if "folder" in kwargs:
        kwargs = {"folder": kwargs["folder"].format(file=tmp_path / "file")}
    with pytest.raises((ValueError, TypeError)):
        notebook.pick(picker, display=False, progress=False, **kwargs)
    assert emulator.attempts() == []


def test_download_session_checks_its_folder_before_listing(
    picker: PickerClient, emulator: Emulator, tmp_path: Path
) -> None:
    session = picker.create_session()
    emulator.pick(session.id or "", first=2)
    emulator.backend.clear_attempts()
    (tmp_path / "file").write_text("not a folder")
    try:
        with pytest.raises(ValueError, match="is not a directory"):
            picker.download_session(session, tmp_path / "file")
        with pytest.raises(ValueError, match="workers"):
            picker.download_session(session, tmp_path / "ok", workers=0)
        assert emulator.attempts("mediaItems.list") == []
        assert not (tmp_path / "ok").exists()
    finally:
        picker.delete_session(session)
