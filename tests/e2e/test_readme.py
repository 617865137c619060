"""The README's command blocks and quickstarts, run as written in a fresh virtual environment
installed from the wheel, against the emulator (which stands in for Google: its OAuth server
signs the person in, its picking page is "picked" by a thread of this test).

Each ```sh block is run by bash, each quickstart ```python block by the environment's python.
The stand-ins are environment variables only: ``PICKER_DISCOVERY_ENDPOINT`` and
``PICKER_DISCOVERY_MEDIA_HOSTS`` (which the README documents), ``BROWSER`` (a person who
presses Allow on the consent page) and ``OAUTHLIB_INSECURE_TRANSPORT`` (the emulator's OAuth
endpoints are plain http on loopback). The emulator block's fixed ports are swapped for free
ones, so that parallel runs cannot collide.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from picker_discovery.testing import Emulator
from tests.e2e import readme_venv

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
# Every extra the README's install lines name.
EXTRAS = ("cli", "login", "testing")
CLONE_INSTALL = "pip install '.[cli,login]'"


@dataclass(frozen=True)
class Block:
    heading: str
    language: str
    text: str


def readme_blocks() -> list[Block]:
    blocks: list[Block] = []
    heading = ""
    lines = iter(README.read_text("utf-8").splitlines())
    for line in lines:
        if line.startswith("#"):
            heading = line.lstrip("#").strip()
        elif line.startswith("```") and line[3:].strip():
            body: list[str] = []
            for inner in lines:
                if inner.startswith("```"):
                    break
                body.append(inner)
            blocks.append(Block(heading, line[3:].strip(), "\n".join(body) + "\n"))
    return blocks


def command_blocks() -> list[Block]:
    """The blocks a reader runs: every shell block, and the quickstarts' Python."""
    return [
        b
        for b in readme_blocks()
        if b.language == "sh" or (b.language == "python" and "quickstart" in b.heading.lower())
    ]


def only_make(block: Block) -> bool:
    """A block of ``make`` targets (the clone's workflow: ``make test`` runs it, and the web
    app's ``make webapp`` is a server its own tests drive)."""
    commands = [line.split("#")[0].strip() for line in block.text.splitlines()]
    # Leading VAR=value words set the environment of the command after them.
    commands = [re.sub(r"^(\w+=\S*\s+)*", "", c) for c in commands]
    return all(not c or c.startswith("make ") for c in commands)


CONSENT = """
import os, sys, urllib.parse, urllib.request
url = sys.argv[1]
if os.fork():  # the browser returns at once, as a real one does
    sys.exit(0)
parts = urllib.parse.urlsplit(url)
params = urllib.parse.parse_qsl(parts.query)
scopes = dict(params)["scope"].split()
form = params + [("user", "alice@example.com"), ("action", "allow")]
form += [("grant", scope) for scope in scopes]
page = urllib.parse.urlunsplit(parts._replace(query=""))
with open(os.environ["CONSENT_LOG"], "a") as log:
    log.write(url + "\\n")
# Allow, then follow the redirect to the command's loopback server, as a browser does.
urllib.request.urlopen(page, urllib.parse.urlencode(form).encode(), timeout=30).read()
"""


@dataclass
class World:
    emulator: Emulator
    venv: Path
    work: Path
    env: dict[str, str]


@pytest.fixture(scope="module")
def world(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("readme")
    farm = readme_venv.link_farm(root / "deps", readme_venv.requirement_closure(EXTRAS))
    venv = readme_venv.make_venv(root / "venv", farm)
    work = root / "work"
    work.mkdir()
    consent = root / "consent.py"
    consent.write_text(CONSENT)
    with Emulator(poll_interval="0.2s") as emulator:
        secrets = emulator.register_client(redirect_uris=["http://localhost"], kind="installed")
        (work / "client_secret.json").write_text(json.dumps(secrets))
        env = readme_venv.venv_environment(venv, root / "home", wheel.parent)
        env.update(
            PICKER_DISCOVERY_ENDPOINT=emulator.url,
            PICKER_DISCOVERY_MEDIA_HOSTS=emulator.media_url.rstrip("/"),
            BROWSER=f"{shlex.quote(sys.executable)} {shlex.quote(str(consent))} %s",
            CONSENT_LOG=str(root / "consent.log"),
            OAUTHLIB_INSECURE_TRANSPORT="1",
        )
        yield World(emulator, venv, work, env)


class Picker:
    """A person who picks the first items of every new session as soon as it exists."""

    def __init__(self, sessions: Callable[[], list[str]], pick: Callable[[str], object]) -> None:
        self._sessions, self._pick = sessions, pick
        self.picked: list[str] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            try:
                for session_id in self._sessions():
                    if session_id not in self.picked:
                        self._pick(session_id)
                        self.picked.append(session_id)
            except OSError as exc:  # the emulator is not listening yet
                self.errors.append(repr(exc))

    def __enter__(self) -> Picker:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)


def in_process_picker(emulator: Emulator) -> Picker:
    return Picker(
        lambda: [s.id for s in emulator.backend.sessions() if not s.media_items_set],
        lambda session_id: emulator.pick(session_id, first=3),
    )


