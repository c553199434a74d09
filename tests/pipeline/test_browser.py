"""Open rendered reports in headless Chromium (marker ``browser``).

Renders a small sample report with ``analysis.render`` into a temporary folder and checks
it with :func:`browser_check.check_page`: no request to another host, no failed request,
no console error, expected sections present, images loaded with alt text, no serious or
critical axe-core violation; a screenshot is saved beside the report.

Without Chromium the test is skipped — except when ``CI=true``, where it fails.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from browser_check import (
    ANNEX_SECTIONS,
    MAX_PRINTED_PAGES,
    SAMPLE_SECTIONS,
    YEAR_REPORT_SECTIONS,
    check_page,
    check_pages,
    find_chromium,
    print_page_count,
    render_sample_report,
    screenshot_path,
)

pytestmark = pytest.mark.browser


def _chromium() -> str:
    exe = find_chromium()
    if exe is None:
        message = "Chromium not installed (run .ci/install-system-deps.sh)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " and CI=true: the browser test may not be skipped")
        pytest.skip(message)
    try:
        import axe_playwright_python  # noqa: F401
        import playwright  # noqa: F401
    except ImportError as exc:  # pragma: no cover - both are in the dev dependencies
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"browser test dependencies missing: {exc}")
        pytest.skip(f"browser test dependencies missing: {exc}")
    return exe


@pytest.fixture(scope="module")
def chromium() -> str:
    return _chromium()


@pytest.fixture(scope="module")
def sample_report(tmp_path_factory: pytest.TempPathFactory, chromium: str) -> Path:
    return render_sample_report(tmp_path_factory.mktemp("browser"))


def test_sample_report_in_browser(sample_report: Path, chromium: str) -> None:
    problems = check_page(
        sample_report, expected_sections=SAMPLE_SECTIONS, executable_path=chromium
    )
    assert problems == []
    shot = screenshot_path(sample_report)
    assert shot.exists() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_markdown_page_in_browser(tmp_path: Path, chromium: str) -> None:
    from analysis.publish.render import render_markdown_page

    md = tmp_path / "assumptions.md"
    md.write_text(
        "# Assumptions and caveats log\n\n## Assumptions\n\n| id | assumption | risk |\n"
        "|---|---|---|\n| A1 | Returns are complete | amber |\n\n## Caveats\n\n"
        "See the [data log](data-log.md).\n",
        encoding="utf-8",
    )
    page = render_markdown_page(md, tmp_path / "assumptions.html", "Assumptions log")
    problems = check_page(
        page, expected_sections=["Assumptions", "Caveats"], executable_path=chromium
    )
    assert problems == []


def test_checker_finds_problems(tmp_path: Path, chromium: str) -> None:
    """The checker must fail a page that breaks each rule (so a pass means something)."""
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<!DOCTYPE html><html><head><title>Bad</title>"
        '<script src="https://cdn.example.com/x.js"></script></head><body>'
        "<p>No h1 here.</p>"
        '<img src="missing.png">'
        '<input type="text">'
        "<script>console.error('boom')</script>"
        "</body></html>",
        encoding="utf-8",
    )
    problems = "\n".join(
        check_pages([bad], expected_sections=["Summary"], executable_path=chromium)[bad]
    )
    assert "blocked request to another host: https://cdn.example.com/x.js" in problems
    assert "console error: boom" in problems
    assert "no <h1> heading" in problems
    assert "expected section missing: 'Summary'" in problems
    assert "image 0 did not load" in problems
    assert "image 0 has no alt text" in problems
    assert "axe critical" in problems or "axe serious" in problems
    assert screenshot_path(bad).exists()


def test_pipeline_reports_in_browser(chromium: str, pipeline_run) -> None:
    """Every page the pipeline run (see conftest) produced: index, year reports, AQA pages.

    Year reports (``reports/<year>/report.html``) must also hold every expected section.
    Screenshots go to ``reports/screenshots/`` (not into a DVC-tracked output folder).
    """
    reports = pipeline_run.reports
    pages = sorted(reports.glob("**/*.html"))
    year_reports = [p for p in pages if p.name == "report.html" and p.parent.name[:2] == "20"]
    assert len(year_reports) == 4 and (reports / "index.html") in pages
    national = reports / "national" / "report.html"
    assert national in pages, "the national context page is missing"
    annexes = [p.with_name("annex.html") for p in year_reports]
    assert all(p in pages for p in annexes), "a year report has no technical-annex page"
    shots = reports / "screenshots"
    others = [p for p in pages if p not in year_reports + annexes and p != national]
    results_national = check_pages(
        [national],
        expected_sections=["England", "funnel", "Methods"],
        screenshot=shots,
        executable_path=chromium,
    )
    results = check_pages(
        year_reports,
        expected_sections=YEAR_REPORT_SECTIONS,
        screenshot=shots,
        executable_path=chromium,
    )
    results.update(
        check_pages(
            annexes,
            expected_sections=ANNEX_SECTIONS,
            screenshot=shots,
            executable_path=chromium,
        )
    )
    results.update(check_pages(others, screenshot=shots, executable_path=chromium))
    results.update(results_national)
    failures = {str(p): probs for p, probs in results.items() if probs}
    assert failures == {}
    assert len(list(shots.glob("*.png"))) == len(pages)


def test_missing_chromium_skips_locally_but_fails_on_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setattr(sys.modules[__name__], "find_chromium", lambda: None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        _chromium()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        _chromium()


@pytest.mark.parametrize("screen", ["desktop", "phone"])
def test_verdict_table_is_read_first(chromium: str, pipeline_run, screen: str) -> None:
    """At 1280x800 the verdict table starts on the first screen; at 390x844 within the
    first two (screenshots only to a temporary folder: the pipeline run's copy)."""
    from browser_check import VIEWPORTS, verdict_offsets

    width, height = VIEWPORTS[screen]
    pages = sorted(pipeline_run.reports.glob("20*/report.html"))
    assert len(pages) == 4
    tops = verdict_offsets(pages, (width, height), executable_path=chromium)
    screens = 1 if screen == "desktop" else 2
    late = {p.parent.name: top for p, top in tops.items() if not top < screens * height}
    assert late == {}, f"verdict table below the first {screens} screen(s) at {width}px"


def test_the_last_report_prints_to_a_short_document(chromium: str, pipeline_run) -> None:
    """The 2016-17 report prints to at most 25 A4 pages (its technical annexes are on a
    page of their own), with page numbers and link targets from the print stylesheet."""
    report = pipeline_run.reports / "2016-17" / "report.html"
    pages = print_page_count(report, executable_path=chromium)
    assert 1 < pages <= MAX_PRINTED_PAGES, pages
