"""The user's keymap: a TOML file that moves any binding by its id (Textual's keymap support).

    keymap_path() -> Path            $PATHLAB_KEYMAP, else <user config folder>/pathlab/keymap.toml
    read_keymap(path) -> (keymap, problems)
                                     {binding id: "key[,key...]"} and one line per problem (file, field)
    known_bindings() -> {id: Binding}
                                     every binding of the app, its screens and widgets (imports them)
    key_text(keys) -> str            "ctrl+r" / "question_mark,f1" as the help shows them: `ctrl+r`, `?` / `f1`

The file:

    [keys]
    "app.dashboard" = "M"          # the map on shift+m instead of m
    "lab.run" = "ctrl+r,f5"        # several keys: comma-separated

A missing file is no keymap; a file that cannot be read or parsed, a value that is not a key string, or
an id no binding has, is one line naming the file and the field, and every good entry still applies.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import tomllib
from pathlib import Path

from textual.binding import Binding

ENV = "PATHLAB_KEYMAP"
TABLE = "keys"
SHOWN = {"question_mark": "?", "escape": "esc", "space": "space", "enter": "enter"}


def keymap_path() -> Path:
    if os.environ.get(ENV):
        return Path(os.environ[ENV]).expanduser()
    import platformdirs

    return platformdirs.user_config_path("pathlab") / "keymap.toml"


def read_keymap(path: Path) -> tuple[dict[str, str], list[str]]:
    if not path.exists():
        return {}, []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        return {}, [f"{path}: cannot be read ({exc})"]
    except tomllib.TOMLDecodeError as exc:
        return {}, [f"{path}: not valid TOML ({exc})"]
    table = data.get(TABLE)
    if not isinstance(table, dict):
        return {}, [f"{path}: no [{TABLE}] table (see the README, \"Keys\")"]
    keymap, problems = {}, []
    for binding_id, keys in table.items():
        if not isinstance(keys, str) or not keys.strip() or any(not k.strip() for k in keys.split(",")):
            problems.append(f"{path}: [{TABLE}] {binding_id!r} must be a key like \"ctrl+r\" or \"a,b\", "
                            f"not {keys!r}")
            continue
        keymap[binding_id] = ",".join(k.strip() for k in keys.split(","))
    return keymap, problems


def known_bindings() -> dict[str, Binding]:
    """Every binding with an id, by id (the first one met: the app's come first)."""
    from planner.tui import screens, widgets
    from planner.tui.app import PathLabApp

    classes: list[type] = [PathLabApp]
    for package in (screens, widgets):
        for info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            classes += [v for v in vars(module).values()
                        if isinstance(v, type) and v.__module__ == module.__name__ and "BINDINGS" in vars(v)]
    found: dict[str, Binding] = {}
    for cls in classes:
        for binding in vars(cls)["BINDINGS"]:
            if isinstance(binding, Binding) and binding.id and binding.id not in found:
                found[binding.id] = binding
    return found


def unknown_ids(keymap: dict[str, str], path: Path) -> list[str]:
    known = known_bindings()
    return [f"{path}: [{TABLE}] {binding_id!r} is no binding's id (the help screen lists them)"
            for binding_id in keymap if binding_id not in known]


def key_text(keys: str) -> str:
    return " / ".join(f"`{SHOWN.get(k.strip(), k.strip())}`" for k in keys.split(","))
