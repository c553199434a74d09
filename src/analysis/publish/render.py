"""Render executed notebooks and Markdown pages into self-contained HTML reports.

A rendered page loads nothing from any other host: the CSS is inline
(``templates/report.css``), images are embedded as ``data:`` URIs, there are no scripts
(no require.js, no MathJax), and :func:`external_references` is run on the result — any
``src``/``href`` pointing at ``http(s)://`` other than an ordinary ``<a>`` link makes
rendering fail. Notebook pages show no code (inputs excluded), drop cells tagged
``injected-parameters`` or ``remove`` (and the outputs of cells tagged ``remove-output``),
drop stderr streams, refuse error outputs and images without alt text, and get a table of
contents built from their headings.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable, Sequence
from html.parser import HTMLParser
from pathlib import Path

import nbformat
from markdown_it import MarkdownIt
from nbconvert import HTMLExporter
from traitlets.config import Config

from analysis.core.privacy import RENDERED_PAGE_META

__all__ = [
    "ANNEX_FILE",
    "ANNEX_TAG",
    "REMOVE_CELL_TAGS",
    "RenderError",
    "add_heading_ids",
    "build_toc",
    "external_references",
    "images_without_alt",
    "page_html",
    "render_markdown_page",
    "render_report_html",
]

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
CSS_FILE = TEMPLATES_DIR / "report.css"
NOTEBOOK_TEMPLATE = TEMPLATES_DIR / "report.html.j2"

REMOVE_CELL_TAGS: frozenset[str] = frozenset({"injected-parameters", "remove"})
"""Cells with any of these tags are left out of the rendered report."""

ANNEX_TAG = "annex"
"""Cells with this tag, and every cell after the first of them, are the report's technical
annexes: rendered as a page of their own (``annex.html`` beside the report), so the report
itself stays short enough to print."""
ANNEX_MARK = "<!-- hubspoke:annex -->"
ANNEX_FILE = "annex.html"

_HEADING = re.compile(r"<h([1-6])((?:\s[^>]*)?)>(.*?)</h\1>", re.DOTALL | re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")
_ID_ATTR = re.compile(r"""\sid\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)""", re.IGNORECASE)


class RenderError(ValueError):
    """A notebook or page that cannot be published as it is (the message says why)."""


# --------------------------------------------------------------------------------------
# Headings and table of contents
# --------------------------------------------------------------------------------------


def _slug(text: str) -> str:
    norm = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", norm.lower()).strip("-")
    return slug or "section"


def _heading_text(inner: str) -> str:
    return html.unescape(_TAG.sub("", inner)).strip()


def add_heading_ids(body: str) -> tuple[str, list[tuple[int, str, str]]]:
    """Give every heading a unique, readable ``id``; return the new HTML and the headings.

    Existing ids are replaced (nbconvert's contain spaces and entities). The result lists
    ``(level, id, text)`` in document order.
    """
    seen: dict[str, int] = {}
    found: list[tuple[int, str, str]] = []

    def repl(match: re.Match[str]) -> str:
        level, attrs, inner = int(match.group(1)), match.group(2) or "", match.group(3)
        text = _heading_text(inner)
        base = _slug(text)
        count = seen.get(base, 0)
        seen[base] = count + 1
        ident = base if count == 0 else f"{base}-{count + 1}"
        found.append((level, ident, text))
        attrs = _ID_ATTR.sub("", attrs)
        return f'<h{level} id="{ident}"{attrs}>{inner}</h{level}>'

    return _HEADING.sub(repl, body), found


def build_toc(headings: Sequence[tuple[int, str, str]], *, levels: tuple[int, int] = (2, 3)) -> str:
    """A nested ``<nav>`` list of links to the headings with level in ``levels``, inside a
    ``<details>`` element (closed: one line until the reader opens it)."""
    low, high = levels
    items: list[tuple[int, str, str]] = []
    previous = low - 1
    for lvl, ident, text in headings:
        if low <= lvl <= high:
            # Never skip a level (an h3 before any h2 is listed as a top-level entry).
            previous = min(lvl, previous + 1)
            items.append((previous, ident, text))
    if not items:
        return ""
    # Headings that carry their own numbers ("1. Summary") get an unnumbered list.
    self_numbered = all(re.match(r"\d+[.)]?\s", t) for lvl, _, t in items if lvl == low)
    # Collapsed by default, so the page's first screen shows its findings, not a list.
    out = [
        '<nav class="toc" aria-label="Contents"><details>',
        '<summary id="toc-heading">Contents</summary>',
        '<ol class="toc-plain">' if self_numbered else "<ol>",
    ]
    depth = low
    open_item = False
    for lvl, ident, text in items:
        while depth < lvl:
            out.append("<ol>")
            depth += 1
            open_item = False
        while depth > lvl:
            out.append("</li></ol>")
            depth -= 1
            open_item = True
        if open_item:
            out.append("</li>")
        out.append(f'<li><a href="#{ident}">{html.escape(text)}</a>')
        open_item = True
    while depth > low:
        out.append("</li></ol>")
        depth -= 1
    out.append("</li></ol></details></nav>")
    return "".join(out)


# --------------------------------------------------------------------------------------
# Checks on rendered HTML
# --------------------------------------------------------------------------------------

_FETCH_ATTRS = {
    "src",
    "href",
    "srcset",
    "data",
    "poster",
    "action",
    "formaction",
    "background",
    "xlink:href",
    "manifest",
    "icon",
}
_REMOTE = re.compile(r"^\s*(?:https?:)?//", re.IGNORECASE)
_CSS_REMOTE = re.compile(r"""(?:url\(\s*['"]?|@import\s+['"])\s*(?:https?:)?//""", re.IGNORECASE)


_NBCONVERT_PLACEHOLDER_ALT = "No description has been provided for this image"
"""What nbconvert writes into an ``<img>`` that has no alt text: not meaningful."""


class _RefScanner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.remote: list[str] = []
        self.no_alt: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_style = tag == "style"
        values = dict(attrs)
        for name, value in attrs:
            if value is None:
                continue
            if name == "style" and _CSS_REMOTE.search(value):
                self.remote.append(f"<{tag} style=...{value[:80]}>")
            if name not in _FETCH_ATTRS:
                continue
            if tag == "a" and name == "href":
                continue  # an ordinary link: followed only if the reader clicks it
            candidates = value.split(",") if name == "srcset" else [value]
            if any(_REMOTE.match(c) for c in candidates):
                self.remote.append(f"<{tag} {name}={value[:120]!r}>")
        if tag == "img":
            alt = values.get("alt")
            if alt is None or not alt.strip() or alt.strip() == _NBCONVERT_PLACEHOLDER_ALT:
                self.no_alt.append(f"<img src={str(values.get('src', ''))[:60]!r}...>")

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style and _CSS_REMOTE.search(data):
            self.remote.append(f"<style> {data[:120]!r}")


def external_references(page: str) -> list[str]:
    """Everything in ``page`` a browser would fetch from another host (should be empty)."""
    scanner = _RefScanner()
    scanner.feed(page)
    return scanner.remote


def images_without_alt(page: str) -> list[str]:
    """``<img>`` elements in ``page`` with no or empty alt text (should be empty)."""
    scanner = _RefScanner()
    scanner.feed(page)
    return scanner.no_alt


# --------------------------------------------------------------------------------------
# Page skeleton
# --------------------------------------------------------------------------------------


def page_html(
    *,
    title: str,
    body: str,
    header_text: str | None = None,
    footer_html: str = "",
    toc: bool = True,
    lang: str = "en-GB",
) -> str:
    """Wrap ``body`` in a complete, self-contained page with inline CSS and contents.

    If ``body`` has no ``<h1>``, the title becomes one. The table of contents (h2/h3) is
    placed right after the first ``<h1>``. The ``<head>`` carries
    :data:`~analysis.core.privacy.RENDERED_PAGE_META`, by which the pre-commit guard
    recognises a rendered page whatever its name.
    """
    body, headings = add_heading_ids(body)
    if not any(level == 1 for level, _, _ in headings):
        body = f'<h1 id="{_slug(title)}">{html.escape(title)}</h1>\n{body}'
        body, headings = add_heading_ids(body)
    nav = build_toc(headings) if toc else ""
    if nav:
        first_h1 = re.search(r"</h1>", body, re.IGNORECASE)
        assert first_h1 is not None
        body = body[: first_h1.end()] + "\n" + nav + "\n" + body[first_h1.end() :]
    css = CSS_FILE.read_text(encoding="utf-8")
    banner = (
        f'<header class="page-header"><p>{html.escape(header_text)}</p></header>\n'
        if header_text
        else ""
    )
    footer = f'<footer class="page-footer">{footer_html}</footer>\n' if footer_html else ""
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{html.escape(lang)}">\n<head>\n<meta charset="utf-8">\n'
        f"{RENDERED_PAGE_META}\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>\n{css}</style>\n</head>\n<body>\n"
        '<a class="skip-link" href="#main">Skip to main content</a>\n'
        f'{banner}<main id="main">\n{body}\n</main>\n{footer}</body>\n</html>\n'
    )


def _check_page(page: str, where: Path) -> None:
    remote = external_references(page)
    if remote:
        raise RenderError(f"{where}: the page would load from other hosts: {remote[:5]}")


# --------------------------------------------------------------------------------------
# Notebooks
# --------------------------------------------------------------------------------------


def _check_notebook(nb: nbformat.NotebookNode, path: Path, remove_tags: Iterable[str]) -> None:
    tags_out = set(remove_tags)
    for number, cell in enumerate(nb.cells, start=1):
        if tags_out & set(cell.get("metadata", {}).get("tags", [])):
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                raise RenderError(
                    f"{path}: cell {number} ended in an error "
                    f"({output.get('ename')}: {output.get('evalue')}); a report cannot show it"
                )


def render_report_html(
    executed_notebook: Path,
    out_html: Path,
    *,
    title: str,
    header_text: str | None = None,
    footer_html: str = "",
    remove_tags: Iterable[str] = REMOVE_CELL_TAGS,
    require_alt: bool = True,
) -> Path:
    """Render an executed notebook into one self-contained HTML file at ``out_html``.

    No code, no prompts, no cells tagged ``injected-parameters``/``remove``, no stderr;
    images inline with alt text (``require_alt``: an image without it is an error — show
    figures with :func:`analysis.figures.show_figure`); a table of contents; inline CSS;
    nothing requested from another host. Raises :class:`RenderError` otherwise.
    """
    src = Path(executed_notebook)
    nb = nbformat.read(src, as_version=4)
    tags = frozenset(remove_tags)
    _check_notebook(nb, src, tags)
    config = Config()
    config.TagRemovePreprocessor.enabled = True
    config.TagRemovePreprocessor.remove_cell_tags = set(tags)
    config.TagRemovePreprocessor.remove_all_outputs_tags = {"remove-output"}
    config.TagRemovePreprocessor.remove_input_tags = {"remove-input"}
    config.HTMLExporter.exclude_input = True
    config.HTMLExporter.exclude_input_prompt = True
    config.HTMLExporter.exclude_output_prompt = True
    config.HTMLExporter.exclude_anchor_links = True
    config.HTMLExporter.embed_images = True
    exporter = HTMLExporter(
        config=config,
        template_name="classic",
        template_file=str(NOTEBOOK_TEMPLATE),
    )
    resources = {"metadata": {"path": str(src.parent)}}
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    if require_alt:
        missing = images_without_alt(body)
        if missing:
            raise RenderError(
                f"{src}: {len(missing)} image(s) without alt text, e.g. {missing[0]}; "
                "display figures with analysis.figures.show_figure(fig)"
            )
    out = Path(out_html)
    out.parent.mkdir(parents=True, exist_ok=True)
    main_body, mark, annex_body = body.partition(ANNEX_MARK)
    if mark:
        annex_out = out.with_name(ANNEX_FILE)
        main_body += (
            '<p class="annex-link">The technical annexes (data quality, methods, '
            f'assumptions and versions) are on <a href="{ANNEX_FILE}">a page of their own: '
            f"{html.escape(title)}, technical annexes</a>.</p>"
        )
        annex_title = f"{title}: technical annexes"
        annex_body = annex_body.replace(ANNEX_MARK, "")
        annex = page_html(
            title=annex_title,
            body=(
                f"<h1>{html.escape(annex_title)}</h1>\n"
                f'<p><a href="{html.escape(out.name)}">Back to the report</a></p>\n{annex_body}'
            ),
            header_text=header_text,
            footer_html=footer_html,
        )
        _check_page(annex, src)
        annex_out.write_text(annex, encoding="utf-8", newline="\n")
    page = page_html(title=title, body=main_body, header_text=header_text, footer_html=footer_html)
    _check_page(page, src)
    out.write_text(page, encoding="utf-8", newline="\n")
    return out


# --------------------------------------------------------------------------------------
# Markdown pages (docs/aqa)
# --------------------------------------------------------------------------------------

_MD_LINK = re.compile(r'href="(?!https?:|mailto:|#)([^"#?]+)\.md(#[^"]*)?"')


def _caption_tables(body: str) -> str:
    """Wrap each ``<table>`` of a rendered Markdown page in a focusable, labelled region
    and give it a caption: "Table N: <the heading above it>"."""
    out: list[str] = []
    last = ""
    count = 0
    pos = 0
    pattern = re.compile(r"<h[1-6][^>]*>(.*?)</h[1-6]>|<table>", re.DOTALL)
    for match in pattern.finditer(body):
        out.append(body[pos : match.end() if match.group(1) is not None else match.start()])
        pos = match.end()
        if match.group(1) is not None:
            last = _heading_text(match.group(1))
            continue
        count += 1
        label = f"Table {count}: {last}" if last else f"Table {count}"
        out.append(
            f'<div class="disclosed-table" tabindex="0" role="region" '
            f'aria-label="{html.escape(label, quote=True)}"><table>'
            f"<caption>{html.escape(label)}</caption>"
        )
    out.append(body[pos:])
    return "".join(out).replace("</table>", "</table></div>")


def render_markdown_page(
    md_path: Path,
    out_html: Path,
    title: str,
    *,
    header_text: str | None = None,
    footer_html: str = "",
) -> Path:
    """Render a Markdown file (CommonMark + tables) into a self-contained HTML page.

    Relative links to other ``.md`` files are rewritten to ``.html`` so that a folder of
    rendered pages links up. Raw HTML in the Markdown is escaped, not passed through.
    """
    src = Path(md_path)
    text = src.read_text(encoding="utf-8")
    md = MarkdownIt("commonmark", {"html": False, "typographer": False}).enable("table")
    body = md.render(text)
    body = _MD_LINK.sub(lambda m: f'href="{m.group(1)}.html{m.group(2) or ""}"', body)
    # Wide tables scroll sideways in their wrapper, which keyboard users must be able to
    # reach (axe "scrollable-region-focusable"); each is numbered and captioned with the
    # heading it sits under.
    body = _caption_tables(body)
    page = page_html(title=title, body=body, header_text=header_text, footer_html=footer_html)
    _check_page(page, src)
    missing = images_without_alt(page)
    if missing:
        raise RenderError(f"{src}: image(s) without alt text: {missing[:3]}")
    out = Path(out_html)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8", newline="\n")
    return out
