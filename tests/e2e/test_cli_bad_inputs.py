"""Bad input to every command: a one-line message and its documented exit code, never a
traceback, and never a session created.

Each row is one mistake a person (or a broken file, server or port) can make. Rows run in this
process through ``cli.main`` against a loopback emulator; only the closed pipes, which need a
real stdout, run as subprocesses.
"""

from __future__ import annotations

import contextlib
import copy
import errno
import io
import json
import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from picker_discovery import _auth as auth, _cli as cli, _discovery as discovery
from picker_discovery._client import PickerClient
from picker_discovery._clock import SystemClock
from picker_discovery.testing import Emulator, Fault

TOKEN = "bad-input-user"
DOCUMENTED_EXIT_CODES = {
    cli.EXIT_FAILED,
    cli.EXIT_USAGE,
    cli.EXIT_NOT_FOUND,
    cli.EXIT_AUTH,
    cli.EXIT_TIMEOUT,
}


@dataclass
class World:
    """What the rows' arguments refer to: files, URLs and ports made for this module."""

    root: Path
    emulator: Emulator
    closed_url: str  # a loopback port nothing listens on
    busy_port: int  # a loopback port something listens on

    def format(self, text: str) -> str:
        return text.format(
            root=self.root,
            api=self.emulator.url,
            closed=self.closed_url,
            busy=self.busy_port,
        )


def _document(change: Callable[[dict[str, Any]], None]) -> str:
    document, _ = discovery.load_document()
    document = copy.deepcopy(document)
    change(document)
    return json.dumps(document)


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = document
        for key in parents:
            node = node[key]
        node[last] = value

    return change


def _drop(path: str) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = document
        for key in parents:
            node = node[key]
        del node[last]

    return change


GET = "resources.sessions.methods.get"
FILES: dict[str, str | bytes] = {
    "doc-notjson.json": "{nope",
    "doc-empty.json": "",
    "doc-list.json": "[1, 2]",
    "doc-latin1.json": b'{"name": "caf\xe9"}',
    "doc-deep.json": "[" * 100_000 + "]" * 100_000,
    "doc-other-api.json": _document(_set("name", "drive")),
    "doc-no-id.json": _document(_drop(f"{GET}.id")),
    "doc-params-string.json": _document(_set(f"{GET}.parameters", "sessionId")),
    "doc-schemas-list.json": _document(_set("schemas", [1])),
    "doc-top-params-int.json": _document(_set("parameters", {"fields": 1})),
    "doc-http-method.json": _document(_set(f"{GET}.httpMethod", 5)),
    "doc-auth-string.json": _document(_set("auth", "oauth2")),
    "doc-evil-root.json": _document(_set("rootUrl", "https://evil.example/")),
    "token-wrong-json.json": '{"access": "x"}',
    "token-not-json.json": "token=abc",
    "token-empty.json": "",
    "token-list.json": '["ya29.x"]',
    "token-open.json": '{"token": "x"}',  # mode 0644 below
    "a-file": "not a folder",
    "client-secrets.json": json.dumps(
        {
            "installed": {
                "client_id": "id.apps.googleusercontent.com",
                "client_secret": "not-a-secret",
                "auth_uri": "https://accounts.google.com/o/oauth2/auth",
                "token_uri": "https://oauth2.googleapis.com/token",
                "redirect_uris": ["http://localhost"],
            }
        }
    ),
}


def _answers(method: str, body: bytes) -> tuple[str, Fault]:
    """The emulator answers ``method``'s next request with HTTP 200 and ``body`` as JSON."""
    return method, Fault(body=body, content_type="application/json; charset=UTF-8")


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    with contextlib.ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        for name, content in FILES.items():
            path = root / name
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content, encoding="utf-8")
            path.chmod(0o600)
        (root / "token-open.json").chmod(0o644)
        (root / "a-folder").mkdir()
        emulator = stack.enter_context(Emulator(poll_interval="0.2s"))
        closed = socket.socket()
        closed.bind(("127.0.0.1", 0))
        closed_url = f"http://127.0.0.1:{closed.getsockname()[1]}/"
        closed.close()
        busy = stack.enter_context(socket.socket())
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        yield World(root, emulator, closed_url, busy.getsockname()[1])


