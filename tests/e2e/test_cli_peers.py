"""What users of gh, gcloud and rclone expect, through real processes against the emulator:
``sessions wait``, ``pick --session``, ``items download``, ``--page-size``, ``pick --dry-run``,
several signed-in accounts (``--account``) and ``login --no-browser --port``."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import google.oauth2.credentials
import pytest

from picker_discovery import _auth as auth, _cli as cli
from picker_discovery.testing import Emulator
from tests.waiting import wait_until

TOKEN = "peer-user"


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(poll_interval="0.2s") as running:
        yield running


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "config").mkdir()
    return tmp_path


def environment(emulator: Emulator, home: Path, token: str | None = TOKEN) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("PICKER_DISCOVERY_") and "PROXY" not in key.upper()
    }
    env.update(
        {
            cli.ENDPOINT_ENV: emulator.url,
            cli.MEDIA_HOSTS_ENV: emulator.media_url.rstrip("/"),
            "PICKER_DISCOVERY_JOURNAL": "off",
            "XDG_CONFIG_HOME": str(home / "config"),
            "OAUTHLIB_INSECURE_TRANSPORT": "1",
        }
    )
    if token:
        env[cli.TOKEN_ENV] = token
    return env


def run(
    env: dict[str, str], *args: str, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "picker_discovery", *args],
        env=env, input=input, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def start(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "picker_discovery", *args],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def create(env: dict[str, str]) -> str:
    made = run(env, "sessions", "create", "--json")
    assert made.returncode == 0, made.stderr
    return str(json.loads(made.stdout)["id"])


def test_sessions_wait_returns_once_picked(emulator: Emulator, home: Path) -> None:
    env = environment(emulator, home)
    session_id = create(env)
    waiting = start(env, "sessions", "wait", session_id, "--json")
    wait_until(lambda: emulator.attempts("sessions.get"), what="the first poll")
    emulator.pick(session_id, first=2)
    out, err = waiting.communicate(timeout=60)
    assert waiting.returncode == 0, err
    assert json.loads(out)["mediaItemsSet"] is True
    # ... and ends with 5 when the wait runs out.
    other = create(env)
    timed_out = run(env, "sessions", "wait", other, "--timeout", "0.5")
    assert timed_out.returncode == cli.EXIT_TIMEOUT
    assert other in timed_out.stderr


def test_pick_resumes_a_session_made_earlier(emulator: Emulator, home: Path) -> None:
    env = environment(emulator, home)
    session_id = create(env)
    picking = start(env, "pick", "--session", session_id, "--dest", str(home / "photos"), "--json")
    wait_until(lambda: emulator.attempts("sessions.get"), what="pick to read the session")
    assert len(emulator.backend.sessions(TOKEN)) == 1  # no second session
    emulator.pick(session_id, first=3)
    out, err = picking.communicate(timeout=60)
    assert picking.returncode == 0, err
    summary = json.loads(out.splitlines()[-1])
    assert summary["session"] == session_id and len(summary["downloaded"]) == 3
    assert emulator.backend.sessions(TOKEN) == []  # deleted at the end, as pick does
    gone = run(env, "pick", "--session", session_id, "--dest", str(home / "more"))
    assert gone.returncode == cli.EXIT_NOT_FOUND
    assert session_id in gone.stderr


def test_items_download_a_session_one_item_to_stdout_or_a_file(
    emulator: Emulator, home: Path
) -> None:
    env = environment(emulator, home)
    session_id = create(env)
    emulator.pick(session_id, first=3)
    items = json.loads(run(env, "items", "list", session_id, "--json").stdout)
    photo = next(i for i in items if i["type"] == "PHOTO")

    everything = run(env, "items", "download", session_id, "--dest", str(home / "all"), "--json")
    assert everything.returncode == 0, everything.stderr
    assert len(json.loads(everything.stdout)["downloaded"]) == 3

    to_stdout = subprocess.run(
        [sys.executable, "-m", "picker_discovery", "items", "download", session_id, "--item",
         photo["id"], "-o", "-"],
        env=env, capture_output=True, timeout=60,
    )  # fmt: skip
    assert to_stdout.returncode == 0, to_stdout.stderr
    saved = [p for p in (home / "all").iterdir() if not p.name.startswith(".")]
    assert to_stdout.stdout in {p.read_bytes() for p in saved}
    assert len(to_stdout.stdout) > 1000

    target = home / "one.jpg"
    to_file = run(env, "items", "download", session_id, "--item", photo["id"], "-o", str(target))
    assert to_file.returncode == 0, to_file.stderr
    assert target.read_bytes() == to_stdout.stdout
    assert sorted(p.name for p in home.iterdir()) == ["all", "config", "one.jpg"]  # no leftovers
    again = run(env, "items", "download", session_id, "--item", photo["id"], "-o", str(target))
    assert again.returncode == cli.EXIT_USAGE and "exists" in again.stderr

    missing = run(env, "items", "download", session_id, "--item", "no-such-item", "-o", "-")
    assert missing.returncode == cli.EXIT_NOT_FOUND
    assert f"items list {session_id}" in missing.stderr
    no_item = run(env, "items", "download", session_id, "-o", "x.jpg")
    assert no_item.returncode == cli.EXIT_USAGE and "--item" in no_item.stderr


def test_page_size_is_what_items_list_asks_for(emulator: Emulator, home: Path) -> None:
    env = environment(emulator, home)
    session_id = create(env)
    emulator.pick(session_id, first=5)
    listed = run(env, "items", "list", session_id, "--page-size", "2", "--json")
    assert listed.returncode == 0, listed.stderr
    assert len(json.loads(listed.stdout)) == 5
    pages = emulator.attempts("mediaItems.list")
    assert len(pages) == 3 and all("pageSize=2" in a.path for a in pages)
    assert run(env, "items", "list", session_id, "--page-size", "101").returncode == 2


def test_pick_dry_run_checks_everything_and_sends_nothing(emulator: Emulator, home: Path) -> None:
    env = environment(emulator, home)
    dry = run(env, "pick", "--dry-run", "--dest", str(home / "photos"), "--max-items", "5")
    assert dry.returncode == 0, dry.stderr
    assert "dry run: would create a session for at most 5 items" in dry.stdout
    assert "nothing was sent" in dry.stdout
    assert emulator.attempts() == []
    wrong = run(env, "pick", "--dry-run", "--dest", "/proc/no-such-place")
    assert wrong.returncode != 0 and "--dest" in wrong.stderr
    assert emulator.attempts() == []


def store_token(home: Path, account: str | None, token: str, token_uri: str | None = None) -> None:
    os.environ["XDG_CONFIG_HOME"] = str(home / "config")
    try:
        path = auth.token_path(account)
        credentials = google.oauth2.credentials.Credentials(
            token=token,
            refresh_token="refresh",
            client_id="id",
            client_secret="secret",
            token_uri=token_uri,
            # google-auth's naive UTC: valid for a day, so never refreshed here
            expiry=datetime.now(timezone.utc).replace(tzinfo=None) + timedelta(days=1),
        )
        auth.save_credentials(credentials, path)
    finally:
        del os.environ["XDG_CONFIG_HOME"]


def test_several_accounts_each_with_its_own_token(emulator: Emulator, home: Path) -> None:
    store_token(home, None, "home-token")
    store_token(home, "work", "work-token")
    env = environment(emulator, home, token=None)
    assert run(env, "sessions", "create", "--account", "work").returncode == 0
    assert run(env, "sessions", "create").returncode == 0
    assert len(emulator.backend.sessions("work-token")) == 1
    assert len(emulator.backend.sessions("home-token")) == 1
    assert (home / "config/picker-discovery/accounts/work.json").exists()
    absent = run(env, "sessions", "create", "--account", "play")
    assert absent.returncode == cli.EXIT_AUTH
    assert "--account play" in absent.stderr and "default, work" in absent.stderr
    bad = run(env, "sessions", "create", "--account", "../../etc")
    assert bad.returncode == cli.EXIT_USAGE and "--account" in bad.stderr
    both = run(env, "sessions", "create", "--account", "work", "--token-file", "x")
    assert both.returncode == cli.EXIT_USAGE
    out = run(env, "logout", "--account", "work")
    assert (
        out.returncode == 0 and not (home / "config/picker-discovery/accounts/work.json").exists()
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_login_without_a_browser_waits_on_the_port_it_was_given(
    emulator: Emulator, home: Path
) -> None:
    """For SSH: the link is printed, the browser elsewhere comes back through a forwarded
    --port to the loopback server login keeps waiting on."""
    secrets = home / "client_secret.json"
    config = emulator.register_client(redirect_uris=["http://localhost"], kind="installed")
    secrets.write_text(json.dumps(config))
    port = free_port()
    env = environment(emulator, home, token=None)
    env["BROWSER"] = "false"  # any browser started would fail the sign-in
    login = start(
        env, "login", "--client-secrets", str(secrets), "--no-browser", "--port", str(port),
        "--account", "laptop",
    )  # fmt: skip
    assert login.stderr is not None
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(login.stderr or []), daemon=True)
    reader.start()
    url: str = wait_until(
        lambda: next((line.strip() for line in lines if "/o/oauth2/v2/auth?" in line), ""),
        what="the sign-in link",
    )
    assert f"redirect_uri=http%3A%2F%2Flocalhost%3A{port}%2F" in url
    back = emulator.authorize(url)
    assert back.startswith(f"http://localhost:{port}/?")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    opener.open(back, timeout=10).read()
    assert login.wait(timeout=60) == 0, "".join(lines)
    reader.join(10)
    assert login.stdout is not None
    out = login.stdout.read()
    assert "--account laptop" in out
    assert (home / "config/picker-discovery/accounts/laptop.json").exists()
    assert re.search(r"token stored at .*laptop\.json", out)


def test_login_remote_takes_the_pasted_address(emulator: Emulator, home: Path) -> None:
    """``login --remote``: the link is printed; the address the browser ends on (a page that
    never loads, on the person's own machine) is pasted on stdin; the token is stored."""
    secrets = home / "client_secret.json"
    config = emulator.register_client(redirect_uris=["http://localhost"], kind="installed")
    secrets.write_text(json.dumps(config))
    env = environment(emulator, home, token=None)
    login = subprocess.Popen(
        [sys.executable, "-m", "picker_discovery", "login", "--client-secrets", str(secrets),
         "--remote", "--json"],
        env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    assert login.stderr is not None and login.stdin is not None
    seen: list[str] = []  # stderr, a character at a time: the prompt ends with no newline
    reader = threading.Thread(
        target=lambda: seen.extend(iter(lambda: login.stderr.read(1) if login.stderr else "", "")),
        daemon=True,
    )
    reader.start()
    prompt = "paste here the address your browser ends on"
    wait_until(lambda: prompt in "".join(seen), what="the prompt")
    [url] = [w for w in "".join(seen).split() if "/o/oauth2/v2/auth?" in w]
    login.stdin.write(emulator.authorize(url) + "\n")
    login.stdin.flush()
    login.stdin.close()
    assert login.wait(timeout=60) == 0, "".join(seen)
    reader.join(10)
    assert login.stdout is not None
    out = login.stdout.read()
    stored = Path(json.loads(out)["token_file"])
    assert stored == home / "config/picker-discovery/token.json"
    token = json.loads(stored.read_text())["token"]
    issued = emulator.backend.oauth.lookup(token, emulator.backend.now())
    assert issued is not None and issued.email == "alice@example.com"


def test_login_remote_refuses_an_address_from_elsewhere(emulator: Emulator, home: Path) -> None:
    secrets = home / "client_secret.json"
    secrets.write_text(json.dumps(emulator.register_client(kind="installed")))
    env = environment(emulator, home, token=None)
    login = run(
        env, "login", "--client-secrets", str(secrets), "--remote",
        input="http://localhost:8085/?code=stolen&state=not-this-one\n",
    )  # fmt: skip
    assert login.returncode == cli.EXIT_USAGE
    assert "another sign-in" in login.stderr and login.stderr.count("error:") == 1
    assert emulator.attempts("oauth.token") == []
    empty = run(env, "login", "--client-secrets", str(secrets), "--remote", input="")
    assert empty.returncode != 0 and "nothing was pasted" in empty.stderr
