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

from analysis.errors import UserError
from analysis.execute import skip_slow_iri_checker

__all__ = ["UserError", "build_parser", "main"]


def _cmd_synthesise(args: argparse.Namespace) -> int:
    from analysis import synthesise

    try:
        summary = synthesise.synthesise_programme(
            Path(args.out_dir),
            seed=args.seed,
            scale=args.scale,
            params_file=args.params,
            jobs=args.jobs,
        )
    except (ValueError, FileExistsError) as exc:
        raise UserError(str(exc)) from exc
    print(summary)
    return 0


def _cmd_clean(args: argparse.Namespace) -> int:
    from analysis import clean

    summary = clean.clean_returns(Path(args.raw_dir), Path(args.out_dir), params_file=args.params)
    print(summary)
    return 0


def _cmd_analyse(args: argparse.Namespace) -> int:
    from analysis import evaluation

    metrics = evaluation.evaluate_year(
        Path(args.processed_dir),
        args.year,
        out_dir=Path(args.out_dir),
        cutoff_days=args.cutoff_days,
        min_people=args.min_people,
        metrics_file=Path(args.metrics_file) if args.metrics_file else None,
    )
    print(f"{args.year}: {len(metrics)} metrics written to {args.out_dir}")
    return 0


def _cmd_render(args: argparse.Namespace) -> int:
    from analysis import render

    try:
        out = render.render_report_html(Path(args.notebook), Path(args.out_html), title=args.title)
    except render.RenderError as exc:
        raise UserError(str(exc)) from exc
    print(out)
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from analysis import execute
    from analysis.config import default_jobs, load_params

    parameters = execute.parse_parameters(args.parameters_yaml)
    notebook = Path(args.notebook)
    if args.years and not args.each_year:
        raise UserError("--years needs --each-year")
    if args.each_year and "year" in parameters:
        raise UserError("with --each-year the year parameter is set per run: drop it from -y")
    if args.each_year:
        years = args.years or [str(y) for y in load_params().get("years") or []]
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
    from analysis import render

    src, dst = Path(args.src_dir), Path(args.out_dir)
    pages = sorted(src.glob("*.md"))
    if not pages:
        raise UserError(f"no Markdown pages in {src}")
    for page in pages:
        title = page.read_text("utf-8").splitlines()[0].lstrip("# ").strip()
        print(render.render_markdown_page(page, dst / f"{page.stem}.html", title=title))
    return 0


def _cmd_index(args: argparse.Namespace) -> int:
    from analysis import index

    print(index.build_index(Path(args.reports_dir)))
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every step (kept separate so tests can inspect it)."""
    parser = argparse.ArgumentParser(prog="python -m analysis", description=__doc__)
    sub = parser.add_subparsers(dest="step", required=True)

    p = sub.add_parser("synthesise", help="write a synthetic programme's raw returns")
    p.add_argument("out_dir")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: params.yaml)")
    p.add_argument(
        "--scale", type=float, default=None, help="size multiplier K (default: params.yaml)"
    )
    p.add_argument(
        "--params", default=None, help="parameters file (default: the project's params.yaml)"
    )
    p.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="processes writing services' files (default: HUBSPOKE_JOBS or the cores)",
    )
    p.set_defaults(func=_cmd_synthesise)

    p = sub.add_parser("clean", help="validate, harmonise and pseudonymise raw returns")
    p.add_argument("raw_dir")
    p.add_argument("out_dir")
    p.add_argument(
        "--params", default=None, help="parameters file (default: the project's params.yaml)"
    )
    p.set_defaults(func=_cmd_clean)

    p = sub.add_parser("analyse", help="one evaluation year's outcome measures and models")
    p.add_argument("processed_dir")
    p.add_argument("year", help="evaluation year, e.g. 2014-15")
    p.add_argument("out_dir")
    p.add_argument("--metrics-file", default=None)
    p.add_argument("--cutoff-days", type=int, default=61)
    p.add_argument("--min-people", type=int, default=20)
    p.set_defaults(func=_cmd_analyse)

    p = sub.add_parser("render", help="executed report notebook -> self-contained HTML")
    p.add_argument("notebook")
    p.add_argument("out_html")
    p.add_argument("--title", required=True)
    p.set_defaults(func=_cmd_render)

    p = sub.add_parser(
        "run",
        help="execute a parameterised notebook with papermill (optionally per year, to HTML)",
    )
    p.add_argument("notebook")
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
    p.add_argument("--years", nargs="+", default=None, help="evaluation years for --each-year")
    p.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="notebooks run at once (default: HUBSPOKE_JOBS or the number of cores)",
    )
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser("aqa", help="render the quality-assurance pages (Markdown) to HTML")
    p.add_argument("src_dir")
    p.add_argument("out_dir")
    p.set_defaults(func=_cmd_aqa)

    p = sub.add_parser("index", help="write reports/index.html linking every year's report")
    p.add_argument("reports_dir")
    p.set_defaults(func=_cmd_index)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one step; return the process exit code."""
    skip_slow_iri_checker()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (FileNotFoundError, PermissionError, NotADirectoryError, IsADirectoryError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
