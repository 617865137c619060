"""No access or refresh token ever reaches a log record, an exception or stderr.

A client holds real-looking tokens (an access token that refreshes at the emulator's OAuth
token endpoint) and runs the whole flow against the loopback emulator under every fault the emulator
can script, on every method it can script it for, with every logger at DEBUG. The faults are
read from :class:`~picker_discovery.testing.backend.Fault` itself, so a fault added there is
covered here (or this module fails until it is).
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import logging
import os
import secrets
import subprocess
import sys
import traceback
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import google.oauth2.credentials
import httplib2
import pytest
from googleapiclient.errors import HttpError

from picker_discovery import _auth as auth, _cli as cli
from picker_discovery._client import PickerClient
from picker_discovery._clock import FakeClock
from picker_discovery._retry import RetryPolicy
from picker_discovery.testing.backend import FAULT_METHODS, STATUS_CODES, Fault
from picker_discovery.testing.emulator import Emulator
from tests.waiting import user_picks

pytestmark = pytest.mark.usefixtures("no_proxy")


def _secret(prefix: str, length: int) -> str:
    return prefix + secrets.token_urlsafe(length)[:length]


ACCESS_TOKEN = _secret("ya29.", 150)
REFRESH_TOKEN = _secret("1//0", 99)  # never issued by the emulator: refreshing it is refused
CLIENT_SECRET = _secret("GOCSPX-", 28)
CLIENT_ID = "1234-abc.apps.googleusercontent.com"
SECRETS = (ACCESS_TOKEN, REFRESH_TOKEN, CLIENT_SECRET)
# The tokens the emulator's OAuth server issued during the current test (its refresh token,
# the access tokens of each refresh): secrets as much as the test's own.
ISSUED: list[str] = []


def leaked(text: str) -> list[str]:
    """Which secrets (whole, or a long enough piece of one) appear in ``text``."""
    found = []
    for secret in (*SECRETS, *ISSUED):
        body = secret.split(".", 1)[-1].removeprefix("1//0").removeprefix("GOCSPX-")
        if secret in text or body[4:24] in text:
            found.append(secret[:8] + "...")
    return found


# -- the emulator's OAuth token endpoint ---------------------------------------------------------

REDIRECT = "http://127.0.0.1:8765/oauth2callback"


@pytest.fixture(autouse=True)
def issued() -> Iterator[list[str]]:
    ISSUED.clear()
    yield ISSUED
    ISSUED.clear()


def sign_in(emu: Emulator) -> str:
    """Register the test's client at the emulator, consent and exchange the code: the
    refresh token it issued (noted in ISSUED, with every token issued later)."""
    emu.register_client(CLIENT_ID, CLIENT_SECRET, redirect_uris=[REDIRECT])
    query = urllib.parse.urlencode(
        {
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT,
            "response_type": "code",
            "scope": "https://www.googleapis.com/auth/photospicker.mediaitems.readonly",
            "access_type": "offline",
        }
    )
    back = emu.authorize(f"{emu.auth_uri}?{query}")
    code = urllib.parse.parse_qs(urllib.parse.urlsplit(back).query)["code"][0]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    data = urllib.parse.urlencode(form).encode()
    with urllib.request.urlopen(emu.token_uri, data, timeout=10) as answer:
        refresh_token = str(json.loads(answer.read())["refresh_token"])
    note_issued(emu)
    emu.backend.clear_attempts()
    return refresh_token


def note_issued(emu: Emulator) -> None:
    ISSUED.extend(t for t in emu.backend.oauth.issued_tokens() if t not in ISSUED)


def credentials(
    token_uri: str, token: str | None = ACCESS_TOKEN, refresh_token: str = REFRESH_TOKEN
) -> Any:
    return google.oauth2.credentials.Credentials(
        token=token,
        refresh_token=refresh_token,
        token_uri=token_uri,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    )


# How the token endpoint answers a refresh, besides "ok" and a real "invalid_grant": hostile
# or broken answers scripted as faults, repeating the request's secrets to prove they are
# scrubbed wherever they surface.
def token_faults(mode: str, refresh_token: str) -> list[dict[str, Any]]:
    form = f"grant_type=refresh_token&refresh_token={refresh_token}&client_secret={CLIENT_SECRET}"
    if mode == "echo":
        described = f"bad request: {form} (Basic {CLIENT_ID}:{CLIENT_SECRET})"
        body = json.dumps({"error": "invalid_request", "error_description": described})
        return [{"status": 400, "body": body, "content_type": "application/json"}] * 30
    if mode == "html":
        return [{"status": 400, "body": f"<p>oops {form}</p>", "content_type": "text/html"}] * 30
    if mode == "drop":
        return [{"drop": True}] * 30
    return []


# -- capturing everything that is said -------------------------------------------------------


class Everything(logging.Handler):
    """Keeps every record whole: message, arguments, extras and exception text."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.texts: list[str] = []
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        parts = [record.getMessage(), repr(vars(record))]
        if record.exc_info:
            parts.append("".join(traceback.format_exception(*record.exc_info)))
        self.texts.append("\n".join(parts))


