"""Open rendered reports in headless Chromium and list what a reader would find wrong.

Reusable by any test: ``check_page(path) -> list[str]`` (empty = fine), or
``check_pages(paths)`` sharing one browser. Every request that is not ``file:`` or
``data:`` is blocked and reported; console errors, page errors and failed requests are
reported; every image must have loaded (``naturalWidth > 0``) and carry non-empty alt
text; axe-core (shipped inside the ``axe-playwright-python`` package, from the npm
registry) must report no serious or critical violation; each expected section heading must
be present. A full-page screenshot is saved beside each page (``<stem>.screenshot.png``).

Also holds ``sample_notebook`` / ``render_sample_report``: a small synthetic report used
by the render and browser tests.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

from analysis import report

CHROMIUM_CANDIDATES = (
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
    "/usr/lib/chromium/chromium",
)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
BLOCKING_IMPACTS = ("serious", "critical")
AXE_TAGS = ("wcag2a", "wcag2aa", "wcag21aa")
"""The axe-core rule tags a page must pass without any violation."""
MIN_GRAPHIC_CONTRAST = 3.0
"""WCAG 1.4.11: a chart's colours against the page background."""
WIDTHS = (1280, 390)
"""Each page is checked at a desktop and a phone width (CSS px)."""

_READER_CHECKS = """() => {
  const out = [];
  const rgb = (c) => { const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
    const p = m[1].split(',').map(Number); if (p.length > 3 && p[3] === 0) return null;
    return p.slice(0, 3); };
  const lum = (p) => { const c = p.map(v => { v /= 255;
    return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]; };
  const ratio = (a, b) => { const x = lum(a), y = lum(b);
    return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); };
  // chart colours (not heatmaps, whose cells print their values): every coloured mark
  const bg = rgb(getComputedStyle(document.body).backgroundColor) || [255, 255, 255];
  const weak = new Set();
  document.querySelectorAll('figure.report-figure:not(.heatmap) svg').forEach((svg) => {
    svg.querySelectorAll('path, rect, line, polygon, circle, use').forEach((el) => {
      const st = getComputedStyle(el);
      for (const c of [st.fill, st.stroke]) {
        const p = rgb(c); if (!p) continue;
        if (Math.max(...p) - Math.min(...p) < 16) continue;  // greys: grid, axes, text
        if (ratio(p, bg) < MIN) weak.add(c + ' ' + ratio(p, bg).toFixed(2));
      }
    });
  });
  weak.forEach((c) => out.push('chart colour under 3:1 against the background: ' + c));
  // link text: one text, one destination
  const links = {};
  document.querySelectorAll('a[href]').forEach((a) => {
    const t = a.textContent.replace(/\\s+/g, ' ').trim(); if (!t) return;
    (links[t] = links[t] || new Set()).add(a.getAttribute('href'));
  });
  Object.entries(links).forEach(([t, hrefs]) => { if (hrefs.size > 1)
    out.push('duplicate link text for ' + hrefs.size + ' destinations: ' + t); });
  // table headers that are column names
  document.querySelectorAll('th').forEach((th) => {
    const t = th.textContent.trim();
    if (/^[a-z0-9]+(_[a-z0-9]+)+$/.test(t) || ['category', 'N', 'n'].includes(t))
      out.push('table header is a column name: ' + t);
  });
  // a region that scrolls must be reachable and named
  document.querySelectorAll('main *').forEach((el) => {
    const st = getComputedStyle(el);
    if (!['auto', 'scroll'].includes(st.overflowX) || el.scrollWidth <= el.clientWidth + 1) return;
    if (el.getAttribute('tabindex') !== '0' || el.getAttribute('role') !== 'region'
        || !el.getAttribute('aria-label'))
      out.push('scrolling region without tabindex, role and label: ' + el.className);
  });
  return out;
}"""


def _reader_checks(page: object) -> list[str]:
    """Chart colours under 3:1, one link text for two destinations, a table header that is
    a column name, a scrolling region a keyboard cannot reach or that has no name."""
    script = _READER_CHECKS.replace("MIN", str(MIN_GRAPHIC_CONTRAST))
    return list(page.evaluate(script))  # type: ignore[attr-defined]


