"""The catalog: every file a stage writes and the next stage reads, named once.

Stages exchange files, never objects: ``synthesise`` writes the raw returns, ``clean`` the
processed tables, ``analyse`` each year's indicators and model estimates, ``report`` and
``national`` the pages readers see. :data:`STAGES` lists, per stage, what it reads and
writes (paths relative to the output root, ``{year}`` for each evaluation year), as
``dvc.yaml`` does (``tests/project/test_architecture.py`` checks that the two and
``docs/architecture.md`` agree). The names of the files inside a stage's folder are
constants here too, so writer and reader cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "ANALYSED_DATA",
    "COMPLETE",
    "FIELDWORK_CONFIGURATIONS",
    "FIELDWORK_EVIDENCE",
    "FIELDWORK_PREVALENCE",
    "FRAMEWORK",
    "GENERATOR_MARKER",
    "HEADLINE",
    "AUDIT",
    "INDEX_STATISTICS",
    "INDICATORS",
    "LEDGER",
    "MANIFEST",
    "MODELS",
    "PARAMS_CHECKED",
    "PROGRAMME_INDICATORS",
    "PROGRAMME_TO_DATE",
    "QUARANTINE",
    "REVISIONS",
    "STAGES",
    "STATISTICS",
    "SUPPRESSION",
    "VERDICTS",
    "Stage",
    "model_file",
    "stage_paths",
]

# ------------------------------------------------------------------ inside the folders
MANIFEST = "manifest.csv"
"""``data/raw``: what each service sent and when (the data contract's index of files)."""

GENERATOR_MARKER = "_truth/generator.json"
"""``data/raw``: the generator's marker, written last by ``synthesise``: its seed and scale
and the SHA-256 of every file it wrote (``analysis.core.privacy``). Only a raw folder that
carries it intact is pseudonymised with the key derived from the public seed."""

LEDGER = "ledger.json"
"""``data/processed``: every source row read, kept, quarantined or superseded."""

QUARANTINE = "quarantine.csv"
"""``data/processed``: rows set aside, with the file, sheet, row, column and reason."""

COMPLETE = "complete.json"
"""``data/processed``: written last by the clean step, with the SHA-256 of every file it
wrote; the stages that read the folder refuse it without this marker (an interrupted or
failed clean) or when a file differs from it (outputs of two runs mixed)."""

INDICATORS = "indicators.parquet"
"""``data/interim/<year>``: every service's outcome indicators."""

PROGRAMME_INDICATORS = "programme_indicators.parquet"
"""``data/interim/<year>``: the programme's outcome indicators."""

PROGRAMME_TO_DATE = "programme_to_date.parquet"
"""``data/interim/<year>``: programme-to-date indicators (to the year's end, and to the date
the published figures run to when it falls in the year), with totals adjusted for missing
returns."""

MODELS = "models.json"
"""``data/interim/<year>``: each model fitted or not, with counts, warnings and reason."""

VERDICTS = "verdicts.json"
"""``data/interim/<year>``: the six outcomes rated by the evaluation framework."""

FIELDWORK_PREVALENCE = "fieldwork_prevalence.parquet"
"""``data/interim/<year>``: theme prevalence in the fieldwork (sources and sites raising each
code, with intervals) by evaluation year, role group, phase and host type."""

FIELDWORK_CONFIGURATIONS = "fieldwork_configurations.parquet"
"""``data/interim/<year>``: context-mechanism-outcome configurations of the fieldwork to date
supported by enough sources at two sites or more."""

FIELDWORK_EVIDENCE = "fieldwork.json"
"""``data/interim/<year>``: the joint display of each outcome measure (indicators beside the
fieldwork) and the quotes the report may show (redacted, chosen by the documented rule)."""

REVISIONS = "revisions.json"
"""``data/interim/<year>``: earlier years' headline figures as known at this year's cut-off
(the index's trend shows the latest, marked [r] where revised)."""

HEADLINE = "headline.json"
"""``data/interim/<year>``: the year's headline figures."""

ANALYSED_DATA = "analysed_data.json"
"""``data/interim/<year>``: the year and the hash of the data the analysis rests on (a
report refuses an analysis of other data)."""

STATISTICS = "statistics.json"
"""``reports/<year>``: the registry of every statistic the report publishes (each table
cell and each number in its prose: id, text, value, unit, precision, vintage, status
symbol; ``analysis.publish.registry``), suppressed cells with their symbol."""

INDEX_STATISTICS = "reports/index_statistics.json"
"""The index page's registry of published statistics (its headline trend and prose)."""

AUDIT = "data/interim/audit.txt"
"""Written by the ``audit`` stage: every suppressed cell's range an intruder can deduce
from all the releases together, and the verdict (not published; ``docs/disclosure.md``)."""

SUPPRESSION = "data/interim/suppression"
"""Written by the ``report`` stage, one ``<year>.json`` per report: which suppressed cells
are small (primary) and which complementary, so the ``audit`` stage applies each cell's own
pass rule. Private: never published (``docs/disclosure.md`` says why)."""

PARAMS_CHECKED = "data/interim/params-checked.json"
"""Written by the ``check`` stage when ``params.yaml`` can be run; every stage reads it."""

FRAMEWORK = "evaluation-framework.yaml"
"""The evaluation framework (criteria and evidence labels), read by analyse and report."""


def model_file(name: str, part: str | None = None) -> str:
    """``model_<name>.parquet`` (estimates) or ``model_<name>_<part>.parquet``."""
    return f"model_{name}.parquet" if part is None else f"model_{name}_{part}.parquet"


# ------------------------------------------------------------------ between the stages
@dataclass(frozen=True)
class Stage:
    """What one pipeline stage reads and writes (paths relative to the output root)."""

    name: str
    does: str
    reads: tuple[str, ...]
    writes: tuple[str, ...]
    metrics: tuple[str, ...] = ()


STAGES: tuple[Stage, ...] = (
    Stage(
        "check", "refuses evaluation years that cannot be run", ("notebooks",), (PARAMS_CHECKED,)
    ),
    Stage(
        "synthesise",
        "generates the synthetic programme's returns",
        (PARAMS_CHECKED,),
        ("data/raw",),
    ),
    Stage(
        "clean",
        "validates, harmonises and pseudonymises the returns",
        (PARAMS_CHECKED, "data/raw"),
        ("data/processed",),
    ),
    Stage(
        "analyse",
        "outcome indicators and models for each year, on what its report may see",
        (PARAMS_CHECKED, FRAMEWORK, "data/processed"),
        ("data/interim/{year}",),
        ("metrics/{year}.json",),
    ),
    Stage(
        "report",
        "each year's disclosure-controlled report",
        (PARAMS_CHECKED, FRAMEWORK, "data/processed", "data/interim/{year}"),
        ("reports/{year}", SUPPRESSION),
    ),
    Stage(
        "aqa", "the assumptions log and data log", (PARAMS_CHECKED, "docs/aqa"), ("reports/aqa",)
    ),
    Stage(
        "national",
        "national context from published DfE statistics",
        (PARAMS_CHECKED, "data/external/dfe_children_in_need"),
        ("reports/national",),
    ),
    Stage(
        "audit",
        "audits every release together: no suppressed count can be worked out",
        (PARAMS_CHECKED, "reports/{year}", SUPPRESSION),
        (AUDIT,),
    ),
    Stage(
        "index",
        "the index of reports and the headline trend",
        (
            PARAMS_CHECKED,
            "metrics",
            "data/interim/{year}",
            "reports/{year}",
            "reports/aqa",
            "reports/national",
            AUDIT,
        ),
        ("reports/index.html", "reports/headline_trend.csv", INDEX_STATISTICS),
    ),
)
"""The pipeline's stages in order, with the files each reads and writes."""


def stage_paths(paths: Sequence[str], years: Sequence[str]) -> list[str]:
    """``paths`` with every ``{year}`` template expanded for each of ``years``."""
    out: list[str] = []
    for path in paths:
        out += [path.format(year=y) for y in years] if "{year}" in path else [path]
    return out