@pytest.fixture
def every_log() -> Iterator[Everything]:
    """Every logger at DEBUG into one handler, including those that do not propagate."""
    handler = Everything()
    changed: list[tuple[logging.Logger, int, bool]] = []

    def take(logger: logging.Logger) -> None:
        changed.append((logger, logger.level, logger.propagate))
        logger.setLevel(logging.DEBUG)
        if not logger.propagate or logger is logging.getLogger():
            logger.addHandler(handler)

    take(logging.getLogger())
    google_logger = logging.getLogger("google")  # google-auth logs requests only when set up
    take(google_logger)
    google_logger.propagate = False
    google_logger.addHandler(handler)
    for name in list(logging.Logger.manager.loggerDict):
        logger = logging.Logger.manager.loggerDict[name]
        if isinstance(logger, logging.Logger) and logger is not google_logger:
            take(logger)
    assert httplib2.debuglevel == 0
    try:
        yield handler
    finally:
        for logger, level, propagate in reversed(changed):
            logger.setLevel(level)
            logger.propagate = propagate
            logger.removeHandler(handler)


def exception_texts(exc: BaseException) -> list[str]:
    """Everything an exception can show: str, repr, the traceback with its chain, and an
    HttpError's content, uri and response headers, for every exception in the chain."""
    texts = ["".join(traceback.format_exception(exc))]
    seen: set[int] = set()
    stack: list[BaseException | None] = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        texts += [str(current), repr(current), repr(current.args)]
        if isinstance(current, HttpError):
            texts += [repr(current.content), str(current.uri), repr(dict(current.resp))]
        texts += [repr(vars(current))] if hasattr(current, "__dict__") else []
        stack += [current.__cause__, current.__context__]
    return texts


# -- the faults ---------------------------------------------------------------------------------

