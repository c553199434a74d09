"""The performance suite of issue 8: ``make bench`` runs this file.

Measures, side by side in one run (so ratios hold on a noisy machine), the six figures of
the issue and writes ``bench/results.json`` plus the Markdown table between the markers in
``bench/README.md``. Performance is measured here, never asserted in tests.

1. papermill overhead at ``--big-scale``: the clean and analyse steps run through papermill
   (the notebooks the pipeline runs) vs the same library calls in a plain Python process;
   and the fixed cost of one kernel start (a one-cell notebook through papermill).
2. no-op ``dvc repro`` on an up-to-date workspace vs the cold run, and which stages a
   report-only parameter change would re-run (``dvc repro --dry``).
3. the clean step vs merely reading every raw file into DataFrames (openpyxl ``read_only``
   for workbooks — python-calamine is not installed — and pandas' pyarrow CSV engine).
4. growth of clean + analyse from scale 1 to ``--big-scale``, with peak memory and the
   growth exponent ``log(t_big / t_1) / log(big)``.
5. the cold full pipeline at the default scale (``dvc repro`` in a fresh copy of the
   repository, synthesise to the index page).
6. ``make test`` (only with ``--make-test``: it takes many minutes).

DVC always runs in a temporary copy of the repository (as ``tests/conftest.py`` does),
never in the working checkout. Every timed command runs in a fresh process; wall time is
``time.perf_counter`` around it and peak memory is the largest resident set size of the
process tree (``getrusage(RUSAGE_CHILDREN)`` read in a wrapper process).

Usage: .venv/bin/python bench/run.py [--runs 5] [--big-runs 3] [--work DIR] [--make-test]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
BIN = Path(sys.executable).parent
YEARS = ("2013-14", "2014-15", "2015-16", "2016-17")
SEED = 20140101
README_START = "<!-- bench:results:start -->"
README_END = "<!-- bench:results:end -->"
COPY_ITEMS = ("dvc.yaml", "params.yaml", "evaluation-framework.yaml", "pyproject.toml",
              "notebooks", "src", "docs", "data/external")  # fmt: skip
TARGETS = {
    "papermill_ratio": 1.3,
    "noop_share": 0.05,
    "clean_read_ratio": 2.0,
    "growth_ratio": 12.0,
    "peak_mib": 4096.0,
    "cold_pipeline_s": 60.0,
    "make_test_s": 1200.0,
}


# ------------------------------------------------------------------------ measuring


def bench_env(root: Path = ROOT) -> dict[str, str]:
    """The environment every measured command runs in (as the Makefile sets it)."""
    env = dict(os.environ)
    env.update(
        HUBSPOKE_ROOT=str(root),
        SM_FORMULA_ENGINE="patsy",
        PYTHONHASHSEED="0",
        MPLBACKEND="Agg",
        DVC_NO_ANALYTICS="1",
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
    )
    env.pop("HUBSPOKE_DATA_ROOT", None)
    return env


def measure(cmd: Sequence[str], *, cwd: Path = ROOT, env: dict[str, str] | None = None) -> dict:
    """Run ``cmd`` in a wrapper process; wall seconds and peak RSS (MiB) of its process tree."""
    wrapper = [sys.executable, str(Path(__file__).resolve()), "--_measure", "--", *cmd]
    out = subprocess.run(
        wrapper, cwd=cwd, env=env or bench_env(), capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(f"command failed: {' '.join(cmd)}\n{out.stderr[-4000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _measure_child(cmd: Sequence[str]) -> int:
    """(In the wrapper process.) Run ``cmd``, print its wall time and peak memory as JSON."""
    start = time.perf_counter()
    proc = subprocess.run(list(cmd), capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
        return proc.returncode
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"seconds": wall, "peak_mib": peak}))
    return 0


def summarise(samples: list[dict]) -> dict[str, Any]:
    """Median wall time (and spread) and the largest peak memory of repeated runs."""
    secs = [s["seconds"] for s in samples]
    return {
        "median_s": round(statistics.median(secs), 2),
        "min_s": round(min(secs), 2),
        "max_s": round(max(secs), 2),
        "runs": len(secs),
        "peak_mib": round(max(s["peak_mib"] for s in samples), 1),
    }


def interleaved(commands: dict[str, Callable[[], dict]], runs: int) -> dict[str, dict]:
    """Run each named measurement ``runs`` times, alternating them (ABAB...) so that drift in
    machine load affects every side alike; summary per name."""
    samples: dict[str, list[dict]] = {name: [] for name in commands}
    for i in range(runs):
        for name, fn in commands.items():
            sample = fn()
            samples[name].append(sample)
            log(f"  {name} run {i + 1}/{runs}: {sample['seconds']:.1f} s, "
                f"{sample['peak_mib']:.0f} MiB")  # fmt: skip
    return {name: summarise(s) for name, s in samples.items()}


def log(message: str) -> None:
    """Progress on stderr (stdout stays free)."""
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------- the commands


def py(*args: str) -> list[str]:
    """``python <args>`` with the venv's interpreter."""
    return [sys.executable, *args]


