"""The README's quickstart, run against canned answers with the public names only."""

from __future__ import annotations

import picker_discovery
from picker_discovery.testing import canned


def test_readme_quickstart_runs_offline() -> None:
    http = canned.sequence(
        "sessions.create",
        "sessions.get.polling",
        "sessions.get.picked",
        "mediaItems.list",
        "sessions.delete",
    )
    clock = picker_discovery.FakeClock()
    client = picker_discovery.PickerClient(http=http, clock=clock)
    lines: list[str] = []
    with client.picking_session(max_item_count=50) as session:
        lines.append(f"Pick your photos at {session.picker_uri}")
        client.wait_for_selection(session, timeout=600)
        for item in client.iter_media_items(session):
            assert item.type is not None and item.media_file is not None
            lines.append(f"{item.id} {item.type.name} {item.media_file.filename}")
    assert lines[0] == f"Pick your photos at {canned.PICKER_URI}"
    assert [line.split()[1:] for line in lines[1:]] == [
        ["PHOTO", "PXL_20250227_233405466.jpg"],
        ["VIDEO", "PXL_20250301_080000000.mp4"],
    ]
    assert clock.sleeps == [5.0, 5.0]
    assert http.remaining == 0
    assert http.request_sequence[-1][1] == "DELETE"