CODES = sorted(set(STATUS_CODES.values()) | {502})
RETRIED = {None, *RetryPolicy().retry_statuses}
# How each Fault field is exercised. A boolean field added to Fault is covered by setting it;
# any other new field must get its examples here (test_every_fault_field_is_exercised).
FIELD_EXAMPLES: dict[str, list[dict[str, Any]]] = {
    "status": [{"status": code} for code in CODES],
    "retry_after": [{"status": 503, "retry_after": 1}, {"status": 429, "retry_after": 2}],
    "latency": [{"latency": 0.01}],
    "stall": [{"stall": 0.01}],
    "message": [
        {"status": 400, "message": f"you sent {ACCESS_TOKEN} and {REFRESH_TOKEN}"},
        {"status": 500, "message": f"Authorization: Bearer {ACCESS_TOKEN}"},
    ],
    # Faults that bend a media answer (the emulator refuses them for other methods).
    "short_range": [{"short_range": 4096}, {"short_range": 1, "hide_total": True}],
    "size_delta": [{"size_delta": 1000}, {"size_delta": -1000}],
    "range_shift": [{"range_shift": 1}],
    "etag": [{"etag": '"changed"'}],
    # Faults of what is answered (any method).
    "redirect": [
        {"redirect": "http://127.0.0.1:9/ppa/elsewhere=d"},
        {"redirect": f"/ppa/moved=d?access_token={ACCESS_TOKEN}"},
    ],
    "redirect_status": [
        {"redirect": f"/v1/moved?access_token={ACCESS_TOKEN}", "redirect_status": code}
        for code in (301, 303, 307, 308)
    ],
    "body": [
        {"body": f"<html>you sent {ACCESS_TOKEN}</html>", "content_type": "text/html"},
        {
            "status": 400,
            "body": json.dumps({"error": {"code": 400, "message": f"Bearer {ACCESS_TOKEN}"}}),
            "content_type": "application/json",
        },
        {"body": '{"id": 5, "mediaItems": "x"}', "content_type": "application/json"},
    ],
    "content_type": [{"content_type": "text/html; charset=UTF-8"}],
    # Faults of how a body ends (any method).
    "drop_after": [{"drop_after": 0}, {"drop_after": 100}],
    "length_delta": [{"length_delta": 10}, {"length_delta": -10}],
    "gather": [{"gather": 1}],  # the flow sends one request at a time: more would wait
}


def fault_examples() -> list[dict[str, Any]]:
    examples: list[dict[str, Any]] = []
    for spec in dataclasses.fields(Fault):
        if spec.name in FIELD_EXAMPLES:
            examples += FIELD_EXAMPLES[spec.name]
        elif spec.type in ("bool", bool):
            examples.append({spec.name: True})
            examples.append({"status": 503, spec.name: True})
    return examples


def fault_id(fault: dict[str, Any]) -> str:
    return "-".join(f"{k}={str(v)[:12]}" for k, v in fault.items())


# The API methods the flow calls: it never fetches the discovery document (the client builds
# from the bundled one, and refresh sends no token), so faults scripted for it would wait
# unspent; nor does it sign in. It does refresh its token at the token endpoint
# ("oauth.token"), when it starts without an access token. It never sends a batch.
FLOW_METHODS = [
    method
    for method in FAULT_METHODS
    if method not in ("discovery", "batch") and not method.startswith("oauth.")
]
REFRESH = "oauth.token"

FAULTS = [
    pytest.param(method, fault, repeat, id=f"{method}-{fault_id(fault)}-x{repeat}")
    for method in [*FLOW_METHODS, REFRESH]
    for fault in fault_examples()
    if method == "media" or not Fault.from_json(fault).bends_media
    # Once (a retry passes), and more often than any policy retries (the failure surfaces);
    # an answer that is never retried needs only the once. google-auth retries a refresh
    # with backoff sleeps of its own: once is enough there (the refresh tests below script
    # the token endpoint's answers that never pass).
    for repeat in ((1, 9) if fault.get("status") in RETRIED and method != REFRESH else (1,))
]


def test_every_fault_field_is_exercised() -> None:
    names = {spec.name for spec in dataclasses.fields(Fault)}
    covered = {name for example in fault_examples() for name in example}
    assert names == covered


# -- the flow ------------------------------------------------------------------------------------


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(clock=FakeClock(datetime.now(timezone.utc)), library_size=6) as running:
        yield running


