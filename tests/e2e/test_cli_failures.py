"""Friendly failures: each names the flag, file or URL involved and the next step; a reader
that goes away ends the command quietly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from picker_discovery import _cli as cli
from picker_discovery.testing import Emulator
from tests.e2e.test_cli_peers import environment, run


@pytest.fixture
def strict() -> Iterator[Emulator]:
    with Emulator(auth="strict") as running:
        yield running


def test_a_missing_client_secrets_file_names_the_flag_and_where_to_get_one(
    tmp_path: Path,
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "picker_discovery", "login", "--client-secrets", "nope.json"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == cli.EXIT_USAGE
    assert result.stderr.startswith("error: --client-secrets nope.json: no such file.")
    assert "'Desktop app'" in result.stderr and result.stderr.count("\n") == 1


def test_a_refused_token_says_how_to_sign_in_again(strict: Emulator, tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    from_env = run(environment(strict, tmp_path, token="made-up"), "sessions", "create")
    assert from_env.returncode == cli.EXIT_AUTH
    assert "the token in $PICKER_DISCOVERY_TOKEN was refused" in from_env.stderr

    as_json = run(environment(strict, tmp_path, token="made-up"), "sessions", "create", "--json")
    error = json.loads(as_json.stderr)["error"]
    assert error["type"] == "RefreshError" and error["exit_code"] == cli.EXIT_AUTH


def test_a_refused_stored_token_names_the_login_for_its_account() -> None:
    # (A stored token's refresh always goes to Google's token endpoint, google-auth's rule,
    # so the emulator cannot refuse one: the hint is checked on the error itself.)
    import argparse

    import google.auth.exceptions

    from picker_discovery._cli._main import _next_step

    refused = google.auth.exceptions.RefreshError("invalid_grant: Token has been revoked.")
    hint = _next_step(refused, argparse.Namespace(account="work"))
    assert hint == "; sign in again: picker-discovery login --client-secrets FILE --account work"
    assert _next_step(ValueError("x"), argparse.Namespace()) == ""


def test_binary_output_to_a_reader_that_goes_away_ends_quietly(tmp_path: Path) -> None:
    with Emulator() as emulator:
        (tmp_path / "config").mkdir()
        env = environment(emulator, tmp_path)
        made = run(env, "sessions", "create", "--json")
        session_id = json.loads(made.stdout)["id"]
        emulator.pick(session_id, first=10)
        items = json.loads(run(env, "items", "list", session_id, "--json").stdout)
        biggest = max(
            (i for i in items if i["type"] == "PHOTO"),
            key=lambda i: int(i["mediaFile"]["mediaFileMetadata"]["width"]),
        )
        read_end, write_end = os.pipe()
        os.close(read_end)
        process = subprocess.run(
            [sys.executable, "-m", "picker_discovery", "items", "download", session_id,
             "--item", biggest["id"], "-o", "-"],
            env=env, stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=60,
        )  # fmt: skip
        os.close(write_end)
    assert process.returncode == cli.EXIT_BROKEN_PIPE
    assert process.stderr == ""
