"""Where the learner's database lives: $PATHLAB_DB if set, else the platform's user data folder.

    default_db_path() -> Path    e.g. ~/.local/share/pathlab/pathlab.sqlite on Linux
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_dir

ENV_VAR = "PATHLAB_DB"


def default_db_path() -> Path:
    override = os.environ.get(ENV_VAR, "").strip()
    if override:
        return Path(override).expanduser()
    return Path(user_data_dir("pathlab", appauthor=False)) / "pathlab.sqlite"