def run_flow(
    emu: Emulator,
    client: PickerClient,
    folder: Path,
    before: Callable[[str], None] = lambda session_id: None,
) -> list[str]:
    """Every call of the flow, each allowed to fail; returns all the text the run produced."""
    texts: list[str] = []

    def attempt(call: Callable[[], Any]) -> Any:
        try:
            result = call()
        except Exception as exc:  # every failure is inspected, none is expected
            texts.extend(exception_texts(exc))
            return None
        texts.append(repr(result))
        return result

    session = attempt(client.create_session)
    session_id = session.id if session is not None else "no-such-session"
    before(session_id)

    def pick(state: Any) -> None:
        if not state.media_items_set:
            attempt(lambda: emu.pick(session_id, first=3))

    attempt(lambda: client.wait_for_selection(session_id, timeout=60, on_poll=pick))
    attempt(lambda: client.get_session(session_id))
    attempt(lambda: client.list_media_items(session_id, page_size=2))
    result = attempt(
        lambda: client.download_session(
            session_id, folder, media_hosts=[emu.media_url.rstrip("/")], workers=2
        )
    )
    if result is not None:
        for failed in result.failed:
            texts.append(failed.reason)
            texts.extend(exception_texts(failed.error))
        if result.listing_error is not None:
            texts.extend(exception_texts(result.listing_error))
    attempt(lambda: client.delete_session(session_id))
    attempt(lambda: client.delete_session(session_id))
    return texts


def make_client(emu: Emulator, refresh_token: str, **kwargs: Any) -> PickerClient:
    return PickerClient(
        credentials=kwargs.pop("credentials", None)
        or credentials(emu.token_uri, refresh_token=refresh_token),
        client_options={"api_endpoint": emu.url},
        clock=FakeClock(datetime.now(timezone.utc)),
        retry=RetryPolicy(max_attempts=3),
        **kwargs,
    )


def assert_nothing_leaked(
    texts: list[str], every_log: Everything, capfd: pytest.CaptureFixture[str]
) -> None:
    out, err = capfd.readouterr()
    assert every_log.count > 0, "the log capture saw nothing: the test would prove nothing"
    for where, text in [("stderr", err), ("stdout", out)] + [
        ("a log record", t) for t in every_log.texts
    ]:
        assert not leaked(text), f"{leaked(text)} in {where}:\n{text[:3000]}"
    for text in texts:
        assert not leaked(text), f"{leaked(text)} in an exception or result:\n{text[:3000]}"


@pytest.mark.parametrize(("method", "fault", "repeat"), FAULTS)
def test_no_token_leaks_under_a_scripted_fault(
    emu: Emulator,
    every_log: Everything,
    capfd: pytest.CaptureFixture[str],
    tmp_path: Path,
    method: str,
    fault: dict[str, Any],
    repeat: int,
) -> None:
    refresh_token = sign_in(emu)
    emu.set_faults(method, [fault] * repeat)
    token = None if method == REFRESH else ACCESS_TOKEN  # no token yet: refresh first
    creds = credentials(emu.token_uri, token=token, refresh_token=refresh_token)
    texts = run_flow(emu, make_client(emu, refresh_token, credentials=creds), tmp_path)
    assert emu.attempts(method), f"the flow never reached {method}"
    note_issued(emu)
    assert_nothing_leaked(texts, every_log, capfd)


def _expire_base_urls(emu: Emulator, session_id: str) -> None:
    emu.pick(session_id, first=3)
    emu.backend.list_media_items(ACCESS_TOKEN, session_id)
    emu.expire_base_urls(session_id)


STATE_FAULTS: dict[str, Callable[[Emulator, str], object]] = {
    "expired-session": lambda emu, sid: emu.expire_session(sid),
    "expired-base-urls": _expire_base_urls,
    "no-picker-scope": lambda emu, sid: emu.seed_library(ACCESS_TOKEN, has_picker_scope=False),
    "no-photos-account": lambda emu, sid: emu.seed_library(ACCESS_TOKEN, has_photos_account=False),
    "session-gone": lambda emu, sid: emu.backend.delete_session(ACCESS_TOKEN, sid),
}