def notebook_run(notebook: str, out: Path | str, params: dict[str, Any], *extra: str) -> list[str]:
    """A notebook stage as dvc.yaml writes it: ``python -m analysis run`` (papermill, kernel
    python3, YAML parameters)."""
    return py("-m", "analysis", "run", str(ROOT / "notebooks" / notebook), str(out),
              "-y", json.dumps(params), *extra)  # fmt: skip


def plain_steps(raw: Path, processed: Path, analysed: Path) -> list[str]:
    """Clean then analyse every year in one plain Python process (the library calls the
    notebooks make, without a kernel)."""
    return py(str(Path(__file__).resolve()), "--_plain", str(raw), str(processed), str(analysed))


def _plain(raw: Path, processed: Path, analysed: Path) -> int:
    """(In a child process.) ``clean_returns`` then ``evaluate_year`` for every year."""
    from analysis.analyse import year as evaluation
    from analysis.clean import pipeline as clean
    from analysis.core.settings import load_settings

    clean.clean_returns(raw, processed)
    for year in YEARS:
        evaluation.evaluate_year(
            processed, year, out_dir=analysed / year,
            metrics_file=analysed / f"{year}.json",
            **evaluation.year_arguments(load_settings()),
        )  # fmt: skip
    return 0


def papermill_steps(raw: Path, processed: Path, analysed: Path, notebooks: Path) -> list[str]:
    """The same clean + analyse through papermill (one kernel per notebook, as in dvc.yaml),
    chained in one shell command. The years run one at a time (``--jobs 1``), as the plain
    process runs them: this figure is papermill's overhead, not the stage's parallelism."""
    cmds = [notebook_run("02_clean.ipynb", notebooks / "02_clean.ipynb",
                         {"raw_dir": str(raw), "out_dir": str(processed)})]  # fmt: skip
    params = {"processed_dir": str(processed), "out_dir": f"{analysed}/{{year}}",
              "metrics_file": f"{analysed}/{{year}}.json", "cutoff_days": 61, "min_people": 20}  # fmt: skip
    cmds.append(notebook_run("03_analyse.ipynb", f"{notebooks}/03_analyse-{{year}}.ipynb", params,
                             "--each-year", "--years", *YEARS, "--jobs", "1"))  # fmt: skip
    script = " && ".join(" ".join(_quote(c) for c in cmd) for cmd in cmds)
    return ["/bin/bash", "-c", script]


def _quote(arg: str) -> str:
    import shlex

    return shlex.quote(arg)


def _read_floor(raw: Path) -> int:
    """(In a child process.) Read every raw workbook and CSV into DataFrames, nothing else."""
    import openpyxl
    import pandas as pd

    fallbacks = 0
    for path in sorted(raw.rglob("*")):
        if path.suffix == ".xlsx":
            wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
            for ws in wb.worksheets:
                rows = list(ws.iter_rows(values_only=True))
                pd.DataFrame(rows[1:], columns=None if not rows else range(len(rows[0])))
            wb.close()
        elif path.suffix == ".csv":
            try:
                path.read_bytes().decode("utf-8-sig")
                encoding = "utf-8-sig"
            except UnicodeDecodeError:
                encoding = "cp1252"
            try:
                pd.read_csv(path, engine="pyarrow", dtype="str", encoding=encoding)
            except Exception:  # noqa: BLE001 - deliberately malformed files: slower engine
                fallbacks += 1
                pd.read_csv(path, dtype="str", encoding=encoding, on_bad_lines="skip")
    print(f"csv files needing the python/C fallback: {fallbacks}", file=sys.stderr)
    return 0


