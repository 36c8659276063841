"""The base classes of PathLab's screens: they know their app is a `PathLabApp`.

`self.app` on a plain Textual screen is typed `App[object]`, so every use of the service, the learner or
the live run needed `# type: ignore` or an `app: Any = self.app` alias. Textual's `getters.app`
descriptor returns the running app typed as our subclass (and asserts that it is one).
"""

from __future__ import annotations

from typing import TypeVar

from textual import getters
from textual.screen import ModalScreen, Screen

from planner.tui.app import PathLabApp

ResultT = TypeVar("ResultT")


class PathLabScreen(Screen[ResultT]):
    """A full screen of the app; `self.app` is the `PathLabApp`."""

    app = getters.app(PathLabApp)


class PathLabModal(ModalScreen[ResultT]):
    """A dialog over another screen; `self.app` is the `PathLabApp`."""

    app = getters.app(PathLabApp)
