"""Text on its way to a terminal: control characters made visible, never sent raw.

A deck or a typed answer could carry ESC sequences (clear the screen, set the window
title, write the clipboard with OSC 52); printed raw, the terminal would obey them.
"""

from __future__ import annotations

import re

# C0 and C1 controls but newline and tab, line/paragraph separators, bidi overrides and
# isolates (they reorder what is shown), and lone surrogates (undecodable input).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def visible(text: str) -> str:
    """`text` with every control character (but newline and tab) and lone surrogate shown as an escape."""
    return _CONTROL.sub(lambda m: ascii(m.group())[1:-1], text)


def has_control(text: str) -> bool:
    """True when `text` holds a control character other than tab, or undecodable bytes."""
    return _CONTROL.search(text.replace("\n", "")) is not None
