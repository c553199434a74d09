"""Numbers in a report's prose that are not statistics (:data:`ALLOWED_UNTAGGED`): the
registry's page check (:func:`analysis.publish.registry.check_page`) lets them stand
untagged in a strictly checked section."""

from __future__ import annotations

ALLOWED_UNTAGGED: tuple[tuple[str, str], ...] = (
    ("evaluation years and periods", r"\b(?:19|20)\d\d(?:[-–/](?:\d\d){1,2})?\b"),
    ("evaluation quarters (2014-15 Q2)", r"(?<=\d\d )Q[1-4]\b"),
    (
        "dates (day and month)",
        r"\b\d{1,2} (?:January|February|March|April|May|June|July|August|September|"
        r"October|November|December)\b",
    ),
    (
        "the lower end of the small counts suppressed (before the tagged threshold)",
        r"\b1 to (?=\Z)",
    ),
    ("service identifiers", r"\bS\d{2,3}\b"),
    ("section numbers", r"^\s*\d{1,2}\.(?=\s)|\b[Ss]ections? \d{1,2}\b"),
    ("phase numbers", r"\b[Pp]hases? \d\b"),
    ("outcome measure numbers", r"\b[Oo]utcomes?(?: measures?)? \d(?:(?:, | and )\d)*\b"),
    ("the 95% confidence level", r"\b95%"),
    ("the 5% significance level", r"\b5%(?= (?:level|test))"),
    ("the normal distribution's 95% critical value", r"\b1\.96\b"),
    ("rate bases", r"\bper 10,000\b"),
    ("rating scales", r"\b(?:1-5|0-1|1–5|0–1)\b"),
    ("framework version", r"\bversion \d+(?:\.\d+)*\b"),
    ("table and figure numbers", r"\b(?:[Tt]able|[Ff]igure)s? \d{1,2}(?:\.\d{1,2})?\b"),
)
"""Numbers in prose that are not statistics, and may appear untagged in a strictly checked
section: the evaluation's years and periods (2015-16, 2014–2016), days and months of the
calendar and quarters, section numbers (a heading's, or "section 3"), outcome measure numbers, the 95%
confidence level of the intervals, the 5% level of a test and the normal distribution's
1.96, the base of a rate ("per 10,000"), the 1-5 and 0-1 scales' names, the framework's
version and the numbers of tables and figures ("Table 6.2"). Rule parameters that
are numbers (the disclosure threshold, the rounding base, the cut-off's days) are
statistics and are registered."""