Patch = Callable[[pytest.MonkeyPatch, World], None]


@dataclass(frozen=True)
class Row:
    argv: str  # split on spaces after formatting with World.format
    code: int
    says: str  # in the one-line message
    env: dict[str, str] = field(default_factory=dict)
    patch: Patch | None = None
    signed_in: bool = True  # PICKER_DISCOVERY_TOKEN set
    fault: tuple[str, Fault] | None = None  # scripted on the emulator: (method, fault)


def _token_read_denied(monkeypatch: pytest.MonkeyPatch, world: World) -> None:
    def denied(path: Path) -> str:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))

    monkeypatch.setattr(auth, "_read_private", denied)


def _unlink_denied(monkeypatch: pytest.MonkeyPatch, world: World) -> None:
    def denied(path: Path, missing_ok: bool = False) -> None:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))

    monkeypatch.setattr(Path, "unlink", denied)


def _folder_denied(monkeypatch: pytest.MonkeyPatch, world: World) -> None:
    def denied(*args: Any, dir: Any = None, **kwargs: Any) -> Any:
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(dir))

    monkeypatch.setattr(tempfile, "mkstemp", denied)


def _no_retry_waits(monkeypatch: pytest.MonkeyPatch, world: World) -> None:
    """The retries of a refused connection happen, without their real backoff sleeps."""
    monkeypatch.setattr(SystemClock, "sleep", lambda self, seconds, cancel=None: None)


def _connection_pipe_breaks(monkeypatch: pytest.MonkeyPatch, world: World) -> None:
    """A broken pipe from a connection, not from stdout: an error, not a quiet stop."""

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE))

    monkeypatch.setattr(PickerClient, "get_session", broken)


API = "--endpoint {api}"
PICK = f"pick {API} --dest {{root}}/picked"
DOC = "PICKER_DISCOVERY_DOCUMENT"
USAGE, FAILED, AUTH = cli.EXIT_USAGE, cli.EXIT_FAILED, cli.EXIT_AUTH
NOT_SIGNED_IN = "not signed in"

