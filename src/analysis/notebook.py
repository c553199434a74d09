"""Small helpers the notebooks share: resolving their folder parameters and building a
small sample programme when a notebook runs on its own defaults (nbval, JupyterLab).

The pipeline always passes explicit folders; an empty folder parameter means "use a small
synthetic sample in a scratch folder", built on demand by the same library functions the
pipeline uses, so every notebook can run by itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis import paths


def resolve_dir(value: str | Path | None, *, default: Path) -> Path:
    """Return ``value`` as an absolute folder (relative values are taken from ``paths.ROOT``).

    An empty value returns ``default``. Paths never depend on the kernel's working
    directory, which differs between papermill, nbval and JupyterLab.
    """
    if value is None or str(value).strip() == "":
        return Path(default)
    path = Path(value)
    return path if path.is_absolute() else paths.ROOT / path


def describe_folder(folder: Path) -> pd.DataFrame:
    """Files in ``folder`` by kind (top-level sub-folder) with counts and total bytes."""
    rows = []
    for file in sorted(Path(folder).rglob("*")):
        if file.is_file():
            rel = file.relative_to(folder)
            kind = rel.parts[0] if len(rel.parts) > 1 else rel.name
            rows.append({"kind": kind, "bytes": file.stat().st_size})
    if not rows:
        return pd.DataFrame({"kind": pd.Series(dtype="str"), "files": [], "bytes": []})
    frame = pd.DataFrame(rows)
    return (
        frame.groupby("kind", as_index=False)
        .agg(files=("bytes", "size"), bytes=("bytes", "sum"))
        .sort_values("kind", ignore_index=True)
    )


@dataclass(frozen=True)
class SampleDirs:
    """Folders of a small sample programme built for notebooks run on their defaults."""

    root: Path
    raw: Path
    processed: Path

    def analysis(self, year: str) -> Path:
        """Folder of the sample's per-year analysis outputs."""
        return self.root / "analysis" / year


def code_version() -> str:
    """A short hash of the package source, so a sample built by older code is never reused."""
    import hashlib

    digest = hashlib.sha256()
    package = Path(__file__).parent
    for file in sorted(package.glob("*.py")):
        digest.update(file.name.encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()[:10]


def sample_dirs(*, seed: int = 1, scale: float = 0.1) -> SampleDirs:
    """Folders of the sample programme for ``seed`` and ``scale`` (not built)."""
    root = paths.INTERIM_DIR / "scratch" / f"sample-{seed}-{scale}-{code_version()}"
    return SampleDirs(root=root, raw=root / "raw", processed=root / "processed")


def ensure_sample(*, seed: int = 1, scale: float = 0.1, year: str | None = None) -> SampleDirs:
    """Build (once, safely across parallel test workers) a small sample programme.

    Synthesises raw returns, cleans them and, when ``year`` is given, runs that year's
    analysis, reusing whatever an earlier call already built.
    """
    from filelock import FileLock  # imported here: pipeline runs never build a sample

    from analysis import clean, synthesise

    dirs = sample_dirs(seed=seed, scale=scale)
    dirs.root.mkdir(parents=True, exist_ok=True)
    with FileLock(str(dirs.root) + ".lock"):
        if not (dirs.raw / "manifest.csv").exists():
            synthesise.synthesise_programme(dirs.raw, seed=seed, scale=scale)
        if not (dirs.processed / "ledger.json").exists():
            clean.clean_returns(dirs.raw, dirs.processed)
        if year is not None and not (dirs.analysis(year) / "headline.json").exists():
            from analysis import evaluation

            evaluation.evaluate_year(dirs.processed, year, out_dir=dirs.analysis(year))
    return dirs


def models_overview(analysis_dir: Path) -> pd.DataFrame:
    """One row per model of a year's analysis: fitted or not, its sentence and N used."""
    from analysis.tables import read_json

    records = read_json(Path(analysis_dir) / "models.json")
    frame = pd.DataFrame(list(records.values()))
    return frame[["name", "fitted", "n_units_used", "n_units_eligible", "sentence"]]


def ledger_summary(processed_dir: Path) -> pd.DataFrame:
    """Rows read, kept, quarantined and superseded by kind of source file (every file)."""
    from analysis.quality import ledger_totals
    from analysis.tables import ledger_frame

    files = set(ledger_frame(Path(processed_dir) / "ledger.json")["file"])
    return ledger_totals(Path(processed_dir), files)


def quarantine_summary(processed_dir: Path) -> pd.DataFrame:
    """Quarantined rows by kind of reason (counts only, no values)."""
    from analysis.quality import quarantine_by_reason

    q = pd.read_csv(Path(processed_dir) / "quarantine.csv", dtype="str", keep_default_na=False)
    summary = quarantine_by_reason(Path(processed_dir), set(q["file"]))
    return summary.sort_values(["rows", "reason"], ascending=[False, True], ignore_index=True)
