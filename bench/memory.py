"""Memory: peak resident memory while downloading a 1 GiB video, ours against a whole-body loop.

The emulator (in a child process) holds one READY video of ``--size`` bytes (1 GiB); a session
picks it. Each side then runs in a fresh Python process of its own that reads its resident size
(``VmRSS``) once set up, downloads the video into a temporary folder, and reads its peak
(``VmHWM``, the high-water mark) at the end; the growth is the peak minus the starting size.
Ours is ``picker_discovery._media.pool.Downloader`` (streaming to disk; target: grows by less than
64 MiB), and ``AsyncPickerClient.download`` (httpx on the event loop, the same target); theirs
reads the body whole with ``requests`` and writes it, the common peer pattern.

    .venv/bin/python bench/memory.py --size 1073741824
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import _common
import _media

TARGET_MIB = 64


def status_kib(field: str) -> int:
    """A ``kB`` field of /proc/self/status, such as VmRSS or VmHWM."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field}")


def child(side: str, api_url: str, sid: str, item: dict[str, Any]) -> None:
    """Run one side in this process; print its memory figures as JSON."""
    folder = Path(tempfile.mkdtemp(prefix="picker-bench-memory-"))
    try:
        start = status_kib("VmRSS")
        if side == "loop":
            written = _media.whole_body_loop([item], folder)
        elif side == "async":
            written = _media.our_async_download(api_url, [item], folder)
        else:
            written = _media.our_download([item], folder)
        peak = status_kib("VmHWM")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps({"start_kib": start, "peak_kib": peak, "written": written}))


def run_child(side: str, api_url: str, sid: str, item: dict[str, Any]) -> dict[str, int]:
    command = [sys.executable, __file__, "--child", side, api_url, sid, json.dumps(item)]
    out = subprocess.run(command, check=True, capture_output=True, text=True)
    result: dict[str, int] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size", type=int, default=1024 * _media.MiB, help="video bytes")
    parser.add_argument("--child", nargs=4, metavar=("SIDE", "API", "SESSION", "ITEM"))
    args = parser.parse_args()
    if args.child:
        side, api_url, sid, item = args.child
        child(side, api_url, sid, json.loads(item))
        return
    sides = ["ours", "async", "loop"]
    growth: dict[str, float] = {}
    peaks: dict[str, float] = {}
    with _media.emulator_process(1, args.size, "video") as api_url:
        sid, items = _media.picked_session(api_url)
        for side in sides:
            result = run_child(side, api_url, sid, items[0])
            if result["written"] != args.size:
                raise SystemExit(f"{side} wrote {result['written']} bytes, not {args.size}")
            growth[side] = (result["peak_kib"] - result["start_kib"]) / 1024
            peaks[side] = result["peak_kib"] / 1024
    _common.note(
        f"memory: one {args.size / _media.MiB:.0f} MiB video, each side in its own process; "
        "growth = peak VmHWM - VmRSS before the download; peaks: "
        + ", ".join(f"{side} {peak:.0f} MiB" for side, peak in peaks.items())
    )
    label = f"peak RSS growth, {args.size / _media.MiB:.0f} MiB video"
    _common.figure(
        label,
        growth["ours"],
        growth["loop"],
        "MiB",
        ours_label="Downloader",
        theirs_label="whole-body loop",
        target=f"< {TARGET_MIB} MiB",
        met=_common.verdict(growth["ours"], None, TARGET_MIB - 1e-9),
        precision=1,
    )
    _common.figure(
        label,
        growth["async"],
        growth["loop"],
        "MiB",
        ours_label="AsyncPickerClient.download",
        theirs_label="whole-body loop",
        target=f"< {TARGET_MIB} MiB",
        met=_common.verdict(growth["async"], None, TARGET_MIB - 1e-9),
        precision=1,
    )


if __name__ == "__main__":
    main()
