"""Command-line entry point: ``python -m analysis <step> ...``.

Each step calls the same library function the pipeline's notebooks call, so scripts,
tests and the DVC pipeline share one implementation. Errors the user can act on are
printed as one line and exit non-zero; they never end in a bare traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from analysis.core import catalog, paths
from analysis.core.errors import UserError
from analysis.runner.execute import skip_slow_iri_checker

__all__ = ["UserError", "build_parser", "main"]


def _cmd_synthesise(args: argparse.Namespace) -> int:
    from analysis.synthesise import programme as synthesise

    try:
        summary = synthesise.synthesise_programme(
            Path(args.out_dir),
            seed=args.seed,
            scale=args.scale,
            params_file=args.params,
            jobs=args.jobs,
            scenarios=args.scenario,
        )
    except (ValueError, FileExistsError) as exc:
        raise UserError(str(exc)) from exc
    print(summary)
    return 0


def _cmd_clean(args: argparse.Namespace) -> int:
    from analysis.clean import pipeline as clean

    summary = clean.clean_returns(Path(args.raw_dir), Path(args.out_dir), params_file=args.params)
    print(summary)
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from analysis.core import checks
    from analysis.core.settings import load_params
    from analysis.runner.notebook import check_pair_in_sync

    if args.notebooks:
        for notebook in sorted(Path(args.notebooks).glob("*.ipynb")):
            check_pair_in_sync(notebook)
    params_file = Path(args.params) if args.params else paths.PARAMS_FILE
    years = checks.check_years(
        load_params(params_file),
        dvc_file=Path(args.dvc_file),
        processed_dir=Path(args.processed_dir) if args.processed_dir else None,
    )
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        # The same bytes for any valid set of years, so that adding a year re-runs only the
        # stages that use `years`, not the ones that merely wait for this check.
        out.write_text('{"params_checked": true}\n', encoding="utf-8")
    print(f"params.yaml: {len(years)} evaluation year(s) {', '.join(years)}: OK")
    return 0


def _cmd_analyse(args: argparse.Namespace) -> int:
    from analysis.analyse import year as evaluation
    from analysis.core.settings import load_settings

    settings = load_settings()
    given = {
        "cutoff_days": args.cutoff_days,
        "min_people": args.min_people,
        "min_assessments": args.min_assessments,
    }
    if args.year is None:
        args.year = settings.years[-1]
    out_dir = Path(args.out_dir) if args.out_dir else paths.INTERIM_DIR / args.year
    metrics = evaluation.evaluate_year(
        Path(args.processed_dir),
        args.year,
        out_dir=out_dir,
        **{
            **evaluation.year_arguments(settings),
            **{k: v for k, v in given.items() if v is not None},
        },
        metrics_file=Path(args.metrics_file) if args.metrics_file else None,
    )
    print(f"{args.year}: {len(metrics)} metrics written to {out_dir}")
    return 0


def _cmd_render(args: argparse.Namespace) -> int:
    from analysis.publish import render

    try:
        out = render.render_report_html(Path(args.notebook), Path(args.out_html), title=args.title)
    except render.RenderError as exc:
        raise UserError(str(exc)) from exc
    print(out)
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from analysis.core import checks
    from analysis.core.settings import default_jobs, load_params
    from analysis.runner import execute
    from analysis.runner.notebook import check_pair_in_sync, resolve_dir

    parameters = execute.parse_parameters(args.parameters_yaml)
    notebook = Path(args.notebook)
    check_pair_in_sync(notebook)  # never run a notebook its .py pair disagrees with
    if args.years and not args.each_year:
        raise UserError("--years needs --each-year")
    if args.each_year and "year" in parameters:
        raise UserError("with --each-year the year parameter is set per run: drop it from -y")
    if args.each_year:
        if args.years:
            years = checks.check_years({"years": args.years}, coverage=False)
        else:
            # Refuse a year that cannot be run before any notebook starts.
            processed = parameters.get("processed_dir")
            years = checks.check_years(
                load_params(paths.PARAMS_FILE),
                dvc_file=paths.ROOT / "dvc.yaml" if (paths.ROOT / "dvc.yaml").exists() else None,
                processed_dir=resolve_dir(processed, default=paths.PROCESSED_DIR)
                if processed
                else None,
            )
        runs = execute.year_runs(
            notebook, args.output, parameters, years, html=args.html, title=args.title
        )
    else:
        html = Path(args.html) if args.html else None
        runs = [execute.NotebookRun(notebook, Path(args.output), parameters, html, args.title)]
    jobs = args.jobs if args.jobs is not None else default_jobs()
    execute.run_notebooks(runs, jobs=jobs)
    return 0


def _cmd_aqa(args: argparse.Namespace) -> int:
    from analysis.publish import render

    src, dst = Path(args.src_dir), Path(args.out_dir)
    pages = sorted(src.glob("*.md"))
    if not pages:
        raise UserError(f"no Markdown pages in {src}")
    for page in pages:
        title = page.read_text("utf-8").splitlines()[0].lstrip("# ").strip()
        print(render.render_markdown_page(page, dst / f"{page.stem}.html", title=title))
    return 0


def _cmd_keygen(args: argparse.Namespace) -> int:
    from analysis.clean.pseudonymise import KEY_FILE_ENV, write_key_file

    path = write_key_file(Path(args.path))
    print(
        f"Wrote a new pseudonymisation key to {path} (readable by you only). Use it with "
        f"`export {KEY_FILE_ENV}={path}`; keep it outside the repository, and keep it as long "
        "as the raw returns (see docs/data-protection.md)."
    )
    return 0


def _cmd_real_data(args: argparse.Namespace) -> int:
    from analysis.runner import realdata

    ws = realdata.plan(args.folder, params_file=args.params)
    kind = (
        "synthetic returns (they carry the generator's marker: the seed-derived key is used)"
        if ws.synthetic
        else "real returns (pseudonymised with the key in HUBSPOKE_KEY_FILE)"
    )
    print(f"real-data run in {ws.root}: {kind}; every check passed")
    if args.check:
        return 0
    realdata.prepare(ws)
    code = realdata.run(ws)
    if code:
        raise UserError(f"the pipeline stopped (dvc repro exited {code}): see the messages above")
    print(f"Reports: {ws.root / 'reports' / 'index.html'}")
    return 0


def _cmd_erasure(args: argparse.Namespace) -> int:
    from analysis.clean.erasure import find_person, output_folders

    folder = Path(args.folder) if args.folder else paths.output_root()
    raw = folder / "data" / "raw"
    if not raw.is_dir():
        raise UserError(f"{raw} does not exist: name the data folder whose data/raw to search")
    try:
        held = find_person(args.case_id, raw, output_folders(folder), service=args.service)
    except ValueError as exc:
        raise UserError(str(exc)) from exc
    where = f"{args.service} in {folder}" if args.service else str(folder)
    for line in held:
        print(line)
    if held:
        raw_files = len({h.where for h in held if h.where.startswith("data/raw/")})
        print(
            f"This young person ({where}) is held in {len({h.where for h in held})} file(s), "
            f"{raw_files} of them raw returns: remove the raw rows, re-run the pipeline and "
            "run this again (docs/data-protection.md, 'Erasure')."
        )
        return 1
    print(f"No record of this young person remains ({where}).")
    return 0


def _cmd_index(args: argparse.Namespace) -> int:
    from analysis.report import index

    print(index.build_index(Path(args.reports_dir)))
    return 0


def _cmd_audit(args: argparse.Namespace) -> int:
    from analysis.publish.disclosure.audit import AuditError, audit_reports

    try:
        reasons = Path(args.reasons) if args.reasons else None
        result = audit_reports(Path(args.reports_dir), exact=args.exact, reasons=reasons)
    except AuditError as exc:
        raise UserError(str(exc)) from exc
    text = result.report()
    if args.failures_only:
        text = "\n".join([*(f.describe() for f in result.failures), text.splitlines()[-1]])
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(result.report() + "\n", encoding="utf-8")
    print(text)
    return 0 if result.passed else 1


def _cmd_publish(args: argparse.Namespace) -> int:
    from analysis.publish import release

    target = release.freeze(Path(args.reports_dir), args.year, overwrite=args.overwrite)
    print(f"{args.year} frozen in {target} (tables and statistics.json with their hashes)")
    return 0


def _year(text: str) -> str:
    """An argparse type: an evaluation year label like 2015-16."""
    from analysis.core.calendar import parse_year

    try:
        parse_year(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an evaluation year: write it like 2015-16"
        ) from exc
    return text


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each argument's default, unless its help already says it or it has none."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if action.default in (None, False, argparse.SUPPRESS) or "(default" in text:
            return text
        return super()._get_help_string(action)


def _rel(path: Path) -> str:
    """A default path as shown in --help (relative to the project root when inside it)."""
    try:
        return str(path.relative_to(paths.ROOT))
    except ValueError:
        return str(path)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every step (kept separate so tests can inspect it).

    Every argument has help text and a default; folders default to the pipeline's own
    (``analysis.paths``), so ``python -m analysis clean`` cleans ``data/raw`` into
    ``data/processed`` as the DVC stage does.
    """
    fmt = _HelpFormatter
    parser = argparse.ArgumentParser(
        prog="python -m analysis", description=__doc__, formatter_class=fmt
    )
    sub = parser.add_subparsers(dest="step", required=True, metavar="STEP")
    params_help = "parameters file (default: the project's params.yaml)"
    jobs_help = "processes at once (default: HUBSPOKE_JOBS or the number of cores)"
    raw, processed = _rel(paths.RAW_DIR), _rel(paths.PROCESSED_DIR)

    p = sub.add_parser(
        "synthesise", help="write a synthetic programme's raw returns", formatter_class=fmt
    )
    p.add_argument("out_dir", nargs="?", default=raw, help="folder to write the returns to")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: params.yaml)")
    p.add_argument(
        "--scale", type=float, default=None, help="size multiplier K (default: params.yaml)"
    )
    p.add_argument("--params", default=None, help=params_help)
    p.add_argument("--jobs", type=int, default=None, help=jobs_help)
    p.add_argument(
        "--scenario",
        default=None,
        metavar="NAME[,NAME]",
        help="stress scenarios: chosen_on_need, anticipation, dynamic_effects, "
        "national_decline (the area panel), slow_recruitment (the spoke posts) (strengths: synthetic.scenarios in params.yaml; "
        "default: none, the default world)",
    )
    p.set_defaults(func=_cmd_synthesise)

    p = sub.add_parser(
        "clean",
        help="validate, harmonise and pseudonymise raw returns",
        formatter_class=fmt,
    )
    p.add_argument("raw_dir", nargs="?", default=raw, help="folder of the returns received")
    p.add_argument("out_dir", nargs="?", default=processed, help="folder for the cleaned tables")
    p.add_argument("--params", default=None, help=params_help)
    p.set_defaults(func=_cmd_clean)

    p = sub.add_parser(
        "check",
        help="check params.yaml's evaluation years before any work starts",
        formatter_class=fmt,
    )
    p.add_argument("--params", default=None, help=params_help)
    p.add_argument(
        "--dvc-file",
        default=_rel(paths.ROOT / "dvc.yaml"),
        help="pipeline file that must list every year's outputs",
    )
    p.add_argument(
        "--processed-dir",
        default=None,
        help="cleaned data whose returns the years must lie within (real data)",
    )
    p.add_argument(
        "--notebooks",
        default=None,
        help="also refuse a notebook whose jupytext .py pair holds other cells (this folder)",
    )
    p.add_argument(
        "--out", default=None, help="file to write when the check passes (the DVC stage's out)"
    )
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser(
        "analyse", help="one evaluation year's outcome measures and models", formatter_class=fmt
    )
    p.add_argument("processed_dir", nargs="?", default=processed, help="cleaned tables")
    p.add_argument(
        "year",
        nargs="?",
        type=_year,
        default=None,
        help="evaluation year (default: the last of params.yaml's years)",
    )
    p.add_argument(
        "out_dir",
        nargs="?",
        default=None,
        help="folder for the year's analysis (default: data/interim/YEAR)",
    )
    p.add_argument("--metrics-file", default=None, help="also write the metrics JSON here")
    p.add_argument(
        "--cutoff-days",
        type=int,
        default=None,
        help="days after 31 August returns may arrive (default: params.yaml)",
    )
    p.add_argument(
        "--min-people",
        type=int,
        default=None,
        help="fewest young people with repeat assessments for the trajectory model "
        "(default: params.yaml)",
    )
    p.add_argument(
        "--min-assessments",
        type=int,
        default=None,
        help="fewest assessments a young person needs in the trajectory model "
        "(default: params.yaml)",
    )
    p.set_defaults(func=_cmd_analyse)

    p = sub.add_parser(
        "render", help="executed report notebook -> self-contained HTML", formatter_class=fmt
    )
    p.add_argument("notebook", help="the executed report notebook")
    p.add_argument("out_html", help="the HTML file to write")
    p.add_argument("--title", default="Hub and Spoke evaluation", help="title of the page")
    p.set_defaults(func=_cmd_render)

    p = sub.add_parser(
        "run",
        help="execute a parameterised notebook with papermill (optionally per year, to HTML)",
        formatter_class=fmt,
    )
    p.add_argument("notebook", help="the notebook to execute (e.g. notebooks/03_analyse.ipynb)")
    p.add_argument("output", help="executed notebook path; with --each-year it holds {year}")
    p.add_argument(
        "-y",
        "--parameters-yaml",
        default=None,
        help="notebook parameters as a YAML mapping; {year} in strings is filled per year",
    )
    p.add_argument("--html", default=None, help="also render the executed notebook to this HTML")
    p.add_argument("--title", default=None, help="title of the HTML page")
    p.add_argument(
        "--each-year",
        action="store_true",
        help="run once per evaluation year (--years, default: params.yaml 'years')",
    )
    p.add_argument(
        "--years", nargs="+", type=_year, default=None, help="evaluation years for --each-year"
    )
    p.add_argument("--jobs", type=int, default=None, help=jobs_help)
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser(
        "aqa", help="render the quality-assurance pages (Markdown) to HTML", formatter_class=fmt
    )
    p.add_argument("src_dir", nargs="?", default="docs/aqa", help="folder of Markdown pages")
    p.add_argument("out_dir", nargs="?", default="reports/aqa", help="folder for the HTML")
    p.set_defaults(func=_cmd_aqa)

    p = sub.add_parser(
        "index",
        help="write reports/index.html linking every year's report",
        formatter_class=fmt,
    )
    p.add_argument(
        "reports_dir", nargs="?", default=_rel(paths.REPORTS_DIR), help="the reports folder"
    )
    p.set_defaults(func=_cmd_index)

    p = sub.add_parser(
        "audit",
        help="audit every release in REPORTS_DIR as one system: print each suppressed "
        "cell's deducible range and the verdict (exit 1 when a cell is disclosed)",
        formatter_class=fmt,
    )
    p.add_argument(
        "reports_dir", nargs="?", default=_rel(paths.REPORTS_DIR), help="the reports folder"
    )
    p.add_argument("--failures-only", action="store_true", help="print only the cells that fail")
    p.add_argument(
        "--exact",
        action="store_true",
        help="the exact range of every cell (slower; by default a cell is not solved "
        "further once feasible points show a passing range)",
    )
    p.add_argument(
        "--out", default=None, help="also write every range and the verdict to this file"
    )
    p.add_argument(
        "--reasons",
        default=None,
        help="the report stage's private folder saying which suppressed cells are small "
        f"({catalog.SUPPRESSION}): each cell is then judged by its own rule (without it, a "
        "cell passes if it meets either)",
    )
    p.set_defaults(func=_cmd_audit)

    p = sub.add_parser(
        "publish",
        help="freeze YEAR's release (its tables and statistics with their hashes) in "
        "REPORTS_DIR/releases/YEAR; later audits read it as public",
        formatter_class=fmt,
    )
    p.add_argument("year", type=_year, help="the evaluation year, e.g. 2015-16")
    p.add_argument(
        "reports_dir", nargs="?", default=_rel(paths.REPORTS_DIR), help="the reports folder"
    )
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a frozen release (only one nobody has seen)",
    )
    p.set_defaults(func=_cmd_publish)

    p = sub.add_parser(
        "keygen",
        help="write a new pseudonymisation key for real data (outside the repository)",
        formatter_class=fmt,
    )
    p.add_argument("path", help="the key file to create (never overwritten; mode 600)")
    p.set_defaults(func=_cmd_keygen)

    p = sub.add_parser(
        "real-data",
        help="run the pipeline on real returns in a folder outside the repository",
        formatter_class=fmt,
    )
    p.add_argument(
        "folder",
        nargs="?",
        default=None,
        help="the real-data folder: returns in FOLDER/data/raw, every output under FOLDER "
        "(default: HUBSPOKE_DATA_ROOT)",
    )
    p.add_argument("--params", default=None, help="parameters (default: the project's params.yaml)")
    p.add_argument("--check", action="store_true", help="only make the checks; write nothing")
    p.set_defaults(func=_cmd_real_data)

    p = sub.add_parser(
        "erasure",
        help="list every raw row and processed row that holds one young person "
        "(exit 1 while any remains)",
        formatter_class=fmt,
    )
    p.add_argument("case_id", help="the young person's case ID at the service")
    p.add_argument(
        "folder",
        nargs="?",
        default=None,
        help="the data folder: raw returns in FOLDER/data/raw, outputs under FOLDER "
        "(default: HUBSPOKE_DATA_ROOT, else the repository)",
    )
    p.add_argument("--service", default=None, help="the service the case ID belongs to (e.g. S01)")
    p.set_defaults(func=_cmd_erasure)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one step; return the process exit code."""
    skip_slow_iri_checker()
    try:
        parser = build_parser()  # its defaults read HUBSPOKE_DATA_ROOT, which may be refused
        args = parser.parse_args(argv)
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (FileNotFoundError, PermissionError, NotADirectoryError, IsADirectoryError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
