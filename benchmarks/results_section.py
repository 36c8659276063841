"""Keep one benchmark's section of RESULTS.md up to date without touching the rest of the file.

A section sits between `<!-- begin NAME -->` and `<!-- end NAME -->`; a missing one is appended at
the end of the file, after bench_nn.py's historical section, which bench_nn.py keeps (with everything
after it) when it rewrites its own tables.
"""

from __future__ import annotations

from pathlib import Path


def replace_section(path: Path, name: str, markdown: str) -> None:
    begin, end = f"<!-- begin {name} -->", f"<!-- end {name} -->"
    block = f"{begin}\n{markdown.rstrip()}\n{end}\n"
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    start, stop = old.find(begin), old.find(end)
    if start >= 0 and stop > start:
        new = old[:start] + block + old[stop + len(end):].lstrip("\n")
    else:
        new = old.rstrip("\n") + "\n\n" + block
    path.write_text(new, encoding="utf-8")
