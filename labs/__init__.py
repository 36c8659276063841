"""labs: a small from-scratch deep-learning workbench (NumPy + pydantic only).

It holds the networks (`labs.nn`), the datasets, the lab catalogue, the runner that trains a lab in its
own process, and grading. It never imports `planner`, Textual or SQLite, so it could be published alone.
"""

__version__ = "0.1.0"
__pathlab__ = True  # `labs` is a generic name: planner.cli checks this marker to know the import is ours
