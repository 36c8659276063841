"""Open an HTML report in headless Chromium and save a PNG (and optionally the printed PDF) to look at.

    python scripts/screenshot_report.py report.html -o report.png [--pdf report.pdf] [--height 4000]

Chromium runs with networking, sync and updates off and a throw-away profile, so the screenshot shows
exactly what the self-contained file renders on its own. The test suite never needs this script.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars"]


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if found := shutil.which(name):
            return found
    sys.exit("chromium not found; install it with: apt-get update && apt-get install -y chromium")


def run(html: Path, args: list[str]) -> None:
    with tempfile.TemporaryDirectory(prefix="pathlab-chromium-") as profile:
        cmd = [chromium(), *FLAGS, f"--user-data-dir={profile}", *args, html.resolve().as_uri()]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            sys.exit(f"chromium failed ({done.returncode}): {done.stderr[-800:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html", type=Path)
    parser.add_argument("-o", "--output", type=Path, default=Path("report.png"))
    parser.add_argument("--width", type=int, default=1100)
    parser.add_argument("--height", type=int, default=3000)
    parser.add_argument("--pdf", type=Path, help="also print to this PDF (what 'Save as PDF' gives)")
    ns = parser.parse_args()
    if not ns.html.is_file():
        sys.exit(f"no such HTML file: {ns.html}")
    run(ns.html, [f"--window-size={ns.width},{ns.height}", f"--screenshot={ns.output.resolve()}"])
    print(f"wrote {ns.output}")
    if ns.pdf:
        run(ns.html, [f"--print-to-pdf={ns.pdf.resolve()}", "--no-pdf-header-footer"])
        print(f"wrote {ns.pdf}")


if __name__ == "__main__":
    main()