ANNEX_SECTIONS = ("Data quality appendix", "Methods, assumptions and caveats")
"""The sections a year's report prints on its technical-annex page (``annex.html``)."""
YEAR_REPORT_SECTIONS = tuple(s for s in report.SECTIONS if s not in ANNEX_SECTIONS)
"""Headings every year's report must contain (issue 6; matched case-insensitively as
substrings of the h1–h4 texts; the annexes' in ``annex.html``); ``tests/test_project.py``
checks the report notebook has exactly ``report.SECTIONS``."""
MAX_PRINTED_PAGES = 25
"""The 2016-17 report prints to at most this many A4 pages (its annexes apart)."""
SCREENSHOT_SUFFIX = ".screenshot.png"


def find_chromium() -> str | None:
    """Path of the system Chromium (env ``CHROMIUM`` first), or None if not installed."""
    env = os.environ.get("CHROMIUM")
    candidates = [env] if env else []
    candidates += list(CHROMIUM_CANDIDATES)
    for cand in candidates:
        if cand and Path(cand).is_file() and os.access(cand, os.X_OK):
            return cand
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    return found


def axe_source() -> str:
    """The axe-core script bundled with axe-playwright-python."""
    import axe_playwright_python

    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text(encoding="utf-8")


def screenshot_path(page_path: Path, folder: Path | None = None) -> Path:
    """Where the screenshot of ``page_path`` is saved (beside it, or in ``folder``)."""
    name = page_path.stem + SCREENSHOT_SUFFIX
    if folder is None:
        return page_path.with_name(name)
    return folder / f"{page_path.parent.name}-{name}"


def _check_one(
    context: object,
    page_path: Path,
    expected_sections: Sequence[str],
    screenshot: bool | Path,
    axe_js: str,
) -> list[str]:
    problems: list[str] = []
    page = context.new_page()  # type: ignore[attr-defined]

    def on_route(route: object) -> None:
        url = route.request.url  # type: ignore[attr-defined]
        if url.startswith(("file:", "data:")):
            route.continue_()  # type: ignore[attr-defined]
        else:
            problems.append(f"blocked request to another host: {url}")
            route.abort()  # type: ignore[attr-defined]

    page.route("**/*", on_route)
    page.on(
        "console",
        lambda msg: (
            problems.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None
        ),
    )
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("requestfailed", lambda req: problems.append(f"failed request: {req.url[:100]}"))
    try:
        response = page.goto(page_path.resolve().as_uri(), wait_until="load")
    except Exception as exc:  # noqa: BLE001 - any failure to open is a problem to report
        problems.append(f"could not open the page: {str(exc).splitlines()[0]}")
        page.close()
        return problems
    if response is not None and not response.ok:
        problems.append(f"page did not load: status {response.status}")
    # Headings and the contents list.
    headings = page.eval_on_selector_all(
        "h1, h2, h3, h4", "els => els.map(e => e.textContent.trim())"
    )
    if not any(True for _ in page.query_selector_all("h1")):
        problems.append("no <h1> heading")
    for section in expected_sections:
        if not any(section.lower() in h.lower() for h in headings):
            problems.append(f"expected section missing: {section!r}")
    broken_links = page.evaluate(
        """() => Array.from(document.querySelectorAll('nav.toc a[href^="#"]'))
               .map(a => a.getAttribute('href').slice(1))
               .filter(id => !document.getElementById(id))"""
    )
    problems += [f"contents link to a missing heading: #{i}" for i in broken_links]
    # Images: loaded, with alt text.
    images = page.evaluate(
        """() => Array.from(document.images).map((img, i) => ({
                i, complete: img.complete, width: img.naturalWidth,
                alt: (img.getAttribute('alt') || '').trim()}))"""
    )
    for img in images:
        if not img["complete"] or img["width"] <= 0:
            problems.append(f"image {img['i']} did not load")
        if not img["alt"]:
            problems.append(f"image {img['i']} has no alt text")
    # Accessibility: axe-core, WCAG 2.1 A and AA rules: any violation is a problem.
    page.evaluate(axe_js)
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}, "
        "resultTypes: ['violations']})",
        list(AXE_TAGS),
    )
    for violation in result.get("violations", []):
        targets = [n.get("target") for n in violation.get("nodes", [])][:3]
        problems.append(
            f"axe {violation.get('impact')}: {violation['id']} ({violation['help']}) at {targets}"
        )
    problems += _reader_checks(page)
    if screenshot is not False:
        folder = screenshot if isinstance(screenshot, Path) else None
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshot_path(page_path, folder)), full_page=True)
    page.close()
    return problems


