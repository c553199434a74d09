"""Photograph the top of each year report's summary at 1280x800 and 390x844.

``make screenshots`` (after ``make reports``) writes ``docs/screenshots/<year>-<w>x<h>.png``,
the first screen a reader sees, for review with a change to the reports. The same browser
code checks the verdict table's position in ``tests/pipeline/test_browser.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from browser_check import VIEWPORTS, verdict_offsets  # noqa: E402


def main() -> int:
    pages = sorted((ROOT / "reports").glob("20*/report.html"))
    if not pages:
        print("No year reports: run `make reports` first.", file=sys.stderr)
        return 1
    folder = ROOT / "docs" / "screenshots"
    for width, height in VIEWPORTS.values():
        tops = verdict_offsets(pages, (width, height), screenshot_dir=folder)
        for page, top in tops.items():
            print(f"{page.parent.name} at {width}x{height}: verdict table at {top:.0f} px")
    print(f"Screenshots: {folder}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
