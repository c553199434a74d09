"""``dvc plots show`` works offline and writes where ``.gitignore`` expects.

``.dvc/config`` gives DVC an HTML template (``.dvc/plots/offline.html``) holding Vega,
Vega-Lite and vega-embed inline, byte for byte from their npm packages (versions and
SHA-256 in ``.dvc/plots/vendor/versions.json``; rebuilt by ``scripts/vendor_vega.py``), and
sends the page to ``reports/plots/`` (ignored, like every generated report).
"""

from __future__ import annotations

import configparser
import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import pipeline_env

from analysis.core.paths import ROOT

PLOTS = ROOT / ".dvc" / "plots"
VENDORED = json.loads((PLOTS / "vendor" / "versions.json").read_text("utf-8"))
INLINE = re.compile(r'<script data-vendored="([a-z-]+)@([0-9.]+)">\n(.*?)\n</script>', re.S)
OUTSIDE_SCRIPT = re.compile(r"""<script[^>]*\bsrc\s*=\s*["']?(https?:)?//""", re.I)


def _plots_config() -> dict[str, str]:
    config = configparser.ConfigParser()
    config.read(ROOT / ".dvc" / "config")
    return dict(config["plots"])


def _check_self_contained(html: str) -> None:
    assert not OUTSIDE_SCRIPT.search(html), "the page loads a script from the network"
    assert "cdn.jsdelivr" not in html
    found = {name: (version, code) for name, version, code in INLINE.findall(html)}
    assert list(found) == ["vega", "vega-lite", "vega-embed"], "libraries missing or misordered"
    for name, (version, code) in found.items():
        assert version == VENDORED[name]["version"]
        digest = hashlib.sha256(code.encode("utf-8")).hexdigest()
        assert digest == VENDORED[name]["sha256"], f"{name} differs from its npm build"


def test_template_inlines_the_vendored_libraries_with_their_licences():
    config = _plots_config()
    template = (ROOT / ".dvc" / config["html_template"]).resolve()
    assert template == PLOTS / "offline.html"
    html = template.read_text("utf-8")
    assert "{plot_divs}" in html
    assert "{scripts}" not in html, "DVC would add its CDN script tags at {scripts}"
    _check_self_contained(html)
    for name in VENDORED:
        licence = (PLOTS / "vendor" / f"LICENSE-{name}").read_text("utf-8")
        assert "Redistribution and use in source and binary forms" in licence  # BSD-3-Clause


def test_plots_output_folder_is_ignored_by_git():
    out = _plots_config()["out_dir"]
    for path in (f"{out}/index.html", "dvc_plots/index.html"):
        ignored = subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT, check=False)
        assert ignored.returncode == 0, f"{path} is not ignored by .gitignore"


def test_dvc_plots_show_renders_a_self_contained_page(tmp_path: Path):
    """``dvc plots show`` as an analyst runs it, on a stand-in headline trend."""
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in ("dvc.yaml", "params.yaml"):
        shutil.copy(ROOT / name, repo / name)
    shutil.copytree(ROOT / ".dvc", repo / ".dvc", ignore=shutil.ignore_patterns("cache", "tmp"))
    (repo / "reports").mkdir()
    (repo / "reports" / "headline_trend.csv").write_text(
        "Evaluation year,Young people supported\n2013-14,90\n2014-15,400\n", "utf-8"
    )
    env = pipeline_env(repo)
    dvc = str(Path(sys.executable).parent / "dvc")
    subprocess.run([dvc, "config", "--local", "core.no_scm", "true"], cwd=repo, env=env, check=True)
    shown = subprocess.run(
        [dvc, "plots", "show"], cwd=repo, env=env, capture_output=True, text=True, check=False
    )
    assert shown.returncode == 0, shown.stderr
    page = repo / _plots_config()["out_dir"] / "index.html"
    assert page.as_uri() in shown.stdout
    assert not (repo / "dvc_plots").exists()
    html = page.read_text("utf-8")
    _check_self_contained(html)
    assert "vegaEmbed(" in html and "Young people supported" in html
