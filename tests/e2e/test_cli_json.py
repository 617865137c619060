"""``--json`` on every command: its output and its errors are JSON for scripts."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from picker_discovery import _cli as cli
from picker_discovery.testing import Emulator

TOKEN = "json-user"


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator() as running:
        yield running


def run(emulator: Emulator, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        cli.ENDPOINT_ENV: emulator.url,
        cli.TOKEN_ENV: TOKEN,
        "PICKER_DISCOVERY_JOURNAL": "off",
    }
    return subprocess.run(
        [sys.executable, "-m", "picker_discovery", *args],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def leaf_commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> Iterator[Any]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from leaf_commands(sub, (*path, name))
            return
    yield path, parser


def test_every_command_takes_json_or_refuses_it() -> None:
    refused = []
    for path, parser in leaf_commands(cli.build_parser()):
        options = {option for action in parser._actions for option in action.option_strings}
        assert "--json" in options, path
        if parser.get_default("no_json"):
            refused.append(path)
    assert refused == [("demo",)]


def test_an_api_error_is_a_json_object_on_stderr_with_code_and_class(emulator: Emulator) -> None:
    result = run(emulator, "sessions", "get", "no-such-session", "--json")
    assert result.returncode == cli.EXIT_NOT_FOUND
    assert result.stdout == ""
    error = json.loads(result.stderr)["error"]
    assert error["type"] == "SessionNotFound" and error["exit_code"] == 3
    assert "no-such-session" in error["message"]
    # Without --json, the same failure is one line for people.
    plain = run(emulator, "sessions", "get", "no-such-session")
    assert plain.returncode == 3
    assert plain.stderr.startswith("error: ") and plain.stderr.count("\n") == 1


def test_a_usage_error_is_json_too(emulator: Emulator) -> None:
    result = run(emulator, "pick", "--json", "--workers", "0")
    assert result.returncode == cli.EXIT_USAGE
    [line] = result.stderr.splitlines()
    error = json.loads(line)["error"]
    assert error["type"] == "UsageError" and error["exit_code"] == 2
    assert "--workers" in error["message"] and "--help" in error["message"]
    assert emulator.backend.sessions(TOKEN) == []


def test_demo_refuses_json_and_says_what_to_use(emulator: Emulator) -> None:
    result = run(emulator, "demo", "--json")
    assert result.returncode == cli.EXIT_USAGE
    error = json.loads(result.stderr)["error"]
    assert "pick --json" in error["message"]
    assert result.stdout == ""


def test_json_output_escapes_what_a_terminal_would_run(emulator: Emulator) -> None:
    result = run(emulator, "sessions", "delete", "evil\u202eid", "--json")
    assert result.returncode == cli.EXIT_NOT_FOUND
    assert "\u202e" not in result.stderr and "\\u202e" in result.stderr


def test_the_emulator_prints_its_urls_as_one_json_line() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "picker_discovery", "emulator", "--json"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        urls = json.loads(process.stdout.readline())
        assert urls["url"].startswith("http://127.0.0.1:")
        assert urls["token_uri"] == urls["url"].rstrip("/") + "/token"
        assert set(urls) == {"url", "media_url", "discovery_url", "auth_uri", "token_uri"}
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0


def test_every_help_ends_with_examples_that_parse() -> None:
    """Each --help shows examples, and each example is a command line the parser accepts."""
    import shlex

    for path, parser in [((), cli.build_parser()), *leaf_commands(cli.build_parser())]:
        text = parser.format_help()
        assert "examples:\n  picker-discovery" in text, path
        block = text.split("examples:\n", 1)[1].split("\n\n", 1)[0]
        for line in block.replace("\\\n", " ").splitlines():
            line = line.strip()
            if not line.startswith("picker-discovery "):
                continue  # a comment line under an example
            words = shlex.split(
                line.split(" | ")[0].split(" && ")[0].split(" > ")[0], comments=True
            )
            try:
                cli.build_parser().parse_args(words[1:])
            except SystemExit as exc:  # pragma: no cover - the assertion below says which
                raise AssertionError(f"{line!r} does not parse") from exc
