"""docs/data-protection.md names, for each control, the test that proves it: every test it
names exists, in a file the same line names, and every threat the issue lists is there."""

from __future__ import annotations

import re

from analysis.core.paths import DOCS_DIR, ROOT

DOC = DOCS_DIR / "data-protection.md"


def test_every_test_the_page_names_exists():
    named = 0
    for line in DOC.read_text("utf-8").splitlines():
        files = re.findall(r"tests/[\w/]+\.py", line)
        for name in re.findall(r"(?:::|`)(test_\w+)", line):
            sources = [(ROOT / f).read_text("utf-8") for f in files if (ROOT / f).is_file()]
            assert any(re.search(rf"^def {name}\(", s, re.M) for s in sources), (name, files)
            named += 1
    assert named >= 30


def test_the_page_covers_the_threats_retention_and_erasure():
    text = DOC.read_text("utf-8")
    for heading in (
        "## 1. Real data enters the repository by accident",
        "## 2. Guessable pseudonyms",
        "## 3. Small numbers published about children",
        "## 4. Identifiers in logs and outputs",
        "## Retention",
        "## Erasure",
    ):
        assert heading in text, heading
