"""``sessions.create`` reaches the server exactly once: no redirect is followed, nothing resent.

A create that is sent twice can leave a second session on the user's account, so the client
sends it through :class:`~picker_discovery._execute._SendOnceHttp` (requests, redirects off, no
retries). These tests aim a real client at the emulator, script its answer, and count in the
emulator's attempt log what arrived.
"""

from __future__ import annotations

import google.oauth2.credentials
import pytest

from picker_discovery._client import PickerClient
from picker_discovery.errors import PickerHttpError
from picker_discovery.testing import Emulator, Fault


def arrivals(emu: Emulator) -> list[tuple[str, str]]:
    """``(method, path)`` of every API request that reached the emulator, in order."""
    return [(a.http_method, a.path.partition("?")[0]) for a in emu.attempts()]


def client_at(emu: Emulator) -> PickerClient:
    return PickerClient(
        credentials=google.oauth2.credentials.Credentials(token="picker-token"),
        client_options={"api_endpoint": emu.url},
    )


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirected_create_is_not_followed(emu: Emulator, no_proxy: None, status: int) -> None:
    # To the API's own create: a client that followed would show a second attempt there.
    moved = f"{emu.url}v1/sessions"
    emu.set_faults("sessions.create", [Fault(redirect=moved, redirect_status=status)])
    client = client_at(emu)
    with pytest.raises(PickerHttpError) as caught:
        client.create_session()
    assert arrivals(emu) == [("POST", "/v1/sessions")]
    assert emu.backend.sessions() == []
    assert caught.value.code == status
    message = str(caught.value)
    assert message.startswith(f"sessions.create failed: HTTP {status}")
    assert f"{moved}, which the client does not follow" in message
    assert "check the endpoint" in message


@pytest.mark.parametrize(
    "fault",
    [Fault(drop=True), Fault(drop_after=10), Fault(truncate=True)],
    ids=["no-answer", "a-tenth-of-the-body", "half-the-body"],
)
def test_a_create_whose_connection_drops_is_sent_once(
    emu: Emulator, no_proxy: None, fault: Fault
) -> None:
    emu.set_faults("sessions.create", [fault])
    client = client_at(emu)
    with pytest.raises(ConnectionError) as caught:
        client.create_session()
    assert arrivals(emu) == [("POST", "/v1/sessions")]
    assert not isinstance(caught.value, ConnectionRefusedError)  # it may have been acted on
    message = str(caught.value)
    assert "the connection to http://127.0.0.1:" in message and "/v1/sessions" in message
    assert "failed" in message


def test_a_second_create_on_a_dropped_keep_alive_connection_is_sent_once(
    emu: Emulator, no_proxy: None
) -> None:
    emu.set_faults("sessions.create", [None, Fault(drop=True)])
    client = client_at(emu)
    first = client.create_session()
    with pytest.raises(ConnectionError):
        client.create_session()
    assert arrivals(emu) == [("POST", "/v1/sessions")] * 2
    # The emulator acted on the second create before it dropped the answer: resending it
    # would have left a third session.
    sessions = [s.id for s in emu.backend.sessions()]
    assert len(sessions) == 2 and sessions[0] == first.id
