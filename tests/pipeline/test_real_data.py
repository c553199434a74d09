"""Real-data mode runs the same pipeline, end to end, in a folder outside the repository
whose path holds spaces, quotes, ``$`` and non-ASCII characters (the review's apostrophe
failed late, with a YAML error, after clean and analyse had run).

The returns are the test pipeline's synthetic ones (they carry the generator's marker, so
the run is a dry run with the seed-derived key): the cleaned tables and metrics must be
byte-identical to those ``dvc repro`` made from the same returns, which shows the two modes
share one route through the code.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd

from analysis.clean.returns import cell_text, is_missing, read_csv_table
from analysis.core import paths
from analysis.core.labels import EXTRACT_COLUMNS
from analysis.core.privacy import RENDERED_PAGE_META

ROOT = paths.REPOSITORY


def _identifiers(folder: Path) -> set[str]:
    """Names, dates of birth, postcodes, notes and case IDs in the raw extracts, and every
    person key of the cleaned tables."""
    found = set()
    for path in sorted((folder / "data" / "raw" / "extracts").rglob("*.csv")):
        for _, values in read_csv_table(path, path.name, EXTRACT_COLUMNS).rows:
            for column in ("case_id", "name", "postcode", "notes", "date_of_birth"):
                value = cell_text(values.get(column))
                if len(value) >= 6 and not is_missing(value):
                    found.add(value)
    people = pd.read_parquet(folder / "data" / "processed" / "young_people.parquet")
    return found | set(people["person_key"])


def _status() -> str:
    return subprocess.run(
        ["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout


def test_real_data_mode_runs_the_dvc_pipeline_outside_the_repository(
    pipeline_run, tmp_path: Path
) -> None:
    folder = tmp_path / "secure run 'Zoë' \"q\" $HOME"
    (folder / "data").mkdir(parents=True)
    shutil.copytree(pipeline_run.root / "data" / "raw", folder / "data" / "raw")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUBSPOKE_", "DVC_"))}
    before = _status()
    proc = subprocess.run(
        [sys.executable, "-m", "analysis", "real-data", str(folder)],
        cwd=tmp_path,
        env={**env, "HUBSPOKE_JOBS": "2"},
        capture_output=True,
        text=True,
        check=False,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert "synthetic returns" in log and "Reports:" in log
    assert "Running stage 'synthesise'" not in log and "Running stage 'report'" in log
    processed = sorted((pipeline_run.root / "data" / "processed").iterdir())
    assert processed
    for table in processed:
        mine = folder / "data" / "processed" / table.name
        assert mine.read_bytes() == table.read_bytes(), table.name
    for metrics in sorted((pipeline_run.root / "metrics").glob("*.json")):
        assert (folder / "metrics" / metrics.name).read_bytes() == metrics.read_bytes()
    pages = sorted((folder / "reports").rglob("*.html"))
    assert (folder / "reports" / "index.html") in pages
    assert all(RENDERED_PAGE_META in p.read_text("utf-8") for p in pages)
    assert not (folder / ".dvc" / "cache").exists()  # no second copy of the data
    # No identifier in the run's log, its executed notebooks, metrics or reports.
    needles = _identifiers(folder)
    assert len(needles) > 100
    logs = [log, *(p.read_text("utf-8") for p in (folder / "data/interim/notebooks").iterdir())]
    logs += [p.read_text("utf-8") for p in sorted((folder / "reports").rglob("*.*"))
             if p.suffix in (".html", ".csv", ".json", ".svg")]  # fmt: skip
    logs += [p.read_text("utf-8") for p in sorted((folder / "metrics").glob("*.json"))]
    # Whole values only: a numeric case ID may be the digits of a timestamp's microseconds.
    found = [
        n
        for n in needles
        if any(re.search(rf"(?<![0-9A-Za-z.]){re.escape(n)}(?![0-9A-Za-z])", t) for t in logs)
    ]
    assert not found
    assert _status() == before  # nothing written into the repository
