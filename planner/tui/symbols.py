"""How node states and mastery look on screen: a symbol AND a colour for each, so neither is needed alone.

Pure data and string helpers (no Textual import), shared by the skill map, the legend and the node view.
The symbols are single-width characters that render the same in every common terminal font.
"""

from __future__ import annotations

STATES = ("locked", "available", "in_progress", "completed")

STATE_SYMBOL = {"locked": "×", "available": "○", "in_progress": "◐", "completed": "●"}
STATE_COLOUR = {"locked": "grey50", "available": "cyan", "in_progress": "yellow", "completed": "green"}
STATE_LABEL = {
    "locked": "locked",
    "available": "available",
    "in_progress": "in progress",
    "completed": "completed",
}

MASTERY_LEVELS = ("none", "attempted", "familiar", "proficient", "mastered")


def state_markup(state: str) -> str:
    """The coloured symbol for a node state, as Textual content markup."""
    return f"[{STATE_COLOUR.get(state, 'white')}]{STATE_SYMBOL.get(state, '?')}[/]"


def mastery_bar(mastery: str) -> str:
    """Four pips, one per level above `none`: ▰▰▱▱ reads as 'familiar' at a glance."""
    level = MASTERY_LEVELS.index(mastery) if mastery in MASTERY_LEVELS else 0
    return "▰" * level + "▱" * (len(MASTERY_LEVELS) - 1 - level)


def legend_markup() -> str:
    """Two short lines explaining every state symbol and the mastery pips (fits 40 columns)."""
    first, second = ("  ".join(f"{state_markup(s)} {STATE_LABEL[s]}" for s in half)
                     for half in (STATES[:3], STATES[3:]))
    return f"{first}\n{second}  [dim]▰▱ mastery[/]"


def format_duration(seconds: float | None) -> str:
    """Seconds as '4.2s', '42s', '3m05s' or '1h02m'; '—' when unknown."""
    if seconds is None or seconds < 0:
        return "—"
    if seconds < 10:
        return f"{seconds:.1f}s"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
