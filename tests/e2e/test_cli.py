"""The command line: the demo's whole flow, and the emulator subcommand as its own process."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.request

import pytest

from picker_discovery._cli import main


def test_demo_runs_the_whole_flow_against_its_own_emulator(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "(the user picks 11 items and taps Done)" in out
    assert "mediaItemsSet is True" in out
    assert "listed 11 items" in out
    assert out.count("  downloaded ") == 9  # 8 photos and the READY video
    assert "downloaded '_._etc_passwd.jpg'" in out and "downloaded 'IMG_0001 (2).JPG'" in out
    assert "Google Photos failed to process it" in out
    assert "processingStatus PROCESSING" in out
    assert out.count("PHOTO") + out.count("VIDEO") >= 7
    assert "'../../etc/passwd.jpg'" in out
    assert re.search(r"deleted session [0-9a-f-]{36}", out)
    assert "deleting it again: SessionNotFound" in out


def test_emulator_subcommand_serves_until_terminated() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "picker_discovery", "emulator", "--poll-interval", "0.5s"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = re.search(
            r"on (http://127\.0\.0\.1:\d+/) \(media (http://127\.0\.0\.1:\d+/)\)", first
        )
        assert match, first
        api = match.group(1)
        request = urllib.request.Request(
            f"{api}v1/sessions",
            data=b"{}",
            headers={"Authorization": "Bearer cli-user"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            session = json.load(answer)
        assert session["pollingConfig"]["pollInterval"] == "0.500s"  # proto3 JSON: 3 digits
        assert session["pickerUri"].startswith(f"{api}pick/")
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0


def test_emulator_subcommand_serves_strict_oauth() -> None:
    """``--auth strict``: a made-up token gets Google's 401; the OAuth endpoints are printed."""
    process = subprocess.Popen(
        [sys.executable, "-m", "picker_discovery", "emulator", "--auth", "strict"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        api = re.search(r"on (http://127\.0\.0\.1:\d+/)", process.stdout.readline())
        assert api, "no URL printed"
        lines = [process.stdout.readline() for _ in range(3)]
        assert any(f"{api.group(1)}token" in line for line in lines), lines
        request = urllib.request.Request(
            f"{api.group(1)}v1/sessions",
            data=b"{}",
            headers={"Authorization": "Bearer made-up"},
            method="POST",
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 401
        assert json.load(refused.value)["error"]["status"] == "UNAUTHENTICATED"
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
