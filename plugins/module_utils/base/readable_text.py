"""Text a person reads as it is: no character that adds a line, reorders or hides what is shown. One rule for
every text the user gives that reports print (override reasons, waivers, extra values) and for what reports show
as escapes."""

from __future__ import annotations

import re
import unicodedata

# control characters (a terminal's escape sequences too), format characters (bidirectional overrides that reorder
# what is shown, zero-width characters), lone surrogates, private use, unassigned code points, line and paragraph
# separators
HIDDEN_CATEGORIES = frozenset(("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"))
# letters and marks that print as nothing (Hangul fillers, variation selectors, the combining grapheme joiner)
INVISIBLE = re.compile("[\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u3164\ufe00-\ufe0f\uffa0\U000e0100-\U000e01ef]")
_PLAIN = re.compile(r"[ -~]*")   # printable ASCII: no code point to look up


def hidden(char: str) -> bool:
    """A character shown as an escape, never as itself."""
    return unicodedata.category(char) in HIDDEN_CATEGORIES or bool(INVISIBLE.match(char))


def unreadable(text: str) -> bool:
    """Does text hold a character that could add a line or hide what it says?"""
    if _PLAIN.fullmatch(text):
        return False
    return any(hidden(char) for char in text)
