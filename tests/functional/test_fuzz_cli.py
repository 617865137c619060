"""The command line, fuzzed: any argument vector ends in a documented exit code, no traceback.

Argument vectors are built from the real parser's commands and flags, with hostile values.
Nothing can reach the network (sockets refuse to connect and names do not resolve), the API
commands talk to the in-process fake on a fake clock, every path lies in a temporary folder,
and the emulator command is stopped as soon as it has started.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import signal
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings, strategies as st

import picker_discovery
import picker_discovery._client
from picker_discovery import _cli as cli
from picker_discovery._client import PickerClient
from picker_discovery._clock import FakeClock
from picker_discovery._retry import RetryPolicy
from picker_discovery.testing import Backend, FakeHttp, canned

EXIT_CODES = {0, 1, 2, 3, 4, 5, 129, 130, 143}
DOCUMENT = Path(__file__).resolve().parents[2] / "discovery_cache" / "photospicker.v1.json"


def commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> Iterator[Any]:
    """(words, parser) for every runnable command of the real parser."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from commands(sub, (*prefix, name))
            return
    yield prefix, parser


# The demo takes no arguments worth fuzzing and runs a whole flow (seconds): left out.
COMMANDS = [(words, p) for words, p in commands(cli.build_parser()) if words != ("demo",)]

numbers = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats().map(repr),
    st.sampled_from(
        ["nan", "NaN", "inf", "-inf", "1e309", "-0", "0", "1", "2000", "2001", "65536", "1_0"]
    ),
    st.sampled_from(["\u0661\u0662", "\u00b2", "\uff11", "0x10", " 3 ", "3.5s", "1e309s"]),
)
no_nul_text = st.text(st.characters(exclude_characters="\x00"), max_size=30)
hostile = st.one_of(numbers, no_nul_text, st.sampled_from(["", "-", "--", "-x", "1024x768"]))


def file_names(root: Path) -> st.SearchStrategy[str]:
    """Paths in the temporary folder: missing, empty, garbage, a folder, a real document."""
    names = ["missing.json", "empty.json", "garbage.json", "list.json", "folder", "doc.json"]
    inside = st.sampled_from(names).map(lambda name: str(root / name))
    name = st.text(st.characters(exclude_characters="\x00/"), min_size=1, max_size=30)
    made_up = name.filter(lambda t: t not in (".", "..")).map(lambda t: str(root / "made-up" / t))
    return st.one_of(inside, made_up)


def make_files(root: Path) -> None:
    (root / "empty.json").write_bytes(b"")
    (root / "garbage.json").write_bytes(b"\xff\xfe{not json")
    (root / "list.json").write_text("[1, 2]", encoding="utf-8")
    (root / "folder").mkdir()
    (root / "doc.json").write_bytes(DOCUMENT.read_bytes())
    (root / "made-up").mkdir()


@st.composite
def argvs(draw: st.DrawFn, root: Path) -> list[str]:
    words, parser = draw(st.sampled_from(COMMANDS))
    argv = list(words)
    paths = file_names(root)
    for action in parser._actions:
        if not draw(st.booleans()) and not action.required:
            continue
        if isinstance(action, argparse._HelpAction):
            continue
        if not action.option_strings:  # a positional: a session id
            argv.append(draw(st.one_of(hostile, st.uuids().map(str))))
            continue
        flag = draw(st.sampled_from(action.option_strings))
        if action.nargs == 0:
            argv.append(flag)
        elif action.dest in ("document", "client_secrets", "token_file", "dest"):
            argv += [flag, draw(paths)]
        elif action.choices:
            argv += [flag, draw(st.one_of(st.sampled_from(list(action.choices)), hostile))]
        elif action.dest == "url":
            argv += [flag, draw(st.one_of(hostile, st.just("https://example.invalid/d")))]
        else:
            argv += [flag, draw(hostile)]
    if draw(st.integers(0, 9)) == 0:
        argv.insert(draw(st.integers(0, len(argv))), draw(hostile))  # a stray word
    return argv


@pytest.fixture
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """No network, no user files, the API on the in-process fake, the emulator stopped at once."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise ConnectionRefusedError("the network is off in this test")

    def unresolved(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "names do not resolve in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", unresolved)
    for name in ("HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME"):
        monkeypatch.setenv(name, str(tmp_path / "home"))
    for name in (cli.ENDPOINT_ENV, cli.MEDIA_HOSTS_ENV, "PICKER_DISCOVERY_DOCUMENT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(cli.TOKEN_ENV, "cli-user")
    monkeypatch.chdir(tmp_path)
    # The emulator command waits for SIGTERM: deliver it as soon as its handler is set. The
    # handlers every other command sets (SIGTERM and SIGHUP end it like Ctrl-C) are real.
    real_signal = signal.signal

    def set_handler(signum: int, handler: Any) -> Any:
        if getattr(handler, "__qualname__", "").startswith("emulator."):
            return handler(signum, None)
        return real_signal(signum, handler)

    monkeypatch.setattr(signal, "signal", set_handler)

    def fake_client(
        *,
        credentials: Any = None,
        client_options: Any = None,
        allowed_hosts: Any = (),
        allow_insecure_http: bool = False,
        journal: Any = None,
    ) -> Any:
        """The command's client, with the arguments it gives, on the in-process fake."""
        clock = FakeClock()
        backend = Backend(clock=clock, poll_interval="5s", polling_timeout="15s", library_size=3)
        service = picker_discovery.build(
            http=FakeHttp(backend),
            client_options=client_options,
            allowed_hosts=allowed_hosts,
            allow_insecure_http=allow_insecure_http,
        )
        return PickerClient(service, clock=clock, retry=RetryPolicy.none(), journal=journal)

    monkeypatch.setattr(picker_discovery._client, "PickerClient", fake_client)
    with tempfile.TemporaryDirectory(dir=tmp_path) as root:
        make_files(Path(root))
        yield Path(root)


def run(argv: list[str]) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = cli.main(argv)
        except SystemExit as exit_:  # argparse: --help (0) or bad usage (2)
            assert exit_.code in (0, 2), exit_.code
            code = int(exit_.code or 0)
    return code, err.getvalue()


# One fixture for all examples: what an example changes stays inside its temporary folder.
@pytest.mark.fuzz
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_arguments_end_in_a_documented_exit_code(offline: Path, data: st.DataObject) -> None:
    argv = data.draw(argvs(offline), label="argv")
    code, err = run(argv)
    event(f"exit {code}")  # --hypothesis-show-statistics shows how often each code came
    assert code in EXIT_CODES
    assert "Traceback" not in err


# Regressions: each of these ended in an uncaught exception and a traceback.


@pytest.mark.parametrize(
    "argv",
    [
        ["emulator", "--port", "70000"],
        ["emulator", "--media-port", "-1"],
    ],
)
def test_an_impossible_port_is_a_usage_error(offline: Path, argv: list[str]) -> None:
    code, err = run(argv)
    assert code == 2 and "port" in err and "Traceback" not in err


def test_a_malformed_answer_is_a_failure_not_a_usage_error(
    offline: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server's fault is exit 1 ("the API failed"), not 2 ("bad usage or input")."""

    def answering_a_list(**_: Any) -> Any:
        http = canned.ClosableHttpMockSequence([({"status": "200"}, b"[1, 2]")])
        return PickerClient(picker_discovery.build(http=http), retry=RetryPolicy.none())

    monkeypatch.setattr(picker_discovery._client, "PickerClient", answering_a_list)
    code, err = run(["sessions", "get", "s1"])
    assert code == 1 and "instead of a JSON object" in err and "Traceback" not in err
