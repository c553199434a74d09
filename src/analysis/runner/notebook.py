"""Small helpers the notebooks share: resolving their folder parameters and building a
small sample programme when a notebook runs on its own defaults (nbval, JupyterLab).

The pipeline always passes explicit folders; an empty folder parameter means "use the
current scratch sample" (``data/interim/scratch/sample-<seed>-<scale>-<code>``), built on
demand by the same library functions the pipeline uses, so every notebook can run by
itself. On their defaults the notebooks chain through that one sample: 01 synthesises it
and makes it current (its ``seed`` and ``scale`` reach 02 to 04), 02 cleans it, 03 analyses
it and 04 reports on it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.core import paths
from analysis.core.catalog import COMPLETE, HEADLINE, LEDGER, MANIFEST, MODELS, QUARANTINE
from analysis.core.settings import load_settings


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


DEFAULT_SEED = 1
"""Seed of the scratch sample notebooks use on their defaults (01's ``seed`` parameter)."""

DEFAULT_SCALE = 0.1
"""Scale of that sample (about 250 young people): quick enough for nbval and JupyterLab."""

CURRENT_SAMPLE_FILE = "current-sample.json"
"""Under the scratch folder: the seed and scale notebook 01 last synthesised on its
defaults, which notebooks 02 to 04 use on theirs."""


@dataclass(frozen=True)
class SampleDirs:
    """Folders of a small sample programme built for notebooks run on their defaults.

    One sample holds the whole chain: 01 writes ``raw``, 02 cleans it into ``processed``,
    03 writes each year's analysis to ``analysis(year)`` and 04 its report to
    ``report(year)``.
    """

    root: Path
    raw: Path
    processed: Path

    def analysis(self, year: str) -> Path:
        """Folder of the sample's per-year analysis outputs."""
        return self.root / "analysis" / year

    def report(self, year: str) -> Path:
        """Folder of the sample's per-year report tables and figures."""
        return self.root / "report" / year


def code_version() -> str:
    """A short hash of the package source, so a sample built by older code is never reused."""
    import hashlib

    digest = hashlib.sha256()
    package = Path(__file__).parents[1]  # the whole analysis package, not runner/ alone
    for file in sorted(package.rglob("*.py")):
        digest.update(file.relative_to(package).as_posix().encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()[:10]


def scratch_dir() -> Path:
    """The scratch folder of notebooks run on their defaults (never read by the pipeline)."""
    return paths.INTERIM_DIR / "scratch"


def sample_dirs(*, seed: int = DEFAULT_SEED, scale: float = DEFAULT_SCALE) -> SampleDirs:
    """Folders of the sample programme for ``seed`` and ``scale`` (not built)."""
    root = scratch_dir() / f"sample-{seed}-{scale}-{code_version()}"
    return SampleDirs(root=root, raw=root / "raw", processed=root / "processed")


def choose_sample(*, seed: int, scale: float) -> SampleDirs:
    """Make the ``seed``/``scale`` sample the current one (what 02 to 04 use on their
    defaults) and return its folders. Notebook 01 calls this on its defaults."""
    import json

    scratch_dir().mkdir(parents=True, exist_ok=True)
    pointer = scratch_dir() / CURRENT_SAMPLE_FILE
    tmp = pointer.with_name(f"{pointer.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"seed": seed, "scale": scale}) + "\n", "utf-8")
    tmp.replace(pointer)  # atomic: a reader sees the old or the new sample, never half
    return sample_dirs(seed=seed, scale=scale)


def current_sample_params() -> tuple[int, float]:
    """Seed and scale of the current sample: the last chosen by notebook 01 on its
    defaults, else :data:`DEFAULT_SEED` and :data:`DEFAULT_SCALE`."""
    import json

    pointer = scratch_dir() / CURRENT_SAMPLE_FILE
    if not pointer.exists():
        return DEFAULT_SEED, DEFAULT_SCALE
    chosen = json.loads(pointer.read_text("utf-8"))
    return int(chosen["seed"]), float(chosen["scale"])


def current_sample() -> SampleDirs:
    """Folders of the current sample (see :func:`current_sample_params`); not built."""
    seed, scale = current_sample_params()
    return sample_dirs(seed=seed, scale=scale)


def sample_lock(*folders: str | Path | None) -> AbstractContextManager[object]:
    """A lock on the scratch samples when any of ``folders`` (a notebook's folder
    parameters) is empty, so notebooks run at once (nbval workers) never read a sample
    while another rewrites it; a no-op when every folder is given (the pipeline)."""
    if all(folder is not None and str(folder).strip() for folder in folders):
        return nullcontext()
    from filelock import FileLock  # imported here: pipeline runs never build a sample

    scratch_dir().mkdir(parents=True, exist_ok=True)
    return FileLock(str(scratch_dir() / "samples.lock"))


def _publish(staging: Path, folder: Path) -> None:
    """Move every file of ``staging`` into ``folder`` (atomic per file, unchanged files left
    alone), drop files ``staging`` no longer has, and remove ``staging``."""
    folder.mkdir(parents=True, exist_ok=True)
    written = {f.relative_to(staging) for f in staging.rglob("*") if f.is_file()}
    for rel in sorted(written, key=lambda r: (r.name == COMPLETE, r)):  # the marker last
        new, old = staging / rel, folder / rel
        if old.is_file() and old.read_bytes() == new.read_bytes():
            continue
        old.parent.mkdir(parents=True, exist_ok=True)
        os.replace(new, old)
    for old in sorted(folder.rglob("*"), reverse=True):
        if old.is_file() and old.relative_to(folder) not in written:
            old.unlink()
    shutil.rmtree(staging)


@contextmanager
def writing(folder: Path, *parameters: str | Path | None) -> Iterator[Path]:
    """The folder a notebook step writes to.

    When every folder parameter in ``parameters`` is given (the pipeline), ``folder``
    itself, with no lock. On a notebook's defaults (any parameter empty), a staging
    folder beside ``folder``, under the sample lock; its files then replace ``folder``'s
    one by one atomically (files whose bytes did not change are not touched), so a
    notebook reading the sample at the same time (nbval workers) never sees a half-written
    file, and a failed step leaves the sample as it was.
    """
    folder = Path(folder)
    if all(value is not None and str(value).strip() for value in parameters):
        yield folder
        return
    with sample_lock(None):
        staging = folder.with_name(f".{folder.name}.staging-{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        try:
            yield staging
            if staging.exists():  # nothing written: the folder stays as it is
                _publish(staging, folder)
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def synthesis_folder(out_dir: str | Path | None, *, seed: int, scale: float) -> Path:
    """Notebook 01's output folder: ``out_dir`` or, when empty, the raw folder of the
    ``seed``/``scale`` sample, which becomes the current sample (02 to 04 use it)."""
    if out_dir is not None and str(out_dir).strip():
        return resolve_dir(out_dir, default=paths.RAW_DIR)
    return choose_sample(seed=seed, scale=scale).raw


def ensure_sample(
    *,
    seed: int | None = None,
    scale: float | None = None,
    cleaned: bool = True,
    year: str | None = None,
) -> SampleDirs:
    """Build (once, safely across parallel test workers) a small sample programme.

    Without ``seed`` and ``scale``, the current sample (:func:`current_sample`).
    Synthesises raw returns, cleans them (unless ``cleaned`` is false) and, when ``year``
    is given, runs that year's analysis, reusing whatever an earlier call (or notebooks
    01 to 03) already built. Each part is written through :func:`writing`.
    """
    from analysis import clean, synthesise

    current_seed, current_scale = current_sample_params()
    seed = current_seed if seed is None else seed
    scale = current_scale if scale is None else scale
    dirs = sample_dirs(seed=seed, scale=scale)
    if not (dirs.raw / MANIFEST).exists():
        with writing(dirs.raw, None) as out:
            if not (dirs.raw / MANIFEST).exists():  # another worker may have won
                synthesise.synthesise_programme(out, seed=seed, scale=scale)
    if (cleaned or year) and not (dirs.processed / LEDGER).exists():
        with writing(dirs.processed, None) as out:
            if not (dirs.processed / LEDGER).exists():
                clean.clean_returns(dirs.raw, out)
    if year is not None and not (dirs.analysis(year) / HEADLINE).exists():
        from analysis.analyse import year as evaluation

        with writing(dirs.analysis(year), None) as out:
            if not (dirs.analysis(year) / HEADLINE).exists():
                evaluation.evaluate_year(
                    dirs.processed, year, out_dir=out, **evaluation.year_arguments(load_settings())
                )
    return dirs


def models_overview(analysis_dir: Path) -> pd.DataFrame:
    """One row per model of a year's analysis: fitted or not (and why not) and N used."""
    from analysis.core.io import read_json

    records = read_json(Path(analysis_dir) / MODELS)
    frame = pd.DataFrame(list(records.values()))
    if "reason" not in frame:
        frame["reason"] = ""
    frame["reason"] = frame["reason"].fillna("")
    return frame[["name", "fitted", "n_units_used", "n_units_eligible", "reason"]]


def ledger_summary(processed_dir: Path) -> pd.DataFrame:
    """Rows read, kept, quarantined and superseded by kind of source file (every file)."""
    from analysis.core.io import ledger_frame
    from analysis.publish.quality import ledger_totals

    files = set(ledger_frame(Path(processed_dir) / LEDGER)["file"])
    return ledger_totals(Path(processed_dir), files)


def quarantine_summary(processed_dir: Path) -> pd.DataFrame:
    """Quarantined rows by kind of reason (counts only, no values)."""
    from analysis.publish.quality import quarantine_by_reason

    q = pd.read_csv(Path(processed_dir) / QUARANTINE, dtype="str", keep_default_na=False)
    summary = quarantine_by_reason(Path(processed_dir), set(q["file"]))
    return summary.sort_values(["rows", "reason"], ascending=[False, True], ignore_index=True)


def show_everything() -> None:
    """Pandas display options for the notebooks: no column, row or text is cut short."""
    pd.set_option("display.max_colwidth", None)
    pd.set_option("display.max_columns", None)
    pd.set_option("display.max_rows", 500)
    pd.set_option("display.width", None)


def check_pair_in_sync(notebook: Path) -> None:
    """Raise ``UserError`` when ``notebook`` (``.ipynb``) and its jupytext ``.py`` pair hold
    different cells, naming the command that syncs them. A missing pair is fine."""
    import jupytext

    from analysis.core.errors import UserError

    notebook = Path(notebook)
    paired = notebook.with_suffix(".py")
    if notebook.suffix != ".ipynb" or not paired.exists():
        return

    def cells(path: Path) -> list[tuple[str, str]]:
        return [(c.cell_type, c.source.strip()) for c in jupytext.read(path).cells]

    if cells(notebook) != cells(paired):
        raise UserError(
            f"{notebook.name} and its pair {paired.name} differ; sync them first: "
            f"jupytext --sync {notebook.relative_to(paths.ROOT) if notebook.is_relative_to(paths.ROOT) else notebook}"
        )
