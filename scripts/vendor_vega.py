"""Rebuild the offline HTML template of ``dvc plots show`` from the npm packages.

DVC's default page loads Vega, Vega-Lite and vega-embed from a CDN, so plots are blank
offline. ``.dvc/config`` points ``plots.html_template`` at ``.dvc/plots/offline.html``,
which holds the three libraries inline (their ``build/*.min.js``, byte for byte, from the
npm packages pinned below) and no ``{scripts}`` placeholder, so DVC adds no CDN tag. The
licences and the versions, with each file's SHA-256, are in ``.dvc/plots/vendor/``
(``tests/project/test_plots.py`` checks the template against them).

Usage (needs npm and the network; run once after changing a version, commit the result):

    python scripts/vendor_vega.py
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLOTS_DIR = ROOT / ".dvc" / "plots"
VENDOR_DIR = PLOTS_DIR / "vendor"
TEMPLATE = PLOTS_DIR / "offline.html"

# The majors DVC's own page uses (vega@5, vega-lite@5, vega-embed@6; DVC's plot templates
# are Vega-Lite v5 specs), at their latest releases. vega-embed needs vega and vega-lite
# loaded before it (it reads the globals ``vega`` and ``vegaLite``).
PACKAGES: dict[str, tuple[str, str]] = {
    "vega": ("5.33.1", "build/vega.min.js"),
    "vega-lite": ("5.23.0", "build/vega-lite.min.js"),
    "vega-embed": ("6.29.0", "build/vega-embed.min.js"),
}

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
{{refresh_tag}}
<title>Hub and Spoke evaluation: DVC plots</title>
<!-- Offline template for `dvc plots show` (.dvc/config plots.html_template), made by
     scripts/vendor_vega.py: {versions} inline, from their npm packages
     (BSD-3-Clause; licences in .dvc/plots/vendor/). Nothing is loaded from the network. -->
{scripts}
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5rem; }}
table {{ border-spacing: 15px; }}
</style>
</head>
<body>
{{plot_divs}}
</body>
</html>
"""


def npm_pack(spec: str, dest: Path) -> Path:
    """``npm pack`` one package into ``dest``; return the tarball."""
    out = subprocess.run(
        ["npm", "pack", "--silent", "--pack-destination", str(dest), spec],
        check=True,
        capture_output=True,
        text=True,
    )
    return dest / out.stdout.strip().splitlines()[-1]


def member(tarball: Path, name: str) -> bytes | None:
    with tarfile.open(tarball) as tar:
        try:
            extracted = tar.extractfile(f"package/{name}")
        except KeyError:
            return None
        return extracted.read() if extracted else None


def main() -> int:
    VENDOR_DIR.mkdir(parents=True, exist_ok=True)
    record: dict[str, dict[str, str]] = {}
    scripts = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, (version, build) in PACKAGES.items():
            tarball = npm_pack(f"{name}@{version}", Path(tmp))
            code = member(tarball, build)
            if code is None:
                raise SystemExit(f"{name}@{version} has no {build}")
            text = code.decode("utf-8")
            if "</script" in text.lower():
                raise SystemExit(f"{name}: cannot be inlined (contains </script)")
            licence = member(tarball, "LICENSE")
            target = VENDOR_DIR / f"LICENSE-{name}"
            if licence is not None:
                target.write_bytes(licence)
            elif not target.exists():
                # vega's npm package ships no LICENSE file: take it from github.com/vega/vega.
                raise SystemExit(f"{name}: no LICENSE in the package; add {target} by hand")
            record[name] = {
                "version": version,
                "file": build,
                "sha256": hashlib.sha256(code).hexdigest(),
                "tarball_sha256": hashlib.sha256(tarball.read_bytes()).hexdigest(),
                "source": f"https://registry.npmjs.org/{name}/-/{tarball.name}",
            }
            scripts.append(f'<script data-vendored="{name}@{version}">\n{text}\n</script>')
    versions = ", ".join(f"{n}@{r['version']}" for n, r in record.items())
    TEMPLATE.write_text(
        PAGE.format(versions=versions, scripts="\n".join(scripts)), "utf-8", newline="\n"
    )
    (VENDOR_DIR / "versions.json").write_text(json.dumps(record, indent=2) + "\n", "utf-8")
    print(f"wrote {TEMPLATE.relative_to(ROOT)} ({versions})")
    return 0


if __name__ == "__main__":
    if shutil.which("npm") is None:
        sys.exit("npm is needed to vendor the plot libraries")
    sys.exit(main())
