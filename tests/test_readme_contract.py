"""The --json outputs are a public contract documented in the README: every key a command prints is there."""

from __future__ import annotations

import json
import re
from pathlib import Path

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def documented_keys(heading_start: str) -> set[str]:
    """Backticked names in the README section whose heading starts with `heading_start`."""
    sections = re.split(r"\n### ", README)
    [section] = [s for s in sections if s.startswith(heading_start)]
    return set(re.findall(r"`([a-z_]+)`", section))


def test_learner_list_and_nodes_keys_are_documented(run_cli):
    run_cli("learner", "add", "Ada", "--role", "ml-engineer")
    [learner] = json.loads(run_cli("learner", "list", "--json").output)
    assert set(learner) <= documented_keys("`pathlab learner list")
    nodes = json.loads(run_cli("nodes", "--json").output)
    assert set(nodes) | set(nodes["nodes"][0]) <= documented_keys("`pathlab nodes")


def test_lab_run_keys_are_documented(run_cli):
    run_cli("learner", "add", "Ada")
    result = run_cli("lab", "run", "gd-linear", "--practice", "--json")
    out = json.loads(result.output)
    assert set(out) <= documented_keys("`pathlab lab run")
    assert set(out["checks"][0]) <= documented_keys("`pathlab lab run")
