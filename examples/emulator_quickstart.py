"""Run the Picker flow against the loopback emulator with plain googleapiclient calls.

    .venv/bin/python examples/emulator_quickstart.py

Open the printed pickerUri in a browser to pick by hand, or let the script pick for you.
"""

from __future__ import annotations

import sys

import google.oauth2.credentials

import picker_discovery
from picker_discovery.testing import Emulator


def main() -> int:
    with Emulator() as emulator:
        credentials = google.oauth2.credentials.Credentials(token="emulator-token")
        service = picker_discovery.build(
            credentials=credentials, client_options={"api_endpoint": emulator.url}
        )
        session = service.sessions().create(body={"pickingConfig": {"maxItemCount": "5"}}).execute()
        print("pick at", session["pickerUri"])
        emulator.pick(session["id"])  # what the user's Done would do
        page = service.mediaItems().list(sessionId=session["id"]).execute()
        for item in page.get("mediaItems", []):
            print(item["type"], repr(item["mediaFile"]["filename"]))
        service.sessions().delete(sessionId=session["id"]).execute()
    return 0


if __name__ == "__main__":
    sys.exit(main())