def kernel_notebook(path: Path) -> Path:
    """A one-cell notebook (``pass``): papermill on it costs one kernel start and no work."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("pass")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}  # fmt: skip
    nbformat.write(nb, str(path))
    return path


def synthesise(raw: Path, scale: float) -> Path:
    """The synthetic programme at ``scale`` (reused when ``raw`` already holds it)."""
    stamp = raw / ".bench-stamp"
    want = f"seed={SEED} scale={scale}"
    if stamp.exists() and stamp.read_text("utf-8") == want:
        return raw
    if raw.exists():
        shutil.rmtree(raw)
    log(f"synthesising scale {scale} into {raw} ...")
    subprocess.run(
        py("-m", "analysis", "synthesise", str(raw), "--seed", str(SEED), "--scale", str(scale)),
        env=bench_env(), check=True, capture_output=True,
    )  # fmt: skip
    stamp.write_text(want, "utf-8")
    return raw


def fresh(folder: Path) -> Path:
    """An empty ``folder`` (outputs of the previous run removed)."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return folder


# ------------------------------------------------------------------------- the DVC copy


def make_repo_copy(dest: Path) -> Path:
    """What the pipeline needs, copied into ``dest`` (as tests/conftest.py does), no SCM."""
    dest.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for item in COPY_ITEMS:
        src = ROOT / item
        if src.is_dir():
            shutil.copytree(src, dest / item, ignore=ignore)
        elif src.exists():
            (dest / item).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / item)
    shutil.copytree(ROOT / ".dvc", dest / ".dvc", ignore=shutil.ignore_patterns("cache", "tmp"))
    subprocess.run([str(BIN / "dvc"), "config", "--local", "core.no_scm", "true"], cwd=dest,
                   env=bench_env(dest), check=True, capture_output=True)  # fmt: skip
    return dest


def dvc_figures(work: Path, runs: int, pipeline_runs: int) -> dict[str, Any]:
    """Cold full pipeline, no-op repro and a report-only parameter change, in copies."""
    cold, noop = [], []
    stages: list[str] = []
    for i in range(pipeline_runs):
        copy = make_repo_copy(fresh(work / f"repo-{i}"))
        env = bench_env(copy)
        log(f"cold dvc repro {i + 1}/{pipeline_runs} in {copy} ...")
        cold.append(measure([str(BIN / "dvc"), "repro"], cwd=copy, env=env))
        log(f"  cold: {cold[-1]['seconds']:.1f} s")
        if i == 0:
            for _ in range(runs):
                noop.append(measure([str(BIN / "dvc"), "repro"], cwd=copy, env=env))
            params = copy / "params.yaml"
            text = params.read_text("utf-8")
            changed = re.sub(r"(suppression_threshold:\s*)(\d+)",
                             lambda m: f"{m.group(1)}{int(m.group(2)) + 1}", text, count=1)  # fmt: skip
            params.write_text(changed, "utf-8")
            dry = subprocess.run([str(BIN / "dvc"), "repro", "--dry"], cwd=copy, env=env,
                                 capture_output=True, text=True, check=True)  # fmt: skip
            stages = sorted(set(re.findall(r"Running stage '([^']+)'", dry.stdout)))
            params.write_text(text, "utf-8")
        shutil.rmtree(copy, ignore_errors=True)
    cold_s, noop_s = summarise(cold), summarise(noop)
    return {
        "cold_pipeline": cold_s,
        "noop_repro": noop_s,
        "noop_share": round(noop_s["median_s"] / cold_s["median_s"], 4),
        "report_param_change_reruns": stages,
        "report_param_change_only_reports": bool(stages) and set(stages) <= {"report", "index"},
    }


# ------------------------------------------------------------------------------ main