def check_pages(
    page_paths: Iterable[Path],
    *,
    expected_sections: Sequence[str] = (),
    screenshot: bool | Path = True,
    executable_path: str | None = None,
    widths: Sequence[int] = WIDTHS,
) -> dict[Path, list[str]]:
    """Check several pages with one browser, at each of ``widths``; return problems per
    page (those found only at a later width say so).

    ``screenshot``: True saves ``<stem>.screenshot.png`` beside each page, a folder saves
    them there (as ``<parent>-<stem>.screenshot.png``), False saves none.
    """
    from playwright.sync_api import sync_playwright

    exe = executable_path or find_chromium()
    if exe is None:
        raise FileNotFoundError("Chromium not found (install Debian's chromium)")
    axe_js = axe_source()
    results: dict[Path, list[str]] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)
        try:
            paths = [Path(p) for p in page_paths]
            for width in widths:
                context = browser.new_context(
                    viewport={"width": width, "height": 900},
                    offline=True,
                    java_script_enabled=True,
                )
                for path in paths:
                    found = _check_one(
                        context,
                        path,
                        expected_sections,
                        screenshot if width == widths[0] else False,
                        axe_js,
                    )
                    results.setdefault(path, []).extend(
                        f"at {width}px: {p}" if width != widths[0] else p for p in found
                    )
                context.close()
        finally:
            browser.close()
    return results


def check_page(
    page_path: Path,
    *,
    expected_sections: Sequence[str] = (),
    screenshot: bool | Path = True,
    executable_path: str | None = None,
) -> list[str]:
    """Open one page in headless Chromium; return the problems found (empty = fine)."""
    return check_pages(
        [page_path],
        expected_sections=expected_sections,
        screenshot=screenshot,
        executable_path=executable_path,
    )[Path(page_path)]


# --------------------------------------------------------------------------------------
# A small synthetic report (used by test_render and test_browser)
# --------------------------------------------------------------------------------------

SAMPLE_SECTIONS = ("Summary", "Referrals", "Data quality", "Change over time", "Methods")

_SETUP = """\
import numpy as np
import pandas as pd
from IPython.display import Markdown, display
from analysis.publish import disclosure as D
from analysis.publish import figures as F
"""

_PARAMS = """\
year = "2014-15"
threshold = 9
"""

_DATA = """\
rng = np.random.default_rng(7)
rows = []
for s in range(1, 7):
    for q in range(1, 5):
        rows.append({"service": f"S{s:02d}", "quarter": f"{year} Q{q}",
                     "referrals": int(rng.poisson(12)), "young_people": int(rng.poisson(14)),
                     "recorded": float(rng.uniform(0.4, 1.0))})
df = pd.DataFrame(rows)
print("this stdout line is fine")
import sys; print("warning text on stderr must not appear", file=sys.stderr)
"""


def sample_notebook() -> object:
    """An nbformat notebook that builds a tiny report from synthetic numbers."""
    import nbformat

    v4 = nbformat.v4
    params = v4.new_code_cell(_PARAMS)
    params.metadata["tags"] = ["parameters"]
    hidden = v4.new_code_cell('print("SECRET-REMOVED-CELL")')
    hidden.metadata["tags"] = ["remove"]
    cells = [
        v4.new_code_cell(_SETUP),
        params,
        v4.new_markdown_cell("# Hub and Spoke evaluation: sample report"),
        v4.new_code_cell(_DATA),
        hidden,
        v4.new_markdown_cell("## Summary\n\nA short summary with a [link](https://example.org)."),
        v4.new_code_cell('display(Markdown(f"Report for **{year}**."))'),
        v4.new_markdown_cell("## Referrals and pathways"),
        v4.new_code_cell(
            'ref = D.disclose_counts(df, index="quarter", columns="service", '
            'values="referrals", threshold=threshold, total_rounding=5, '
            'title="Referrals by quarter and service")\n'
            "ref"
        ),
        v4.new_code_cell(
            'F.show_figure(F.line_chart(ref.select(columns=["S01", "S02", "S03"]), '
            'value_label="Referrals"))'
        ),
        v4.new_markdown_cell("## Data quality\n\n### Completeness"),
        v4.new_code_cell(
            'comp = D.disclose_shares(df, index="service", columns="quarter", share="recorded", '
            'denominator="young_people", threshold=threshold, title="Ethnicity recorded (%)")\n'
            "F.show_figure(F.heatmap(comp))"
        ),
        v4.new_markdown_cell("## Change over time"),
        v4.new_code_cell(
            'est = pd.DataFrame({"t": [-2, -1, 0, 1, 2], "estimate": [0.0, 0.1, 0.3, 0.4, 0.2],'
            ' "ci_lower": [-0.2, -0.1, 0.1, 0.1, -0.1], "ci_upper": [0.2, 0.3, 0.5, 0.7, 0.5],'
            ' "n": [120, 130, 125, 110, 4]})\n'
            'E = D.disclose_estimates(est, index="t", threshold=threshold, title="Event study estimates")\n'
            "display(E)\n"
            "F.show_figure(F.estimate_plot(E))"
        ),
        v4.new_markdown_cell("## Methods\n\nSymbols used in the tables:"),
        v4.new_code_cell("Markdown(D.symbol_key_markdown())"),
    ]
    nb = v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