@pytest.mark.parametrize("name", sorted(STATE_FAULTS))
def test_no_token_leaks_when_the_state_goes_wrong(
    emu: Emulator,
    every_log: Everything,
    capfd: pytest.CaptureFixture[str],
    tmp_path: Path,
    name: str,
) -> None:
    refresh_token = sign_in(emu)
    change = STATE_FAULTS[name]

    def before(session_id: str) -> None:
        with contextlib.suppress(KeyError, ValueError):  # no session to change
            change(emu, session_id)

    if name == "no-photos-account":  # refuses sessions.create: set up before it
        change(emu, "")
    texts = run_flow(emu, make_client(emu, refresh_token), tmp_path, before)
    note_issued(emu)
    assert_nothing_leaked(texts, every_log, capfd)


@pytest.mark.parametrize("mode", ["ok", "invalid_grant", "echo", "html", "drop"])
@pytest.mark.parametrize("method", [*FLOW_METHODS, "no-token-yet"])
def test_no_token_leaks_when_refreshing(
    emu: Emulator,
    every_log: Everything,
    capfd: pytest.CaptureFixture[str],
    tmp_path: Path,
    mode: str,
    method: str,
) -> None:
    """A 401 to ``method`` (or credentials with no access token yet) makes google-auth refresh
    the token, on an API call or a download; the token endpoint then answers as ``mode``: a
    new token, invalid_grant (the grant was revoked), or a scripted hostile or broken answer."""
    refresh_token = sign_in(emu)
    if mode == "invalid_grant":
        revoke = urllib.parse.urlencode({"token": refresh_token}).encode()
        urllib.request.urlopen(emu.revoke_uri, revoke, timeout=10).close()
    emu.set_faults(REFRESH, token_faults(mode, refresh_token))
    token = None if method == "no-token-yet" else ACCESS_TOKEN
    creds = credentials(emu.token_uri, token=token, refresh_token=refresh_token)
    if method != "no-token-yet":
        emu.set_faults(method, [401])
    texts = run_flow(emu, make_client(emu, refresh_token, credentials=creds), tmp_path)
    assert emu.attempts(REFRESH), "the token was never refreshed"
    note_issued(emu)
    if mode == "ok":
        assert len(ISSUED) > 2, "no new access token was issued"
    assert_nothing_leaked(texts, every_log, capfd)


def test_the_capture_would_see_a_leak(
    every_log: Everything, capfd: pytest.CaptureFixture[str]
) -> None:
    """The checks above can fail: a token logged at DEBUG anywhere is caught."""
    logging.getLogger("googleapiclient.somewhere").debug("header %s", ACCESS_TOKEN)
    with pytest.raises(AssertionError, match="in a log record"):
        assert_nothing_leaked([], every_log, capfd)
    assert leaked(io.StringIO(f"x{REFRESH_TOKEN[:30]}").getvalue())


# -- the command line, as a process, with every logger at DEBUG ---------------------------------

DEBUG_CLI = """
import logging, os, sys

import google.auth.transport.requests


class Everything(logging.Formatter):
    def format(self, record):
        return super().format(record) + " " + repr(vars(record))


handler = logging.StreamHandler()
handler.setFormatter(Everything("%(levelname)s %(name)s: %(message)s"))
logging.basicConfig(level=logging.DEBUG, handlers=[handler])
google_logger = logging.getLogger("google")
google_logger.setLevel(logging.DEBUG)
google_logger.addHandler(handler)
google_logger.propagate = False

# A stored token always refreshes at Google's endpoint: send that to the test's loopback one.
send = google.auth.transport.requests.Request.__call__


def to_loopback(self, url, *args, **kwargs):
    if url == "https://oauth2.googleapis.com/token":
        url = os.environ["TEST_TOKEN_URI"]
    return send(self, url, *args, **kwargs)


google.auth.transport.requests.Request.__call__ = to_loopback
from picker_discovery import _cli as cli

sys.exit(cli.main(sys.argv[1:]))
"""


