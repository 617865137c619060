"""The emulator's control API as a test reaches it: over HTTP, as a user's script would."""

from __future__ import annotations

import http.client
import json
from collections.abc import Mapping
from typing import Any

from picker_discovery.testing import Emulator


def post_faults(emu: Emulator, body: Mapping[str, Any]) -> tuple[int, Any]:
    """POST ``body`` to ``/_control/faults``; the status and the parsed answer."""
    conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=10)
    try:
        conn.request(
            "POST",
            "/_control/faults",
            body=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        answer = conn.getresponse()
        return answer.status, json.loads(answer.read())
    finally:
        conn.close()


def post_control(emu: Emulator, action: str, body: Mapping[str, Any]) -> Any:
    """POST ``body`` to ``/_control/<action>`` and return the parsed answer (raising on an
    error status), as a test in another process would drive the emulator."""
    conn = http.client.HTTPConnection("127.0.0.1", emu.port, timeout=10)
    try:
        conn.request(
            "POST",
            f"/_control/{action}",
            body=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        answer = conn.getresponse()
        data = json.loads(answer.read())
        if answer.status != 200:
            raise AssertionError(f"/_control/{action} answered {answer.status}: {data}")
        return data
    finally:
        conn.close()