def render_sample_report(folder: Path, *, year: str = "2014-15") -> Path:
    """Write, execute (papermill) and render the sample report; return the HTML path."""
    import nbformat
    import papermill

    from analysis.publish.render import render_report_html

    folder.mkdir(parents=True, exist_ok=True)
    src = folder / "sample.ipynb"
    executed = folder / "sample.executed.ipynb"
    nbformat.write(sample_notebook(), src)
    papermill.execute_notebook(
        str(src),
        str(executed),
        parameters={"year": year},
        kernel_name="python3",
        progress_bar=False,
        log_output=False,
        cwd=str(folder),
    )
    return render_report_html(executed, folder / "report.html", title=f"Sample report {year}")


VERDICT_CAPTION = "Verdicts on the six outcome measures"
"""The caption that starts each year report's verdict table (``report/sections/verdicts.py``)."""

VIEWPORTS: dict[str, tuple[int, int]] = {"desktop": (1280, 800), "phone": (390, 844)}
"""The two screens a report's summary is checked and photographed at (width, height)."""


def verdict_offsets(
    page_paths: Iterable[Path],
    viewport: tuple[int, int],
    *,
    screenshot_dir: Path | None = None,
    executable_path: str | None = None,
) -> dict[Path, float]:
    """How far down each page (CSS px from its top, at ``viewport``) the verdict table's
    caption starts; ``inf`` when the page has none. With ``screenshot_dir``, the first
    screen of each page is saved there as ``<year>-<width>x<height>.png``."""
    from playwright.sync_api import sync_playwright

    exe = executable_path or find_chromium()
    if exe is None:
        raise FileNotFoundError("Chromium not found (install Debian's chromium)")
    width, height = viewport
    out: dict[Path, float] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": width, "height": height}, offline=True)
            page = context.new_page()
            for path in page_paths:
                page.goto(Path(path).resolve().as_uri())
                top = page.evaluate(
                    """(text) => {
                        const cap = Array.from(document.querySelectorAll('caption'))
                            .find(c => c.textContent.includes(text));
                        return cap ? cap.getBoundingClientRect().top + window.scrollY : null;
                    }""",
                    VERDICT_CAPTION,
                )
                out[Path(path)] = float("inf") if top is None else float(top)
                if screenshot_dir is not None:
                    screenshot_dir.mkdir(parents=True, exist_ok=True)
                    name = f"{Path(path).parent.name}-{width}x{height}.png"
                    page.screenshot(path=str(screenshot_dir / name), full_page=False)
            context.close()
        finally:
            browser.close()
    return out


def print_page_count(page_path: Path, *, executable_path: str | None = None) -> int:
    """How many A4 pages ``page_path`` prints to in Chromium (its print stylesheet)."""
    import re

    from playwright.sync_api import sync_playwright

    exe = executable_path or find_chromium()
    if exe is None:
        raise FileNotFoundError("Chromium not found (install Debian's chromium)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=exe, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(Path(page_path).resolve().as_uri(), wait_until="load")
            pdf = page.pdf(format="A4", prefer_css_page_size=True)
        finally:
            browser.close()
    return len(re.findall(rb"/Type\s*/Page[^s]", pdf))