def control_picker(api: str) -> Picker:
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: no proxy

    def post(path: str, body: dict[str, object]) -> object:
        request = urllib.request.Request(
            api + path, json.dumps(body).encode(), {"content-type": "application/json"}
        )
        with direct.open(request, timeout=10) as answer:
            return json.load(answer)

    def sessions() -> list[str]:
        with direct.open(api + "_control/sessions", timeout=10) as answer:
            found = json.load(answer)["sessions"]
        return [s["id"] for s in found if not s.get("mediaItemsSet")]

    return Picker(
        sessions, lambda session_id: post("_control/pick", {"session_id": session_id, "first": 3})
    )


def run_sh(block: Block, world: World, *, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    """Run a block as a reader's shell would: line by line, stopping at the first failure.

    Output goes to files, not pipes: a server the block started in the background keeps its
    output open. The block's process group is ended afterwards, so that server stops too.
    """
    out_path, err_path = world.work / ".out", world.work / ".err"
    with out_path.open("w") as out, err_path.open("w") as err:
        process = subprocess.Popen(
            ["bash", "-e", "-c", block.text],
            cwd=world.work,
            env=world.env,
            stdout=out,
            stderr=err,
            text=True,
            start_new_session=True,
        )
        try:
            process.wait(timeout=timeout)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=10)
    return subprocess.CompletedProcess(
        process.args, process.returncode, out_path.read_text(), err_path.read_text()
    )


def the_block(heading: str, language: str = "sh") -> Block:
    """The first block of that language under that heading."""
    return next(b for b in command_blocks() if b.heading == heading and b.language == language)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_every_command_block_is_run_here() -> None:
    """A block added to the README is run by this module, or this test says which is not."""
    run_here = {
        ("Library quickstart", "python"),
        ("Sessions a killed process left behind", "sh"),
        ("Command line quickstart", "sh"),
    }
    emulator_block = [b for b in command_blocks() if "picker-discovery emulator" in b.text]
    assert len(emulator_block) == 1
    others = [
        b
        for b in command_blocks()
        if (b.heading, b.language) not in run_here and b not in emulator_block and not only_make(b)
    ]
    assert others == [], "README command blocks no test runs"


def test_the_command_line_and_library_quickstarts_run_as_written(world: World) -> None:
    quickstart = the_block("Command line quickstart")
    with in_process_picker(world.emulator) as person:
        result = run_sh(quickstart, world)
    assert result.returncode == 0, result.stderr
    assert "signed in; token stored at" in result.stdout
    token_file = Path(world.env["XDG_CONFIG_HOME"], "picker-discovery", "token.json")
    assert token_file.stat().st_mode & 0o777 == 0o600
    assert len(person.picked) == 1
    assert len(list((world.work / "photos").iterdir())) >= 3
    assert "downloaded 3 file(s) into photos" in result.stdout
    installed = subprocess.run(
        [str(world.venv / "bin" / "python"), "-c", "import picker_discovery; print(picker_discovery.__file__)"],
        cwd=world.work, env=world.env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert Path(installed.stdout.strip()).is_relative_to(world.venv)

    # The library quickstart, with the token the command line stored.
    library = the_block("Library quickstart", "python")
    with in_process_picker(world.emulator) as person:
        ran = subprocess.run(
            [str(world.venv / "bin" / "python", ), "-c", library.text],
            cwd=world.work, env=world.env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    lines = ran.stdout.splitlines()
    assert lines[0].startswith(f"Pick your photos at {world.emulator.url}pick/")
    assert len(lines) == 4 and all(
        " MediaType." in line or "PHOTO" in line or "VIDEO" in line for line in lines[1:]
    )
    assert world.emulator.backend.sessions() == []  # both deleted their sessions

    cleanup = run_sh(the_block("Sessions a killed process left behind"), world)
    assert cleanup.returncode == 0, cleanup.stderr
    assert "no leftover sessions" in cleanup.stdout


def test_the_emulator_block_runs_as_written(world: World) -> None:
    [block] = [b for b in command_blocks() if "picker-discovery emulator" in b.text]
    api_port, media_port = free_port(), free_port()
    text = block.text.replace("8080", str(api_port)).replace("8081", str(media_port))
    assert text != block.text
    with control_picker(f"http://127.0.0.1:{api_port}/") as person:
        result = run_sh(Block(block.heading, "sh", text), world)
    assert result.returncode == 0, (result.stderr, person.errors[-3:])
    assert len(person.picked) == 1
    assert len(list((world.work / "picked").iterdir())) >= 3


def test_the_install_line_works_from_a_clone(tmp_path: Path, wheel: Path) -> None:
    quickstart = the_block("Command line quickstart")
    assert CLONE_INSTALL in quickstart.text
    clone = tmp_path / "clone"
    files = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, files):
        target = clone / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if (ROOT / name).is_file():
            shutil.copy2(ROOT / name, target)
    dists = readme_venv.requirement_closure(("cli", "login"), "setuptools", "wheel")
    farm = readme_venv.link_farm(tmp_path / "deps", dists)
    venv = readme_venv.make_venv(tmp_path / "venv", farm)
    env = readme_venv.venv_environment(venv, tmp_path / "home", wheel.parent)
    env["PIP_FIND_LINKS"] = str(tmp_path / "nowhere")
    installed = subprocess.run(
        ["bash", "-e", "-c", CLONE_INSTALL + "\npicker-discovery --help"],
        cwd=clone, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    assert "picker-discovery" in installed.stdout
    assert re.search(r"\blogin\b", installed.stdout)
