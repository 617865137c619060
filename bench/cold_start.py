"""Cold start: a new process that imports picker_discovery and builds the service (and one that
runs ``picker-discovery --help``) against one that only imports ``googleapiclient.discovery``,
and a new process that builds a ``PickerClient`` against one that imports googleapiclient and
builds the service with ``build_from_document`` from the same document. For context (no
target), the same two with their first call added, ``sessions.create`` answered by
googleapiclient's ``HttpMockSequence``: what the client imports on first use lands there.

Each run is a fresh interpreter, with byte code compiled beforehand on both sides (ours with
``compileall``, as pip would on install) and one untimed run of each command first.
The sides are interleaved, the order rotating each round; printed are the median wall times
of ``--runs`` runs and the ratio (target: at most 1.10), then the same for CPU time (user +
system, from ``getrusage``), which a busy machine disturbs less. A bare ``python -c pass`` is
timed too, for scale.

    .venv/bin/python bench/cold_start.py --runs 40
"""

from __future__ import annotations

import argparse
import compileall
import resource
import subprocess
import sys
import time
from pathlib import Path

import _common

TARGET = 1.10
BUILD = (
    "import httplib2, picker_discovery; "
    "service = picker_discovery.build(http=httplib2.Http()); "
    "service.sessions().get(sessionId='x')"
)
PLAIN = "import googleapiclient.discovery"
CLIENT = (
    "import httplib2, picker_discovery; "
    "client = picker_discovery.PickerClient(http=httplib2.Http())"
)
PLAIN_BUILT = (
    "import json, httplib2; from googleapiclient.discovery import build_from_document; "
    "document = json.load(open({path!r}, encoding='utf-8')); "
    "service = build_from_document(document, http=httplib2.Http()); "
    "service.sessions(); service.mediaItems()"
)
# The first call, on both sides: one sessions.create answered from memory (no journal file).
ANSWER = (
    "from googleapiclient.http import HttpMockSequence; "
    "answer = HttpMockSequence([({'status': '200'}, "
    '\'{"id": "s1", "pickerUri": "https://photos.google.com/picker/s1", '
    '"expireTime": "2030-01-01T00:00:00Z", '
    '"pollingConfig": {"pollInterval": "5s", "timeoutIn": "1800s"}}\')]); '
)
CLIENT_CALL = (
    ANSWER + "import picker_discovery; "
    "client = picker_discovery.PickerClient(http=answer, journal=False); "
    "assert client.create_session().id == 's1'"
)
PLAIN_CALL = (  # after ANSWER
    "import json; from googleapiclient.discovery import build_from_document; "
    "document = json.load(open({path!r}, encoding='utf-8')); "
    "service = build_from_document(document, http=answer); "
    "assert service.sessions().create(body={{}}).execute()['id'] == 's1'"
)


def commands() -> dict[str, list[str]]:
    python = sys.executable
    script = Path(python).with_name("picker-discovery")
    return {
        "bare": [python, "-c", "pass"],
        "plain": [python, "-c", PLAIN],
        "build": [python, "-c", BUILD],
        "help": [str(script), "--help"],
        "client": [python, "-c", CLIENT],
        "plain-built": [python, "-c", PLAIN_BUILT.format(path=str(_common.DOCUMENT_PATH))],
        "client-call": [python, "-c", CLIENT_CALL],
        "plain-call": [python, "-c", ANSWER + PLAIN_CALL.format(path=str(_common.DOCUMENT_PATH))],
    }


def compile_package() -> None:
    """Byte-compile picker_discovery, as pip does for site-packages on install.

    googleapiclient's byte code was compiled when it was installed; an editable install of ours
    is not, and with ``PYTHONDONTWRITEBYTECODE`` set no run would ever cache it, so every run
    would compile our modules from source and the comparison would be unfair.
    """
    package = Path(__file__).resolve().parent.parent / "picker_discovery"
    compileall.compile_dir(package, quiet=1)


def run_once(command: list[str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of one run of ``command``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="runs of each command (default 30)")
    args = parser.parse_args()
    cmds = commands()
    names = list(cmds)
    compile_package()
    for name in names:
        run_once(cmds[name])  # compile byte code, warm the page cache
    walls: dict[str, list[float]] = {name: [] for name in names}
    cpus: dict[str, list[float]] = {name: [] for name in names}
    for index in range(args.runs):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            wall, cpu = run_once(cmds[name])
            walls[name].append(wall)
            cpus[name].append(cpu)
    wall_ms = {name: _common.median(values) * 1000 for name, values in walls.items()}
    cpu_ms = {name: _common.median(values) * 1000 for name, values in cpus.items()}
    _common.note(
        f"cold start: {args.runs} runs of each command, interleaved (order rotating), after one "
        "untimed run each; median (min-max) ms and per-run ratio; bare interpreter "
        f"({sys.executable} -c pass): {wall_ms['bare']:.1f} ms wall, {cpu_ms['bare']:.1f} ms CPU"
    )
    for name, label, base, base_label in (
        (
            "client",
            "PickerClient built",
            "plain-built",
            "import + build_from_document",
        ),
        ("build", "import picker_discovery + build()", "plain", "import googleapiclient.discovery"),
        ("help", "picker-discovery --help", "plain", "import googleapiclient.discovery"),
    ):
        for kind, values in (("wall", walls), ("CPU", cpus)):
            _common.compare(
                f"cold start {kind}, {label}",
                values[name],
                values[base],
                "ms",
                ours_label="ours",
                theirs_label=base_label,
                scale=1000,
                high=TARGET,
            )
    for kind, values in (("wall", walls), ("CPU", cpus)):
        _common.compare(
            f"cold start {kind}, PickerClient built + first create_session (context, no target)",
            values["client-call"],
            values["plain-call"],
            "ms",
            ours_label="ours",
            theirs_label="build_from_document + sessions().create().execute()",
            scale=1000,
        )


if __name__ == "__main__":
    main()
