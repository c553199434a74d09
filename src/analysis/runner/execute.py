"""Executing the pipeline's parameterised notebooks with papermill.

Every notebook stage of ``dvc.yaml`` runs through ``python -m analysis run``, which

* executes a notebook with papermill in its own ``python3`` kernel, with parameters given
  as YAML (so ``true``/``false`` stay booleans and year labels stay strings);
* with ``--each-year``, does so once per evaluation year: ``{year}`` in the output path,
  the HTML path, the title and any string parameter is replaced by the year and a
  ``year`` parameter is added. Up to ``--jobs`` notebooks run at once, each in its own
  kernel, so a 2-core machine runs two years side by side;
* with ``--html``, renders each executed notebook to a self-contained HTML report
  (:func:`analysis.render.render_report_html`) in the same process.

One process for all of that, rather than the ``papermill`` command and a second
``render`` process per year, is what keeps the cold pipeline fast: every Python process
that imports papermill or nbconvert pays about 1 s of imports (more without
:func:`skip_slow_iri_checker`), and each kernel pays its own imports again
(``bench/README.md`` has the measurements). The executed notebooks are written for
inspection only; no stage reads them except to render them.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import yaml

from analysis.core.errors import UserError

KERNEL = "python3"
LANGUAGE = "python"
YEAR = "{year}"
# Longest Unix socket path zmq accepts on Linux (sun_path is 108 bytes with its NUL; macOS
# allows 103): a socket folder whose path is longer falls back to TCP.
IPC_PATH_MAX = 100


def skip_slow_iri_checker() -> None:
    """Keep jsonschema from importing ``rfc3987_syntax`` in this process.

    jsonschema's format checker imports ``rfc3987_syntax`` when it is installed (JupyterLab's
    ``jupyter-events`` pulls it in), and that module compiles a Lark grammar at import time:
    about 1.4 s in every process that imports nbformat, papermill or nbconvert
    (python-jsonschema/jsonschema#1428). It only checks the ``iri`` string format, which
    the notebook schema never uses, so hiding it changes no validation the pipeline does.
    Must run before jsonschema is first imported; a no-op afterwards.
    """
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


@dataclass(frozen=True)
class NotebookRun:
    """One execution of a notebook: where it goes and with which parameters."""

    notebook: Path
    output: Path
    parameters: dict[str, Any] = field(default_factory=dict)
    html: Path | None = None
    title: str | None = None
    label: str = ""

    @property
    def name(self) -> str:
        """Short name for progress messages, e.g. ``04_report 2015-16``."""
        return f"{self.notebook.stem} {self.label}".strip()


def parse_parameters(text: str | None) -> dict[str, Any]:
    """The YAML mapping given with ``-y`` (empty text: no parameters)."""
    if not text or not text.strip():
        return {}
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UserError(f"notebook parameters are not valid YAML: {exc}") from exc
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UserError(f"notebook parameters must be a YAML mapping, not {text!r}")
    return value


def _fill(value: Any, year: str) -> Any:
    """``value`` with ``{year}`` replaced by ``year`` in every string it holds."""
    if isinstance(value, str):
        return value.replace(YEAR, year)
    if isinstance(value, list):
        return [_fill(v, year) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, year) for k, v in value.items()}
    return value


def year_runs(
    notebook: Path,
    output: str,
    parameters: Mapping[str, Any],
    years: Sequence[str],
    *,
    html: str | None = None,
    title: str | None = None,
) -> list[NotebookRun]:
    """One :class:`NotebookRun` per year, ``{year}`` filled in and a ``year`` parameter added.

    The output (and HTML) path must contain ``{year}``, so that no two years write the
    same file.
    """
    if not years:
        raise UserError("--each-year needs at least one evaluation year")
    for what, pattern in (("output notebook", output), ("--html", html)):
        if pattern is not None and YEAR not in pattern:
            raise UserError(f"with --each-year the {what} path must contain {YEAR}: {pattern}")
    if len(set(years)) != len(years):
        raise UserError(f"evaluation years repeat: {list(years)}")
    return [
        NotebookRun(
            notebook=notebook,
            output=Path(output.replace(YEAR, year)),
            parameters={**_fill(dict(parameters), year), "year": year},
            html=Path(html.replace(YEAR, year)) if html else None,
            title=title.replace(YEAR, year) if title else None,
            label=year,
        )
        for year in years
    ]


def execute(run: NotebookRun) -> float:
    """Execute one notebook with papermill (and render it); return the seconds taken."""
    skip_slow_iri_checker()
    import papermill
    from traitlets.config import Config

    start = time.perf_counter()
    run.output.parent.mkdir(parents=True, exist_ok=True)
    # The kernel talks over Unix sockets in a folder of its own, not TCP ports, so the
    # kernels a stage starts at once cannot race for the same port (a known cause of
    # "Kernel died before replying to kernel_info", jupyter/jupyter_client#154).
    with tempfile.TemporaryDirectory(prefix="hubspoke-kernel-") as sockets:
        transport = Config({"KernelManager": {"transport": "ipc", "ip": f"{sockets}/kernel"}})
        if len(f"{sockets}/kernel-5") > IPC_PATH_MAX:  # a long TMPDIR: fall back to TCP
            transport = Config()
        try:
            papermill.execute_notebook(
                str(run.notebook),
                str(run.output),
                parameters=run.parameters,
                kernel_name=KERNEL,
                language=LANGUAGE,
                progress_bar=False,
                config=transport,
                # Once the last cell has finished the kernel holds nothing to save (every
                # file a cell writes is closed), so stop it at once instead of waiting for it
                # to exit gracefully (a graceful exit cost 02_clean 1.3 s of its 7.4 s).
                shutdown_kernel="immediate",
            )
        except papermill.PapermillExecutionError as exc:
            raise UserError(
                f"{run.name}: cell {exc.exec_count} raised {exc.ename}: {exc.evalue} "
                f"(the executed notebook, with the traceback, is {run.output})"
            ) from None
    if run.html is not None:
        from analysis.publish import render

        try:
            render.render_report_html(run.output, run.html, title=run.title or run.name)
        except render.RenderError as exc:
            raise UserError(f"{run.name}: {exc}") from exc
    return time.perf_counter() - start


def _preload(runs: Sequence[NotebookRun]) -> None:
    """Import papermill (and the renderer) once, before any worker process is forked."""
    skip_slow_iri_checker()
    import papermill  # noqa: F401

    if any(run.html is not None for run in runs):
        from analysis import render  # noqa: F401


def _progress(message: str) -> None:
    print(message, flush=True)


def _finished(run: NotebookRun, seconds: float) -> str:
    return f"finished {run.name} -> {run.output} in {seconds:.1f} s"


def _failure(run: NotebookRun, exc: BaseException) -> str:
    """One line for a failed run; a :class:`UserError` already names the run."""
    if isinstance(exc, UserError):
        return str(exc)
    return f"{run.name}: {type(exc).__name__}: {exc} (executed notebook: {run.output})"


def run_notebooks(
    runs: Sequence[NotebookRun],
    *,
    jobs: int = 1,
    report: Callable[[str], None] = _progress,
) -> None:
    """Execute ``runs``, up to ``jobs`` at a time (each in its own kernel).

    The runs are independent, so their outputs do not depend on ``jobs`` or on the order
    they finish in. The last run (the latest year, usually the largest) starts first. If
    any run fails, for any reason (a cell's error, a kernel that dies or never starts, a
    worker process killed), the others still finish, and one :class:`UserError` names
    every failure.
    """
    if jobs < 1:
        raise UserError(f"--jobs must be at least 1, not {jobs}")
    if not runs:
        return
    for run in runs:
        if not run.notebook.is_file():
            raise UserError(f"notebook not found: {run.notebook}")
    _preload(runs)
    order = list(reversed(runs))
    failures: list[str] = []
    workers = min(jobs, len(order))
    report(f"running {len(order)} notebook(s), {workers} at a time")
    if workers == 1:
        for run in order:
            try:
                report(_finished(run, execute(run)))
            except Exception as exc:  # every failure is reported, none lost
                failures.append(_failure(run, exc))
    else:
        method = "fork" if sys.platform.startswith("linux") else "spawn"
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context(method)) as pool:
            futures = {pool.submit(execute, run): run for run in order}
            for future in as_completed(futures):
                run = futures[future]
                try:
                    report(_finished(run, future.result()))
                except Exception as exc:  # every failure is reported, none lost
                    failures.append(_failure(run, exc))
    if failures:
        raise UserError("; ".join(sorted(failures)))
