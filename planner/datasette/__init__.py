"""The database for strangers: a Datasette metadata file that describes every table and column.

    metadata_for(db_path) -> dict      `metadata.json` with its tables filed under the database's name
                                       (Datasette names a database by its file's stem)

`pathlab db explore` hands it to Datasette (`--metadata`); tests/test_datasette.py opens a real database
through Datasette's Python API and checks that every table and column is described and every foreign
key resolves.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

METADATA = Path(__file__).with_name("metadata.json")


def metadata_for(db_path: Path | str) -> dict[str, Any]:
    data = json.loads(METADATA.read_text(encoding="utf-8"))
    data["databases"] = {Path(db_path).stem: data["databases"]["*"]}
    return data
