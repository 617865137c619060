"""The examples each ``--help`` ends with, by command (as its ``prog`` names it)."""

from __future__ import annotations

__all__ = ["EXAMPLES", "examples_for"]

EXAMPLES: dict[str, str] = {
    "": """\
  picker-discovery login --client-secrets client_secret.json
  picker-discovery pick --dest photos/ --max-items 20
  picker-discovery sessions get SESSION_ID --json
  picker-discovery emulator      # no Google account needed: prints a command to try""",
    "login": """\
  picker-discovery login --client-secrets client_secret.json
  picker-discovery login --client-secrets client_secret.json --account work
  picker-discovery login --client-secrets client_secret.json --no-browser --port 8085
      # over SSH: ssh -L 8085:localhost:8085 HOST, then open the printed link here
  picker-discovery login --client-secrets client_secret.json --remote
      # no way back to this machine: paste the address the browser ends on""",
    "logout": """\
  picker-discovery logout
  picker-discovery logout --account work""",
    "sessions": """\
  picker-discovery sessions create --max-items 10 --json
  picker-discovery sessions wait SESSION_ID
  picker-discovery sessions cleanup --dry-run""",
    "sessions create": """\
  picker-discovery sessions create
  picker-discovery sessions create --max-items 10 --json | jq -r .pickerUri""",
    "sessions get": """\
  picker-discovery sessions get SESSION_ID
  picker-discovery sessions get SESSION_ID --json | jq .mediaItemsSet""",
    "sessions wait": """\
  picker-discovery sessions wait SESSION_ID --timeout 600
  picker-discovery sessions wait SESSION_ID --json && picker-discovery items list SESSION_ID""",
    "sessions delete": """\
  picker-discovery sessions delete SESSION_ID
  picker-discovery sessions delete SESSION_ID --missing-ok --quiet""",
    "sessions cleanup": """\
  picker-discovery sessions cleanup --dry-run
  picker-discovery sessions cleanup --json""",
    "pick": """\
  picker-discovery pick --dest photos/ --max-items 20
  picker-discovery pick --dest photos/ --open --no-qr      # pick in this machine's browser
  picker-discovery pick --dest thumbs/ --size 512x512 --crop
  picker-discovery pick --session SESSION_ID --dest photos/   # one made by sessions create
  picker-discovery pick --dry-run --dest photos/   # check everything, send nothing
  picker-discovery pick --account work --dest photos/
  picker-discovery pick --json --dest photos/ | jq -c 'select(.event == "item")'""",
    "items": """\
  picker-discovery items list SESSION_ID --page-size 25
  picker-discovery items download SESSION_ID --dest photos/""",
    "items download": """\
  picker-discovery items download SESSION_ID --dest photos/
  picker-discovery items download SESSION_ID --item ITEM_ID -o - > photo.jpg
  picker-discovery items download SESSION_ID --item ITEM_ID -o photo.jpg""",
    "items list": """\
  picker-discovery items list SESSION_ID
  picker-discovery items list SESSION_ID --json | jq -r '.[].mediaFile.filename'""",
    "discovery": """\
  picker-discovery discovery show
  picker-discovery discovery refresh""",
    "discovery show": """\
  picker-discovery discovery show
  picker-discovery discovery show --document my-copy.json --json""",
    "discovery path": """\
  picker-discovery discovery path""",
    "discovery verify": """\
  picker-discovery discovery verify --document my-copy.json""",
    "discovery refresh": """\
  picker-discovery discovery refresh
  picker-discovery discovery refresh --allow-host 127.0.0.1 \\
      --url 'http://127.0.0.1:8080/$discovery/rest?version=v1'""",
    "emulator": """\
  picker-discovery emulator --port 8080 --media-port 8081
  picker-discovery emulator --auth strict --json""",
    "demo": """\
  picker-discovery demo""",
}


def examples_for(prog: str) -> str:
    """The ``examples:`` block for a parser's ``prog`` (``picker-discovery sessions get``)."""
    text = EXAMPLES.get(prog.removeprefix("picker-discovery").strip())
    return f"examples:\n{text}\n\n" if text else ""
