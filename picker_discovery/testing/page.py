"""The emulator's picking page: the user's library as thumbnails, checkboxes and Done.

The browser carries no bearer token, so the page is authorized by the session id in its URL:
that is the emulator's stand-in for Google's sign-in to the account owning the session.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from picker_discovery.testing.backend import Session
from picker_discovery.testing.library import MediaItem

__all__ = ["done_page", "gone_page", "pick_page"]

_STYLE = """
body{font-family:system-ui,sans-serif;margin:1rem}
ul{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:.5rem}
li{width:170px;font-size:.75rem;overflow-wrap:anywhere}
img{width:160px;height:160px;object-fit:contain;background:#eee;display:block}
#bar{position:sticky;top:0;background:#fff;padding:.5rem 0}
"""

_SCRIPT = """
(function () {
  var max = %d;
  var form = document.getElementById('pick');
  var boxes = form.querySelectorAll('input[name=item]');
  var done = document.getElementById('done');
  var count = document.getElementById('count');
  function update() {
    var n = form.querySelectorAll('input[name=item]:checked').length;
    count.textContent = n + ' of at most ' + max + ' selected';
    done.disabled = n === 0;
    boxes.forEach(function (b) { if (!b.checked) { b.disabled = n >= max; } });
  }
  boxes.forEach(function (b) { b.addEventListener('change', update); });
  update();
})();
"""


def pick_page(session: Session, items: Sequence[MediaItem], *, autoclose: bool) -> str:
    """The page a session's pickerUri opens."""
    action = f"/pick/{html.escape(session.id)}" + ("/autoclose" if autoclose else "")
    rows = []
    for index, item in enumerate(items):
        name = html.escape(item.filename)
        kind = item.type.lower()
        if item.is_video:
            kind += f", {item.processing_status.lower()}"
        rows.append(
            f'<li><label for="i{index}"><img alt="{name}" loading="lazy" '
            f'src="/pick/{html.escape(session.id)}/thumb/{html.escape(item.id)}">'
            f'<input type="checkbox" id="i{index}" name="item" value="{html.escape(item.id)}"> '
            f"{name} <small>({html.escape(kind)})</small></label></li>"
        )
    return (
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
        "<title>Select photos - Picker emulator</title>"
        f"<style>{_STYLE}</style></head><body>"
        f"<h1>Select up to {session.max_item_count} items</h1>"
        f'<form id="pick" method="post" action="{action}">'
        '<div id="bar"><button id="done" type="submit">Done</button> '
        '<span id="count"></span></div>'
        f"<ul>{''.join(rows)}</ul></form>"
        f"<script>{_SCRIPT % session.max_item_count}</script></body></html>"
    )


def done_page(count: int, *, autoclose: bool) -> str:
    """What Done shows: a closing tab with ``/autoclose``, a Done screen without."""
    if autoclose:
        return (
            "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8><title>Done</title></head>"
            f'<body data-picked="{count}"><p>Done. This tab closes itself.</p>'
            "<script>window.close();</script></body></html>"
        )
    return (
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8><title>Done</title></head>"
        f'<body data-picked="{count}"><h1>Done</h1><p>You picked {count} '
        f"item{'s' if count != 1 else ''}. Go back to the app that asked you.</p></body></html>"
    )


def gone_page(code: int, message: str) -> str:
    """An error page of the picker (finished, expired or unknown session, bad form)."""
    return (
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
        f"<title>Error {code}</title></head><body><h1>{code}</h1>"
        f"<p>{html.escape(message)}</p></body></html>"
    )