def run_cli(
    emu: Emulator, *argv: str, token: str | None = ACCESS_TOKEN, token_uri: str = ""
) -> tuple[int, str]:
    """Run the command line with DEBUG logging everywhere; its exit code, stdout and stderr."""
    env = {k: v for k, v in os.environ.items() if k != cli.TOKEN_ENV}
    env.update({cli.ENDPOINT_ENV: emu.url, cli.MEDIA_HOSTS_ENV: emu.media_url.rstrip("/")})
    env["TEST_TOKEN_URI"] = token_uri
    if token is not None:
        env[cli.TOKEN_ENV] = token
    done = subprocess.run(
        [sys.executable, "-c", DEBUG_CLI, *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, done.stdout + done.stderr


ECHO = f"you sent Bearer {ACCESS_TOKEN}"


@pytest.mark.parametrize("status", [400, 401])
@pytest.mark.parametrize("method", FLOW_METHODS)
def test_the_command_line_leaks_no_token(tmp_path: Path, method: str, status: int) -> None:
    with Emulator(clock=FakeClock(datetime.now(timezone.utc)), library_size=6) as emu:
        emu.backend.configure(poll_interval="0.1s")
        emu.set_faults(method, [{"status": status, "message": ECHO}] * 9)
        with user_picks(emu, ACCESS_TOKEN, first=3):
            code, output = run_cli(emu, "pick", "--dest", str(tmp_path), "--no-qr", "-v")
        assert emu.attempts(method), output[-2000:]
    assert code != cli.EXIT_OK, "the fault never surfaced"
    assert "DEBUG" in output, "the run logged nothing at DEBUG: the test would prove nothing"
    assert not leaked(output), output[-3000:]


@pytest.mark.parametrize("mode", ["echo", "html", "invalid_grant", "drop"])
def test_the_command_line_leaks_no_token_when_the_stored_one_cannot_be_refreshed(
    tmp_path: Path, mode: str
) -> None:
    """The stored refresh token is one the emulator never issued (invalid_grant), or the
    token endpoint answers a scripted hostile or broken answer."""
    path = tmp_path / "token.json"
    with Emulator(clock=FakeClock(datetime.now(timezone.utc)), library_size=6) as emu:
        emu.register_client(CLIENT_ID, CLIENT_SECRET, redirect_uris=[REDIRECT])
        emu.set_faults(REFRESH, token_faults(mode, REFRESH_TOKEN))
        stored = credentials(emu.token_uri)
        stored.expiry = datetime(2000, 1, 1)
        auth.save_credentials(stored, path)
        argv = ["sessions", "create", "-v", "--token-file", str(path)]
        code, output = run_cli(emu, *argv, token=None, token_uri=emu.token_uri)
        assert emu.attempts(REFRESH), output[-2000:]
    assert code in (cli.EXIT_AUTH, cli.EXIT_FAILED), output[-2000:]
    assert "DEBUG" in output
    assert not leaked(output), output[-3000:]


def test_no_token_leaks_through_a_redirect_loop(
    emu: Emulator,
    every_log: Everything,
    capfd: pytest.CaptureFixture[str],
) -> None:
    """An endpoint that redirects to itself forever, repeating the token in each body and in
    the Location: httplib2 gives up with an error carrying the last answer."""
    loop = Fault(
        redirect=f"/v1/sessions/some-session?echo={ACCESS_TOKEN}",
        body=f"moved; you sent Bearer {ACCESS_TOKEN}",
        content_type="text/plain",
    )
    emu.set_faults("sessions.get", [loop] * 50)
    client = PickerClient(
        credentials=google.oauth2.credentials.Credentials(token=ACCESS_TOKEN),
        client_options={"api_endpoint": emu.url},
        clock=FakeClock(datetime.now(timezone.utc)),
        retry=RetryPolicy(max_attempts=2),
    )
    with pytest.raises(Exception) as caught:
        client.get_session("some-session")
    assert "redirect" in str(caught.value).lower()
    assert_nothing_leaked(exception_texts(caught.value), every_log, capfd)