ROWS: dict[str, Row] = {
    # -- discovery documents, by --document and by the environment variable --
    "show-not-json": Row("discovery show --document {root}/doc-notjson.json", FAILED, "JSON"),
    "path-empty": Row("discovery path --document {root}/doc-empty.json", FAILED, "is empty"),
    "verify-list": Row("discovery verify --document {root}/doc-list.json", FAILED, "JSON object"),
    "show-latin1": Row("discovery show --document {root}/doc-latin1.json", FAILED, "UTF-8"),
    "verify-deep": Row("discovery verify --document {root}/doc-deep.json", FAILED, "too deeply"),
    "show-dev-zero": Row("discovery show --document /dev/zero", FAILED, "larger than 4 MiB"),
    "get-env-dev-zero": Row(f"sessions get s1 {API}", FAILED, "4 MiB", {DOC: "/dev/zero"}),
    "verify-folder": Row("discovery verify --document {root}/a-folder", FAILED, "cannot be read"),
    "path-missing": Row("discovery path --document {root}/missing.json", FAILED, "cannot be read"),
    "verify-other-api": Row(
        "discovery verify --document {root}/doc-other-api.json", FAILED, "'drive'"
    ),
    "verify-no-method-id": Row(
        "discovery verify --document {root}/doc-no-id.json", FAILED, "cannot be built"
    ),
    "get-env-no-method-id": Row(
        f"sessions get s1 {API}", FAILED, "doc-no-id.json", {DOC: "{root}/doc-no-id.json"}
    ),
    "verify-params-string": Row(
        "discovery verify --document {root}/doc-params-string.json", FAILED, "cannot be built"
    ),
    "create-env-schemas-list": Row(
        f"sessions create {API}", FAILED, "cannot be built", {DOC: "{root}/doc-schemas-list.json"}
    ),
    "verify-top-params-int": Row(
        "discovery verify --document {root}/doc-top-params-int.json", FAILED, "cannot be built"
    ),
    "verify-http-method": Row(
        "discovery verify --document {root}/doc-http-method.json", FAILED, "HTTP method 5"
    ),
    "get-env-auth-string": Row(
        f"sessions get s1 {API}", FAILED, "cannot be built", {DOC: "{root}/doc-auth-string.json"}
    ),
    "list-env-evil-root": Row(
        f"items list s1 {API}", FAILED, "evil.example", {DOC: "{root}/doc-evil-root.json"}
    ),
    "pick-env-not-json": Row(PICK, FAILED, "not valid JSON", {DOC: "{root}/doc-notjson.json"}),
    "demo-env-not-json": Row("demo", FAILED, "not valid JSON", {DOC: "{root}/doc-notjson.json"}),
    "refresh-refused": Row("discovery refresh --url {closed}", FAILED, "{closed}"),
    "refresh-relative-url": Row("discovery refresh --url nope", FAILED, "nope"),
    "refresh-unparsable-url": Row("discovery refresh --url http://[::1", USAGE, "'http://[::1'"),
    # -- the token --
    "token-wrong-json": Row(
        f"sessions get s1 {API} --token-file {{root}}/token-wrong-json.json",
        USAGE,
        "not a usable token file",
        signed_in=False,
    ),
    "token-not-json": Row(
        f"sessions create {API} --token-file {{root}}/token-not-json.json",
        USAGE,
        "is not JSON",
        signed_in=False,
    ),
    "token-empty": Row(
        f"items list s1 {API} --token-file {{root}}/token-empty.json",
        USAGE,
        "is not JSON",
        signed_in=False,
    ),
    "token-folder": Row(
        f"sessions delete s1 {API} --token-file {{root}}/a-folder",
        USAGE,
        "cannot read the token file",
        signed_in=False,
    ),
    "token-list": Row(
        f"pick {API} --token-file {{root}}/token-list.json",
        USAGE,
        "holds a JSON list",
        signed_in=False,
    ),
    "token-open-to-others": Row(
        f"pick {API} --token-file {{root}}/token-open.json", AUTH, "chmod 600", signed_in=False
    ),
    "token-read-denied": Row(
        f"pick {API} --token-file {{root}}/token-wrong-json.json",
        USAGE,
        "cannot read the token file {root}/token-wrong-json.json: Permission denied",
        patch=_token_read_denied,
        signed_in=False,
    ),
    "token-missing": Row(
        f"pick {API} --token-file {{root}}/nowhere.json", AUTH, NOT_SIGNED_IN, signed_in=False
    ),
    "token-env-newline": Row(
        f"pick {API}", USAGE, "PICKER_DISCOVERY_TOKEN", {cli.TOKEN_ENV: "ya29.a\nb"}
    ),
    "token-env-space": Row(
        f"sessions get s1 {API}", USAGE, "PICKER_DISCOVERY_TOKEN", {cli.TOKEN_ENV: "Bearer x"}
    ),
    "token-env-non-ascii": Row(
        f"items list s1 {API}", USAGE, "PICKER_DISCOVERY_TOKEN", {cli.TOKEN_ENV: "tökén"}
    ),
    "logout-denied": Row(
        "logout --token-file {root}/token-wrong-json.json",
        FAILED,
        "Permission denied",
        patch=_unlink_denied,
    ),
    "logout-folder": Row("logout --token-file {root}/a-folder", FAILED, "a-folder"),
    # -- numbers --
    "size-superscript": Row(f"{PICK} --size ²x3", USAGE, "--size must look like 1024x768"),
    "size-zero": Row(f"{PICK} --size 0x10", USAGE, "--size width must be from 1 to 16383"),
    "size-huge": Row(f"{PICK} --size 99999999999x1", USAGE, "from 1 to 16383"),
    "size-height-zero": Row(f"{PICK} --size 10x0", USAGE, "--size height"),
    "size-half": Row(f"{PICK} --size 10x", USAGE, "--size must look like"),
    "size-exponent": Row(f"{PICK} --size 1e3x5", USAGE, "--size must look like"),
    "size-fullwidth": Row(f"{PICK} --size \uff13x\uff13", USAGE, "--size must look like"),
    "workers-zero": Row(f"{PICK} --workers 0", USAGE, "--workers: must be from 1 to 64"),
    "workers-huge": Row(f"{PICK} --workers 100000", USAGE, "--workers: must be from 1 to 64"),
    "workers-negative": Row(f"{PICK} --workers -3", USAGE, "--workers: must be from"),
    "workers-arabic-digit": Row(f"{PICK} --workers ٣", USAGE, "digits 0-9"),
    "workers-float": Row(f"{PICK} --workers 2.5", USAGE, "digits 0-9"),
    "timeout-nan": Row(f"{PICK} --timeout nan", USAGE, "--timeout: must be a number of seconds"),
    "timeout-inf": Row(f"{PICK} --timeout inf", USAGE, "--timeout: must be a number of seconds"),
    "timeout-negative": Row(f"{PICK} --timeout -5", USAGE, "must be a positive number"),
    "timeout-zero": Row(f"{PICK} --timeout 0", USAGE, "must be a positive number"),
    "timeout-overflow": Row(f"{PICK} --timeout 1e999", USAGE, "must be a positive number"),
    "timeout-superscript": Row(f"{PICK} --timeout ²", USAGE, "must be a number of seconds"),
    "timeout-two-weeks": Row(f"{PICK} --timeout 1209600", USAGE, "at most 604800"),
    "max-items-zero": Row(f"{PICK} --max-items 0", USAGE, "--max-items: must be from 1 to 2000"),
    "max-items-over": Row(f"{PICK} --max-items 2001", USAGE, "must be from 1 to 2000"),
    "create-max-items-nan": Row(f"sessions create {API} --max-items NaN", USAGE, "digits 0-9"),
    "create-max-items-huge": Row(
        f"sessions create {API} --max-items 99999999999999999999999", USAGE, "digits 0-9"
    ),
    "login-timeout-nan": Row(
        "login --client-secrets {root}/client-secrets.json --timeout nan", USAGE, "--timeout"
    ),
    "login-timeout-negative": Row(
        "login --client-secrets {root}/client-secrets.json --timeout -1", USAGE, "positive"
    ),
    # -- ports --
    "emulator-port-too-big": Row("emulator --port 70000", USAGE, "65535"),
    "emulator-port-superscript": Row("emulator --port ²", USAGE, "not a port number"),
    "emulator-media-port-negative": Row("emulator --media-port -1", USAGE, "port"),
    "emulator-port-busy": Row("emulator --port {busy}", USAGE, "--port {busy}"),
    "emulator-media-port-busy": Row("emulator --media-port {busy}", USAGE, "--media-port {busy}"),
    "emulator-poll-interval": Row("emulator --poll-interval soon", USAGE, "duration"),
    # -- folders and hosts --
    "dest-is-a-file": Row(f"pick {API} --dest {{root}}/a-file", USAGE, "is not a directory"),
    "dest-under-a-file": Row(f"pick {API} --dest {{root}}/a-file/sub", USAGE, "not a directory"),
    "dest-not-writable": Row(PICK, USAGE, "Permission denied", patch=_folder_denied),
    "dest-empty": Row(f"pick {API} --dest=", USAGE, "--dest is empty"),
    "media-host-ftp": Row(f"{PICK} --media-host ftp://x", USAGE, "ftp://x"),
    "media-host-insecure": Row(f"{PICK} --media-host http://media.example", USAGE, "http"),
    # -- the endpoint and the answers --
    "get-refused": Row(
        "sessions get s1 --endpoint {closed}", FAILED, "at {closed}", patch=_no_retry_waits
    ),
    "list-refused": Row(
        "items list s1 --endpoint {closed}", FAILED, "at {closed}", patch=_no_retry_waits
    ),
    "create-refused": Row(
        "sessions create --endpoint {closed}", FAILED, "at {closed}", patch=_no_retry_waits
    ),
    "get-connection-broken-pipe": Row(
        f"sessions get s1 {API}", FAILED, "at {api}: [Errno 32]", patch=_connection_pipe_breaks
    ),
    "endpoint-junk": Row("sessions get s1 --endpoint ::::", USAGE, "'::::'"),
    "endpoint-evil": Row("sessions get s1 --endpoint https://evil.example/", USAGE, "evil"),
    "session-id-path": Row(f"sessions get ../x {API}", USAGE, "session id"),
    "session-id-empty": Row(f"sessions delete {API} --", USAGE, "SESSION_ID"),
    "answer-list": Row(
        f"sessions get s1 {API}",
        FAILED,
        "JSON object",
        fault=_answers("sessions.get", b"[1, 2]"),
    ),
    "answer-id-number": Row(
        f"sessions create {API}",
        FAILED,
        "PickingSession.id must be a string",
        fault=_answers("sessions.create", b'{"id": 5, "pickerUri": "https://photos.google.com/x"}'),
    ),
    "answer-items-string": Row(
        f"items list s1 {API}",
        FAILED,
        "mediaItems",
        fault=_answers("mediaItems.list", b'{"mediaItems": "none"}'),
    ),
    "answer-html": Row(
        f"sessions get s1 {API}",
        FAILED,
        "check the endpoint",
        fault=_answers("sessions.get", b"<html><body>Welcome</body></html>"),
    ),
    # -- signing in --
    "login-times-out": Row(
        "login --client-secrets {root}/client-secrets.json --no-browser --timeout 0.3",
        cli.EXIT_TIMEOUT,
        "no sign-in arrived within 0.3 seconds",
    ),
    "login-secrets-folder": Row("login --client-secrets {root}/a-folder", USAGE, "Desktop app"),
    "login-secrets-token": Row(
        "login --client-secrets {root}/token-wrong-json.json", USAGE, "Desktop app"
    ),
    "demo-stray-argument": Row("demo now", USAGE, "unrecognized arguments"),
    "no-command": Row("", USAGE, "required"),
}


