"""The pacing defaults of a wait, as plain numbers: a leaf, so that the client can name them
as its defaults without importing the poll step, the scheduler or the thread pool, which it
imports on the first wait (``python -X importtime`` shows the difference at start-up).

:mod:`picker_discovery._step`, :mod:`picker_discovery._schedule` and
:mod:`picker_discovery._many` export them as before.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_JITTER",
    "DEFAULT_POLL_INTERVAL",
    "DEFAULT_WORKERS",
    "FALLBACK_WAIT",
    "MAX_POLL_INTERVAL",
    "MIN_POLL_INTERVAL",
    "MOMENT",
]

DEFAULT_POLL_INTERVAL = 5.0
"""Seconds between polls when an answer carries no usable ``pollingConfig.pollInterval``
(missing, unreadable, zero or negative): Google's own answers say 3 to 5 s."""
MIN_POLL_INTERVAL = 0.1
"""The shortest wait between polls, whatever the server says, so a tiny interval never spins.
At most ten requests a second from one wait: far inside Google's quota of 100,000 requests a
minute per project, and short enough for an emulator's quick test sessions (which ask 0.1 s)."""
MAX_POLL_INTERVAL = 60.0
"""The longest wait between polls, whatever the server says: a user who tapped Done is noticed
within a minute, and a wait never sleeps for an absurd interval (``"315576000000s"``)."""
FALLBACK_WAIT = 1800.0
"""How long a wait lasts when nothing else limits it: no ``timeout`` from the caller, and no
``timeoutIn`` or ``expireTime`` in the session's first answer. 30 minutes, the longest
``timeoutIn`` seen from Google."""

DEFAULT_JITTER = 0.1
"""Each poll comes up to this fraction of its interval late, at random (never early): sessions
created together drift apart instead of polling in lockstep."""
DEFAULT_WORKERS = 4
"""Threads sending polls by default. At the default 10 requests a second and ~100 ms per
request, one would do; four absorb slow answers without holding up the others."""
MOMENT = 0.01
"""Seconds a waiter on many sessions may wake later than it could, to save a wake-up (see
``PollSchedule.wake_in``): a poll due this long before the rate cap's next token waits for the
token; the asyncio waiter starts a sleep this short in the turn its new polls start in."""
