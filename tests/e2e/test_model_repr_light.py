"""Showing a model loads no HTTP library: the rendering imports the models only."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys
from picker_discovery import models
item = models.PickedMediaItem.from_dict({"id": "i1", "type": "PHOTO",
    "mediaFile": {"filename": "a.jpg", "mimeType": "image/jpeg"}})
session = models.PickingSession.from_dict({"id": "s1", "pickerUri": "https://photos.google.com/p"})
assert "a.jpg" in repr(item) and "s1" in repr(session)
assert "a.jpg" in item._repr_html_() and "s1" in session._repr_html_()
loaded = [name for name in ("requests", "httplib2", "urllib3", "googleapiclient",
          "google.auth", "picker_discovery._client", "picker_discovery._media")
          if name in sys.modules]
assert not loaded, loaded
"""


def test_repr_of_a_model_loads_no_http_library() -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
