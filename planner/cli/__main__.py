"""`python -m planner.cli`: the `pathlab` command under this interpreter (how `pathlab serve` starts the
app for each browser session, whatever is on PATH)."""

from planner.cli import main

main(prog_name="pathlab")
