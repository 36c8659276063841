"""The skill map: every track with its nodes, each marked by state (symbol + colour) and mastery.

An `OptionList` so the arrow keys move through nodes and enter opens one; track names are disabled
rows that the cursor skips.
"""

from __future__ import annotations

from typing import Any

from textual.content import Content
from textual.markup import escape
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from planner.curriculum import Curriculum, Node
from planner.progress import NodeProgress
from planner.tui.symbols import mastery_bar, state_markup

TRACK_TITLES = {"foundations": "Foundations", "models": "Model families", "careers": "Careers"}


def node_row(node: Node, entry: NodeProgress | None) -> Content:
    """'● ▰▰▰▱ Gradient descent': state in its colour, mastery pips, the title (dimmed when locked).

    Symbol and pips come first so they line up whatever the title's length."""
    state = entry.state if entry is not None else "locked"
    mastery = entry.mastery if entry is not None else "none"
    title = escape(node.title)
    title = title if state != "locked" else f"[dim]{title}[/]"
    return Content.from_markup(f"{state_markup(state)} [dim]{mastery_bar(mastery)}[/] {title}")


class SkillMap(OptionList):
    """Tracks and nodes; `highlighted_node` is the id under the cursor."""

    def __init__(self, curriculum: Curriculum, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.curriculum = curriculum

    def show(self, progress: dict[str, NodeProgress]) -> None:
        """Rebuild the rows from a fresh progress map, keeping the cursor on the same node."""
        current = self.highlighted_node
        options: list[Option] = []
        for track in self.curriculum.tracks:
            options.append(Option(Content.from_markup(f"[b]{TRACK_TITLES.get(track, track.title())}[/]"),
                                  id=f"track:{track}", disabled=True))
            for node in self.curriculum.nodes.values():
                if node.track == track:
                    options.append(Option(node_row(node, progress.get(node.id)), id=node.id))
        self.set_options(options)
        self.select_node(current)

    def select_node(self, node_id: str | None) -> None:
        """Put the cursor on `node_id` (or the first node)."""
        index = None
        if node_id is not None:
            try:
                index = self.get_option_index(node_id)
            except Exception:
                index = None
        if index is None:
            index = next((i for i, o in enumerate(self.options) if not o.disabled), None)
        self.highlighted = index

    @property
    def highlighted_node(self) -> str | None:
        if self.highlighted is None or self.option_count == 0:
            return None
        option = self.get_option_at_index(self.highlighted)
        return None if option.disabled else option.id