def run(opts: argparse.Namespace) -> dict[str, Any]:
    """Every figure; returns the results document."""
    work = Path(opts.work) if opts.work else Path(tempfile.mkdtemp(prefix="hubspoke-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    big = opts.big_scale
    # The DVC figures come first: figure 5 is an absolute time, and this kind of virtual
    # machine runs 15-25% slower after minutes of sustained load (measured: cold runs of
    # 53-61 s at the end of the suite against 45-48 s on a rested machine).
    dvc = dvc_figures(work, opts.runs, opts.pipeline_runs) if opts.pipeline_runs > 0 else None
    raw1 = synthesise(work / "raw-1", 1.0)
    raw_big = synthesise(work / f"raw-{big:g}", big)
    results: dict[str, Any] = {
        "machine": {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },  # fmt: skip
        "settings": {
            "runs": opts.runs,
            "big_runs": opts.big_runs,
            "big_scale": big,
            "pipeline_runs": opts.pipeline_runs,
            "seed": SEED,
        },  # fmt: skip
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }

    log("kernel start: one-cell notebook as a stage runs it vs bare interpreter ...")
    nb = kernel_notebook(work / "kernel.ipynb")
    k = interleaved(
        {
            "papermill_one_cell": lambda: measure(
                py("-m", "analysis", "run", str(nb), str(work / "kernel-out.ipynb"))
            ),
            "python_import_analysis": lambda: measure(py("-c", "import analysis")),
        },
        opts.runs,
    )
    results["kernel_start"] = {
        **k,
        "per_kernel_start_s": round(
            k["papermill_one_cell"]["median_s"] - k["python_import_analysis"]["median_s"], 2
        ),
    }

    def plain(raw: Path, tag: str) -> Callable[[], dict]:
        return lambda: measure(
            plain_steps(raw, fresh(work / f"proc-{tag}"), fresh(work / f"an-{tag}"))
        )

    log("growth: clean + analyse in plain Python at scale 1 ...")
    small = interleaved({"plain_scale_1": plain(raw1, "1")}, opts.runs)

    log(f"papermill vs plain, and clean vs read, at scale {big:g} ...")
    clean_only = py("-m", "analysis", "clean")
    big_cmds: dict[str, Callable[[], dict]] = {
        "plain": plain(raw_big, "big"),
        "papermill": lambda: measure(
            papermill_steps(
                raw_big, fresh(work / "proc-pm"), fresh(work / "an-pm"), fresh(work / "nb-pm")
            )
        ),  # fmt: skip
        "clean_only": lambda: measure([*clean_only, str(raw_big), str(fresh(work / "proc-c"))]),
        "read_floor": lambda: measure(py(str(Path(__file__).resolve()), "--_read", str(raw_big))),
    }
    b = interleaved(big_cmds, opts.big_runs)
    results["papermill_overhead"] = {
        "plain": b["plain"],
        "papermill": b["papermill"],
        "ratio": round(b["papermill"]["median_s"] / b["plain"]["median_s"], 3),
        "kernel_starts": 1 + len(YEARS),
    }
    results["clean_vs_read"] = {
        "clean": b["clean_only"],
        "read_floor": b["read_floor"],
        "reader": "openpyxl read_only=True, data_only=True (workbooks); pandas engine='pyarrow' "
        "(CSV); python-calamine is not installed",
        "ratio": round(b["clean_only"]["median_s"] / b["read_floor"]["median_s"], 3),
    }
    t1, tb = small["plain_scale_1"]["median_s"], b["plain"]["median_s"]
    results["growth"] = {
        "scale_1": small["plain_scale_1"],
        f"scale_{big:g}": b["plain"],
        "ratio": round(tb / t1, 3),
        "exponent": round(math.log(tb / t1) / math.log(big), 3),
        "peak_mib": max(small["plain_scale_1"]["peak_mib"], b["plain"]["peak_mib"]),
    }

    if dvc is not None:
        results["dvc"] = dvc

    if opts.make_test:
        log("make test ...")
        try:
            results["make_test"] = summarise([measure(["make", "test"], cwd=ROOT)])
        except RuntimeError as exc:  # the other figures are still worth writing
            log(f"make test failed:\n{exc}")
            results["make_test"] = {"failed": str(exc)[-2000:]}
    if not opts.work:
        shutil.rmtree(work, ignore_errors=True)
    return results


def _status(value: float | None, target: float) -> str:
    if value is None:
        return "not measured"
    return "met" if value <= target else "**not met**"


def table(res: dict[str, Any]) -> str:
    """The Markdown table of figures and targets."""
    big = res["settings"]["big_scale"]
    rows = [("Figure", "Measured", "Target", "Status")]
    po, cr, gr = res["papermill_overhead"], res["clean_vs_read"], res["growth"]
    ks = res["kernel_start"]
    rows.append((f"1. papermill / plain Python, clean + analyse ×4 at scale {big:g}",
                 f"{po['papermill']['median_s']} s / {po['plain']['median_s']} s = "
                 f"{po['ratio']}×", "≤ 1.3×", _status(po["ratio"], 1.3)))  # fmt: skip
    rows.append(("1. fixed cost per kernel start (one-cell notebook − bare `import analysis`)",
                 f"{ks['per_kernel_start_s']} s ({ks['papermill_one_cell']['median_s']} s − "
                 f"{ks['python_import_analysis']['median_s']} s)", "report", "—"))  # fmt: skip
    dvc = res.get("dvc")
    if dvc:
        rows.append(("2. no-op `dvc repro` / cold run",
                     f"{dvc['noop_repro']['median_s']} s / {dvc['cold_pipeline']['median_s']} s"
                     f" = {dvc['noop_share']:.1%}", "≤ 5%",
                     _status(dvc["noop_share"], 0.05)))  # fmt: skip
        rows.append(("2. stages a report-only parameter change re-runs",
                     ", ".join(dvc["report_param_change_reruns"]) or "none",
                     "report stages only",
                     "met" if dvc["report_param_change_only_reports"] else "**not met**"))  # fmt: skip
    rows.append((f"3. clean / read floor at scale {big:g}",
                 f"{cr['clean']['median_s']} s / {cr['read_floor']['median_s']} s = "
                 f"{cr['ratio']}×", "≤ 2×", _status(cr["ratio"], 2.0)))  # fmt: skip
    rows.append((f"4. growth of clean + analyse, scale 1 → {big:g}",
                 f"{gr['scale_1']['median_s']} s → {gr[f'scale_{big:g}']['median_s']} s = "
                 f"{gr['ratio']}× (exponent {gr['exponent']})", "≤ 12×",
                 _status(gr["ratio"], 12.0)))  # fmt: skip
    rows.append(("4. peak memory (largest process tree)", f"{gr['peak_mib']:.0f} MiB",
                 "< 4096 MiB", _status(gr["peak_mib"], 4096.0)))  # fmt: skip
    if dvc:
        cp = dvc["cold_pipeline"]
        rows.append(("5. cold full pipeline at default scale (`dvc repro`, fresh copy)",
                     f"{cp['median_s']} s (runs: {cp['runs']})", "< 60 s",
                     _status(cp["median_s"], 60.0)))  # fmt: skip
    mt = res.get("make_test")
    if mt and "failed" in mt:
        rows.append(("6. `make test`", "failed (see results.json)", "< 1200 s", "**not met**"))
    else:
        rows.append(("6. `make test`", f"{mt['median_s']} s" if mt else "not run (--make-test)",
                     "< 1200 s", _status(mt["median_s"] if mt else None, 1200.0)))  # fmt: skip
    lines = ["| " + " | ".join(r) + " |" for r in rows]
    lines.insert(1, "|---|---|---|---|")
    s = res["settings"]
    head = (f"Measured {res['date']} on {res['machine']['cores']} cores (Python "
            f"{res['machine']['python']}); medians of {s['runs']} runs (scale 1, kernel start, "
            f"no-op repro), {s['big_runs']} run(s) at scale {big:g} and "
            f"{s['pipeline_runs']} cold pipeline run(s).")  # fmt: skip
    return head + "\n\n" + "\n".join(lines) + "\n"


def write_readme(markdown: str) -> None:
    """Replace the results section of bench/README.md (between the markers)."""
    readme = BENCH / "README.md"
    text = readme.read_text("utf-8")
    block = f"{README_START}\n{markdown}{README_END}"
    if README_START in text and README_END in text:
        pre, rest = text.split(README_START, 1)
        post = rest.split(README_END, 1)[1]
        text = pre + block + post
    else:
        text = text.rstrip("\n") + "\n\n## Latest results\n\n" + block + "\n"
    readme.write_text(text, "utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of the quick measurements")
    parser.add_argument("--big-runs", type=int, default=3, help="runs at the big scale")
    # The figures are at scale 10 (160 services, about 5 minutes of the suite per
    # run); pass --big-scale to trade fidelity for time.
    parser.add_argument("--big-scale", type=float, default=10.0)
    parser.add_argument("--pipeline-runs", type=int, default=5,
                        help="cold full pipeline runs (0 skips the DVC figures)")  # fmt: skip
    parser.add_argument("--work", default=None, help="keep synthetic data here (reused)")
    parser.add_argument("--make-test", action="store_true", help="also time `make test`")
    parser.add_argument("--out", default=str(BENCH / "results.json"))
    parser.add_argument("--no-readme", action="store_true")
    opts = parser.parse_args(argv)
    results = run(opts)
    Path(opts.out).write_text(json.dumps(results, indent=2) + "\n", "utf-8")
    markdown = table(results)
    if not opts.no_readme:
        write_readme(markdown)
    print(markdown)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--_measure":
        sys.exit(_measure_child(sys.argv[3:]))
    if len(sys.argv) > 1 and sys.argv[1] == "--_plain":
        sys.exit(_plain(*(Path(a) for a in sys.argv[2:5])))
    if len(sys.argv) > 1 and sys.argv[1] == "--_read":
        sys.exit(_read_floor(Path(sys.argv[2])))
    sys.exit(main())
