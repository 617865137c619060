"""Server text made safe to print on a terminal (a leaf: no other project import).

File names, messages and ids come from the service (or from anyone who can name a file in
Google Photos). Printed as they are, an escape sequence in them would be run by the terminal:
recolouring, retitling, moving the cursor to hide a line, or worse. :func:`printable` shows
every such character as an escape instead, the way Python's ``repr`` does, and leaves every
other character (accents, emoji, other scripts) alone.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["printable"]

# Characters that steer a terminal or the order text is shown in: control characters (C0,
# DEL, C1, which hold ESC and CSI), line and paragraph separators, surrogates (undecodable
# bytes of a file name), and the bidirectional controls that can make text read backwards.
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_HIDDEN_CATEGORIES = frozenset({"Cc", "Zl", "Zp", "Cs"})
# What, after a backslash, would make it read as one of the escapes made here.
_LOOKS_ESCAPED = re.compile(r"\\|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}")


def _hidden(char: str) -> bool:
    return char in _BIDI or unicodedata.category(char) in _HIDDEN_CATEGORIES


def _escape(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def printable(text: object) -> str:
    """``text`` (or its ``str``) with every control, separator, surrogate and bidirectional
    character shown as a ``\\x1b``, ``\\u202e`` or ``\\U000e0001`` escape, never
    interpreted. Everything else is unchanged (``C:\\Users`` too), but for a backslash that
    would read as the start of such an escape (or of ``\\\\``), which is doubled: different
    texts never print the same."""
    value = text if isinstance(text, str) else str(text)
    if value.isascii() and value.isprintable() and "\\" not in value:
        return value
    out: list[str] = []
    for index, char in enumerate(value):
        if char == "\\":
            following = value[index + 1 : index + 2]
            doubled = _LOOKS_ESCAPED.match(value, index + 1) or (following and _hidden(following))
            out.append("\\\\" if doubled else "\\")
        elif _hidden(char):
            out.append(_escape(char))
        else:
            out.append(char)
    return "".join(out)