def _one_line_message(err: str) -> str:
    """The error line of ``err``, checking there is exactly one and nothing after it: ours
    (``error: ...``) or argparse's (its usage lines, then ``prog: error: ...``)."""
    assert "Traceback" not in err, err
    lines = err.rstrip("\n").splitlines()
    errors = [
        i for i, line in enumerate(lines) if line.startswith("error: ") or ": error: " in line
    ]
    assert len(errors) == 1 and errors[0] == len(lines) - 1, err
    if ": error: " in lines[-1]:  # argparse: only its usage comes before
        assert lines[0].startswith("usage: "), err
        assert all(line.startswith(" ") for line in lines[1:-1]), err
    return lines[-1]


@pytest.mark.parametrize("row", list(ROWS.values()), ids=list(ROWS))
def test_bad_input_ends_in_one_line_and_its_exit_code(
    row: Row, world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in (cli.ENDPOINT_ENV, cli.MEDIA_HOSTS_ENV, cli.TOKEN_ENV, DOC):
        monkeypatch.delenv(name, raising=False)
    for name in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))
    if row.signed_in:
        monkeypatch.setenv(cli.TOKEN_ENV, TOKEN)
    for name, value in row.env.items():
        monkeypatch.setenv(name, world.format(value))
    if row.patch is not None:
        row.patch(monkeypatch, world)
    argv = [world.format(word) for word in row.argv.split(" ") if word]
    world.emulator.backend.clear_attempts()
    world.emulator.clear_faults()
    if row.fault is not None:
        world.emulator.set_faults(row.fault[0], [row.fault[1]])
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = cli.main(argv)
        except SystemExit as exited:  # argparse refused the arguments
            code = exited.code  # type: ignore[assignment]
    message = _one_line_message(err.getvalue())
    assert code == row.code, message
    assert code in DOCUMENTED_EXIT_CODES
    assert world.format(row.says) in message
    assert "this is a bug" not in message  # each of these is foreseen, with its own words
    creates = world.emulator.attempts("sessions.create")
    if row.fault is not None and row.fault[0] == "sessions.create":
        assert len(creates) == 1  # the scripted answer, never resent
    else:
        assert creates == []
    assert world.emulator.backend.pending_faults() == 0  # the row reached what it scripted
    assert not (world.root / "picked").exists()  # a checked --dest is not left behind


