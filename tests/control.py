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
