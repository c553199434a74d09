"""Tests for analysis.render: a tiny synthetic notebook, executed by papermill, rendered.

The notebook is executed once per module (a kernel start costs a few seconds).
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from browser_check import render_sample_report

from analysis.publish import render as R


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("render")
    out = render_sample_report(folder)
    return out, out.read_text(encoding="utf-8")


def test_no_code_no_parameters_no_removed_cells(sample: tuple[Path, str]) -> None:
    _, page = sample
    assert "import numpy" not in page
    assert "disclose_counts(" not in page
    assert "SECRET-REMOVED-CELL" not in page
    assert "Parameters" not in page  # papermill's injected-parameters cell
    assert "2014-15" in page  # ...but the parameter's effect is there
    assert "must not appear" not in page  # stderr dropped
    assert "this stdout line is fine" in page
    assert "In&nbsp;[" not in page and "Out[" not in page


def test_self_contained(sample: tuple[Path, str]) -> None:
    _, page = sample
    assert R.external_references(page) == []
    assert "<script" not in page
    assert "<link" not in page
    assert "require.js" not in page and "mathjax" not in page.lower()
    # The plain link in the text is kept as a link.
    assert 'href="https://example.org"' in page
    # Every src is inline data.
    for src in re.findall(r'src="([^"]*)"', page):
        assert src.startswith("data:image/png;base64,")


def test_images_inline_with_alt(sample: tuple[Path, str]) -> None:
    _, page = sample
    charts = re.findall(r"<svg [^>]*>", page)
    assert len(charts) == 3 and all('role="img"' in c for c in charts)
    assert R.images_without_alt(page) == []
    alts = re.findall(r"<title id=[^>]*>([^<]*)</title>", page)
    assert any("Heatmap" in a for a in alts)
    assert any("confidence intervals" in a for a in alts)


def test_tables_are_accessible_html(sample: tuple[Path, str]) -> None:
    _, page = sample
    assert page.count("<caption>") >= 2
    assert '<th scope="col">' in page and '<th scope="row">' in page
    assert "<abbr" in page  # symbols explained


def test_toc_and_heading_ids(sample: tuple[Path, str]) -> None:
    _, page = sample
    toc = re.search(r'<nav class="toc".*?</nav>', page, re.DOTALL)
    assert toc is not None
    links = re.findall(r'href="#([^"]+)"', toc.group(0))
    assert {"summary", "referrals-and-pathways", "data-quality", "completeness"} <= set(links)
    for ident in links:
        assert f'id="{ident}"' in page
    assert page.count("<h1") == 1
    assert page.index("</h1>") < page.index('<nav class="toc"')


def test_render_is_deterministic(sample: tuple[Path, str], tmp_path: Path) -> None:
    path, page = sample
    executed = path.parent / "sample.executed.ipynb"
    again = R.render_report_html(executed, tmp_path / "again.html", title="Sample report 2014-15")
    assert again.read_text(encoding="utf-8") == page


def _nb(*cells: nbformat.NotebookNode) -> nbformat.NotebookNode:
    return nbformat.v4.new_notebook(cells=list(cells))


def test_image_without_alt_is_refused(tmp_path: Path) -> None:
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
    cell = nbformat.v4.new_code_cell(
        "plot()",
        outputs=[nbformat.v4.new_output("display_data", data={"image/png": png})],
    )
    path = tmp_path / "nb.ipynb"
    nbformat.write(_nb(cell), path)
    with pytest.raises(R.RenderError, match="alt text"):
        R.render_report_html(path, tmp_path / "out.html", title="t")
    # With alt text in the output metadata the same image is fine.
    cell.outputs[0]["metadata"] = {"image/png": {"alt": "A single pixel"}}
    nbformat.write(_nb(cell), path)
    out = R.render_report_html(path, tmp_path / "out.html", title="t")
    assert 'alt="A single pixel"' in out.read_text(encoding="utf-8")


def test_error_output_is_refused(tmp_path: Path) -> None:
    cell = nbformat.v4.new_code_cell(
        "1/0",
        outputs=[
            nbformat.v4.new_output(
                "error", ename="ZeroDivisionError", evalue="division", traceback=[]
            )
        ],
    )
    path = tmp_path / "nb.ipynb"
    nbformat.write(_nb(cell), path)
    with pytest.raises(R.RenderError, match="cell 1 ended in an error"):
        R.render_report_html(path, tmp_path / "out.html", title="t")


def test_outside_host_is_refused(tmp_path: Path) -> None:
    cell = nbformat.v4.new_code_cell(
        "x",
        outputs=[
            nbformat.v4.new_output(
                "display_data",
                data={"text/html": '<script src="https://cdn.example.com/require.js"></script>'},
            )
        ],
    )
    path = tmp_path / "nb.ipynb"
    nbformat.write(_nb(cell), path)
    with pytest.raises(R.RenderError, match="other hosts"):
        R.render_report_html(path, tmp_path / "out.html", title="t")


def test_external_reference_scanner() -> None:
    assert R.external_references('<a href="https://gov.uk">x</a>') == []
    assert R.external_references('<img src="//cdn.x/y.png" alt="a">')
    assert R.external_references('<link rel="stylesheet" href="http://x/y.css">')
    assert R.external_references("<style>@import 'https://fonts.x/css';</style>")
    assert R.external_references('<div style="background: url(https://x/y.png)"></div>')
    assert R.external_references('<img srcset="a.png 1x, https://x/b.png 2x" alt="a">')
    assert R.external_references('<img src="data:image/png;base64,AAAA" alt="a">') == []


def test_toc_nesting() -> None:
    body, heads = R.add_heading_ids(
        "<h1>T</h1><h2>A &amp; B</h2><h3>a1</h3><h3>a2</h3><h2>C</h2><h2>C</h2>"
    )
    assert [h[1] for h in heads] == ["t", "a-b", "a1", "a2", "c", "c-2"]
    toc = R.build_toc(heads)
    assert toc.count("<ol>") == 2
    assert '<a href="#c-2">C</a>' in toc
    assert "A &amp; B" in toc
    # An h3 before any h2 does not produce an <ol> directly inside an <ol>.
    _, heads = R.add_heading_ids("<h3>x</h3><h2>y</h2>")
    assert "<ol><ol>" not in R.build_toc(heads)
    # Self-numbered headings: the list itself is not numbered again.
    _, heads = R.add_heading_ids("<h2>1. Summary</h2><h3>Detail</h3><h2>2. Methods</h2>")
    assert '<ol class="toc-plain">' in R.build_toc(heads)


def test_markdown_page(tmp_path: Path) -> None:
    md = tmp_path / "assumptions.md"
    md.write_text(
        "# Assumptions and caveats log\n\nSee the [data log](data-log.md#top) and "
        "[GOV.UK](https://www.gov.uk).\n\n## Assumptions\n\n| id | assumption |\n|---|---|\n"
        "| A1 | Returns are complete |\n\n<script>alert(1)</script>\n",
        encoding="utf-8",
    )
    out = R.render_markdown_page(md, tmp_path / "out" / "assumptions.html", "Assumptions log")
    page = out.read_text(encoding="utf-8")
    assert "<title>Assumptions log</title>" in page
    assert 'href="data-log.html#top"' in page
    assert 'href="https://www.gov.uk"' in page
    assert "<table>" in page and "<th>assumption</th>" in page
    assert "<script>" not in page  # raw HTML is escaped
    assert '<nav class="toc"' in page and 'href="#assumptions"' in page
    assert R.external_references(page) == []