def test_the_table_is_large_and_covers_every_command() -> None:
    assert len(ROWS) >= 60
    covered = {" ".join(row.argv.split(" ")[:2]) for row in ROWS.values()}
    for words in (
        "login --client-secrets",
        "logout --token-file",
        "sessions create",
        "sessions get",
        "sessions delete",
        "pick --endpoint",
        "items list",
        "discovery show",
        "discovery path",
        "discovery verify",
        "discovery refresh",
        "emulator --port",
        "demo now",
    ):
        assert words in covered, words


# -- closed pipes: a real stdout that the reader closes early --------------------------------


def _run_with_closed_stdout(argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run the command with stdout a pipe whose reader is gone, as in ``... | head -c0``."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "picker_discovery", *argv],
            stdout=write_end,
            stderr=subprocess.PIPE,
            env={**os.environ, **env},
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    return result.returncode, result.stderr


def test_a_closed_pipe_ends_quietly() -> None:
    code, err = _run_with_closed_stdout(["discovery", "show", "--json"], {})
    assert (code, err) == (cli.EXIT_BROKEN_PIPE, "")


def test_a_closed_pipe_while_listing_ends_quietly(world: World) -> None:
    session_id = world.emulator.backend.create_session(TOKEN)["id"]
    try:
        world.emulator.pick(session_id, first=3)
        env = {cli.TOKEN_ENV: TOKEN, cli.ENDPOINT_ENV: world.emulator.url}
        for extra in ([], ["--json"]):
            code, err = _run_with_closed_stdout(["items", "list", session_id, *extra], env)
            assert (code, err) == (cli.EXIT_BROKEN_PIPE, ""), extra
    finally:
        world.emulator.backend.delete_session(TOKEN, session_id)


def test_a_closed_pipe_ends_pick_quietly_and_deletes_the_session(
    world: World, tmp_path: Path
) -> None:
    """``pick --json | head -c0``: its first event finds no reader; it stops there, quietly,
    and deletes the session it made (no one would hear of the pick)."""
    world.emulator.backend.clear_attempts()
    read_end, write_end = os.pipe()
    os.close(read_end)
    env = {
        **os.environ,
        cli.TOKEN_ENV: TOKEN,
        cli.ENDPOINT_ENV: world.emulator.url,
        cli.MEDIA_HOSTS_ENV: world.emulator.media_url.rstrip("/"),
    }
    process = subprocess.Popen(
        [
            *(sys.executable, "-m", "picker_discovery", "pick", "--json", "--no-qr"),
            *("--dest", str(tmp_path), "--timeout", "60"),
        ],
        stdout=write_end,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    os.close(write_end)
    try:
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == cli.EXIT_BROKEN_PIPE, err
    assert "Traceback" not in err and "Broken pipe" not in err and "error" not in err
    assert len(world.emulator.attempts("sessions.create")) == 1
    assert len(world.emulator.attempts("sessions.delete")) == 1
    assert world.emulator.backend.sessions(TOKEN) == []


def test_every_exit_code_used_here_is_documented() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    codes = readme.split("Exit codes:", 1)[1].split("\n\n", 1)[0]
    for code in (*sorted(DOCUMENTED_EXIT_CODES), cli.EXIT_BROKEN_PIPE):
        assert f"\n  {code:<4} " in cli.EXIT_CODES_HELP, code
        assert f"{code} " in codes, code
