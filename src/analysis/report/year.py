"""The content of one evaluation year's report, section by section.

``notebooks/04_report.ipynb`` builds a :class:`YearReport` and calls one method per section;
each method returns a list of display blocks (HTML text, disclosed tables, figures) and
writes every table as CSV and every figure as PNG and SVG beside the report. Tables and
figures are made only from :class:`analysis.disclosure.DisclosedTable` objects, so every
number a reviewer sees has passed disclosure control.

What a year's report may see is decided by :func:`analysis.vintage.tables_as_of`: periods
up to 31 August of its year and returns received by its cut-off. The figures for the
previous year are recomputed from the previous report's own vintage; where this year's data
revise them, they are marked ``[r]``.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from IPython.display import HTML as _HTML

from analysis.analyse import outcomes, vintage
from analysis.core import calendar as periods
from analysis.core import paths
from analysis.core.errors import UserError
from analysis.core.io import (
    ANALYSED_DATA_FILE,
    PROCESSED_TABLES,
    load_tables,
    read_json,
    write_json,
)
from analysis.core.published import check_text
from analysis.publish import disclosure, figures
from analysis.publish.disclosure import DisclosedTable
from analysis.publish.quality import delivered_files, ledger_totals, quarantine_by_reason


def HTML(text: str) -> _HTML:  # noqa: N802 (IPython's name)
    """Report prose as IPython HTML, refused if a non-finite number is written in it."""
    return _HTML(check_text(text, "report text"))


FAMILY_NAMES: dict[str, str] = {
    "negative_binomial": "negative binomial",
    "quasipoisson": "quasi-Poisson (Poisson with its variance scaled to the data)",
    "poisson": "Poisson",
}
"""How the report names each count model family (the reach model falls back from the
negative binomial to quasi-Poisson when the former cannot be fitted)."""

SECTIONS: tuple[str, ...] = (
    "Summary",
    "Programme status",
    "Referrals and pathways",
    "Who was supported",
    "Activities and outputs",
    "The six outcome measures",
    "Change over time",
    "Fieldwork",
    "Data quality appendix",
    "Methods, assumptions and caveats",
)
"""The report's sections, in order (the browser test checks each is present)."""

LABELS: dict[str, str] = {
    "childrens_social_care": "Children's social care",
    "police": "Police",
    "education": "Education",
    "health": "Health",
    "voluntary_youth": "Other voluntary / youth",
    "self_family": "Self / family",
    "other": "Other",
    "multi_agency": "Multi-agency team",
    "new": "New",
    "open": "Open",
    "closed": "Closed",
    "direct_work": "Direct work sessions",
    "group_work": "Group work sessions",
    "consultations": "Consultations",
    "training_sessions": "Training sessions",
    "professionals_trained": "Professionals trained",
    "awareness_events": "Awareness events",
    "multi_agency_meetings": "Multi-agency meetings",
    "female": "Female",
    "male": "Male",
    "white_british": "White British",
    "white_other": "White other",
    "mixed": "Mixed",
    "asian": "Asian",
    "black": "Black",
    "heterosexual": "Heterosexual",
    "gay_lesbian": "Gay / lesbian",
    "bisexual": "Bisexual",
    "yes": "Yes",
    "no": "No",
    "seraf": "SERAF",
    "star5": "Outcomes Star (1-5)",
    "star10": "Outcomes Star (1-10)",
    "risk3": "3-level risk rating",
    "bespoke": "Bespoke form",
    "none": "No repeated measure",
}
NOT_RECORDED = "Not recorded"

DISPLAY_NAMES: dict[str, str] = {
    "estimate": "Estimate",
    "ci_lower": "Lower 95% limit",
    "ci_upper": "Upper 95% limit",
    "rate_ratio": "Rate ratio",
    "rr_ci_lower": "Lower 95% limit",
    "rr_ci_upper": "Upper 95% limit",
    "n": "N",
    "term": "Term",
    "months_since_referral": "Months since referral",
    "event_time": "Quarters since the spoke arrived",
    "group": "Group",
    "service_id": "Service",
    "reason": "Reason",
    "value": "Value",
}
"""Column headings shown to readers for the tables' internal column names."""


def label(code: Any) -> str:
    """Plain-English label of a code."""
    if code is None or (not isinstance(code, str) and pd.isna(code)):
        return NOT_RECORDED
    return LABELS.get(str(code), str(code).replace("_", " ").capitalize())


def slug(text: str) -> str:
    """A file-name-safe identifier for a table or figure title."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:80]


@dataclass(frozen=True)
class ReportSettings:
    """Parameters of one year's report (``params.yaml`` ``report:``)."""

    year: str
    threshold: int = 9
    total_rounding: int = 5
    cutoff_days: int = 61
    first_year: str = "2013-14"
    min_services: int = 3
    data_source: str = "synthetic"

    @property
    def synthetic(self) -> bool:
        """True when the report describes the pipeline's own synthetic programme."""
        return self.data_source == "synthetic"

    @property
    def cutoff(self):  # noqa: ANN201 - a datetime.date
        """The date by which returns must have arrived."""
        return periods.cutoff_date(self.year, self.cutoff_days)

    @property
    def previous_year(self) -> str:
        return periods.previous_year(self.year)


@dataclass
class YearReport:
    """Everything one year's report shows, built from the cleaned tables and the year's
    analysis outputs. Construct with :meth:`build`."""

    settings: ReportSettings
    seen: dict[str, pd.DataFrame]
    previous: dict[str, pd.DataFrame] | None
    analysis_dir: Path
    out_dir: Path
    input_hash: str
    processed_dir: Path
    tables_written: list[str] = field(default_factory=list)
    table_index: list[dict[str, Any]] = field(default_factory=list)
    figures_written: list[str] = field(default_factory=list)

    # -------------------------------------------------------------------- construction
    @classmethod
    def build(
        cls,
        settings: ReportSettings,
        *,
        processed_dir: Path,
        analysis_dir: Path,
        out_dir: Path,
    ) -> YearReport:
        """Load the tables the year's report may see and prepare its output folder."""
        tables = load_tables(Path(processed_dir))
        seen = vintage.tables_as_of(tables, settings.year, settings.cutoff)
        first = periods.parse_year(settings.year) <= periods.parse_year(settings.first_year)
        previous = None
        if not first:
            prev = settings.previous_year
            previous = vintage.tables_as_of(
                tables, prev, periods.cutoff_date(prev, settings.cutoff_days)
            )
        input_hash = vintage.vintage_hash(seen)
        check_analysis_matches(Path(analysis_dir), settings.year, input_hash)
        out_dir = Path(out_dir)
        (out_dir / "tables").mkdir(parents=True, exist_ok=True)
        (out_dir / "figures").mkdir(parents=True, exist_ok=True)
        return cls(
            settings=settings,
            seen=seen,
            previous=previous,
            analysis_dir=Path(analysis_dir),
            out_dir=out_dir,
            input_hash=input_hash,
            processed_dir=Path(processed_dir),
        )

    # ------------------------------------------------------------------------ helpers
    @property
    def year(self) -> str:
        return self.settings.year

    def _table(self, table: DisclosedTable) -> list[Any]:
        """Show a disclosed table with a link to its CSV (written beside the report)."""
        name = slug(table.title)
        if f"{name}.csv" in self.tables_written:
            raise ValueError(
                f"two tables would be written to {name}.csv: give them distinct titles"
            )
        path = table.to_csv(self.out_dir / "tables" / f"{name}.csv")
        self.tables_written.append(path.name)
        self.table_index.append(
            {
                "file": path.name,
                "title": table.title,
                "kind": table.kind,
                "threshold": table.threshold,
            }
        )
        write_json(self.table_index, self.out_dir / "tables" / "index.json")
        link = (
            f'<p class="download"><a href="tables/{html.escape(path.name)}" download>'
            f"Download this table as CSV</a></p>"
        )
        return [table, HTML(link)]

    def _estimate_figure(self, table: DisclosedTable, name: str, **kwargs: Any) -> list[Any]:
        """Estimates with 95% intervals from a table made by :meth:`_estimates`."""
        return self._figure(
            figures.estimate_plot(
                table,
                estimate=DISPLAY_NAMES["estimate"],
                lower=DISPLAY_NAMES["ci_lower"],
                upper=DISPLAY_NAMES["ci_upper"],
                **kwargs,
            ),
            name,
        )

    def _figure(self, fig: Any, name: str) -> list[Any]:
        """Save a figure as PNG and SVG beside the report and show it inline."""
        stem = self.out_dir / "figures" / slug(name)
        shown = figures.show_figure(fig, save_to=stem)  # draws the PNG once for both
        self.figures_written.append(stem.with_name(stem.name + ".png").name)
        return [shown]

    def _counts(
        self,
        frame: pd.DataFrame,
        *,
        index: str | list[str],
        columns: str | None,
        values: str,
        title: str,
        notes: tuple[str, ...] = (),
        threshold: int | None = None,
        totals: bool = True,
    ) -> DisclosedTable:
        names = {c: DISPLAY_NAMES.get(c, c) for c in frame.columns}
        index_names = [names[i] for i in ([index] if isinstance(index, str) else index)]
        return disclosure.disclose_counts(
            frame.rename(columns=names),
            index=index_names[0] if isinstance(index, str) else index_names,
            columns=names[columns] if columns else None,
            values=names[values],
            threshold=self.settings.threshold if threshold is None else threshold,
            # Counts that are not about individuals (threshold 0) are shown exactly.
            total_rounding=self.settings.total_rounding if threshold != 0 else 1,
            totals=totals,
            title=title,
            notes=notes,
        )

    # ----------------------------------------------------------------------- sections
    def summary(self) -> list[Any]:
        """Section 1: the year's key figures and what changed since the previous year.

        The previous year's column shows its figures as known now; where they differ from
        what the previous report published (late or resubmitted returns), they carry [r].
        """
        prev = self.settings.previous_year
        # The analyse stage computed this year's headline figures on the same tables.
        headline = read_json(self.analysis_dir / "headline.json")
        rows = [
            key_figures(self.seen, self.year, headline=headline).assign(evaluation_year=self.year)
        ]
        now = None
        if self.previous is not None:
            now = key_figures(_restrict(self.seen, prev), prev)
            rows.insert(0, now.assign(evaluation_year=prev))
        frame = pd.concat(rows, ignore_index=True).rename(columns={"figure": "Figure"})
        table = disclosure.disclose_programme_totals(
            frame,
            index="Figure",
            columns="evaluation_year",
            values="value",
            threshold=self.settings.threshold,
            total_rounding=self.settings.total_rounding,
            exact=EXACT_FIGURES,
            title=f"Key figures, {self.year} and the year before",
        )
        table = self._revise_previous(table, now)
        values = table.numeric
        sentences = [
            f"<p>This report covers the evaluation year {self.year} (1 September to 31 August), "
            f"using returns received by the cut-off in {self.settings.cutoff:%B %Y} "
            f"({self.settings.cutoff_days} days after the year end).</p>"
        ]
        if self.settings.synthetic:
            sentences.append(
                '<p class="warning"><strong>Synthetic data.</strong> These figures describe the '
                "synthetic programme the pipeline generates to exercise every step, not real "
                "services or young people; its size depends on the configured scale.</p>"
            )
        if self.previous is None:
            sentences.append(
                "<p>This is the programme's first evaluation year: there is no previous year "
                "to compare with.</p>"
            )
        elif prev in values.columns and self.year in values.columns:
            changes = []
            for idx in values.index:
                a, b = values.loc[idx, prev], values.loc[idx, self.year]
                if pd.notna(a) and pd.notna(b) and a != b:
                    direction = "rose" if b > a else "fell"
                    changes.append(f"{str(idx).lower()} {direction} from {_fmt(a)} to {_fmt(b)}")
            if changes:
                sentences.append(f"<p>Compared with {prev}: " + "; ".join(changes) + ".</p>")
        return [HTML("".join(sentences)), *self._table(table)]

    def _revise_previous(
        self, table: DisclosedTable, now_frame: pd.DataFrame | None
    ) -> DisclosedTable:
        """Mark with [r] the previous year's figures that differ from what was published."""
        if self.previous is None or now_frame is None:
            return table
        prev = self.settings.previous_year
        published = key_figures(self.previous, prev).set_index("figure")["value"]
        now = now_frame.set_index("figure")["value"]
        revised = pd.DataFrame(False, index=table.table.index, columns=table.table.columns)
        if prev in revised.columns:
            for fig in revised.index:
                if fig in published.index and fig in now.index and published[fig] != now[fig]:
                    revised.loc[fig, prev] = True
        return disclosure.mark_revised(table, revised)

    def _service_breakdown_allowed(self) -> bool:
        """Service-level tables need enough services that no row is itself the programme."""
        return self._n_services() >= self.settings.min_services

    def _n_services(self) -> int:
        sy = outcomes.service_years(outcomes.prepare_tables(self.seen), self.year)
        return int((sy["evaluation_year"] == self.year).sum())

    def _no_breakdown(self, what: str) -> list[Any]:
        return [
            HTML(
                f"<p>{html.escape(what)} by service are not shown for {self.year}: with fewer "
                f"than {self.settings.min_services} services active, a service's figures would "
                "be the programme's own, unrounded.</p>"
            )
        ]

    def programme_status(self) -> list[Any]:
        """Section 2: services active by phase, spoke areas and host agency types."""
        services = outcomes.service_years(outcomes.prepare_tables(self.seen), self.year)
        services = services.loc[services["evaluation_year"] == self.year]
        svc = self.seen["services"].merge(services[["service_id"]], on="service_id")
        by_phase = svc.assign(n=1, phase=svc["phase"].map(lambda p: f"Phase {p}"))
        t1 = self._counts(
            by_phase,
            index="phase",
            columns=None,
            values="n",
            threshold=0,
            title=f"Services active in {self.year} by phase",
            notes=("Counts of services are not about individuals and are not suppressed.",),
        )
        areas = self.seen["areas"]
        spokes = areas.loc[
            areas["is_spoke"].astype(bool) & areas["service_id"].isin(svc["service_id"])
        ]
        start = pd.to_datetime(spokes["spoke_start_month"])
        spokes = spokes.loc[start <= pd.Timestamp(periods.year_bounds(self.year)[1])]
        host = spokes.assign(n=1, host=spokes["host_agency"].map(label))
        t2 = self._counts(
            host,
            index="host",
            columns=None,
            values="n",
            threshold=0,
            title=f"Spoke areas in {self.year} by host agency type",
            notes=("Counts of spoke posts are not about individuals and are not suppressed.",),
        )
        n_areas = spokes["area_code"].nunique()
        text = (
            f"<p>{_plural(len(svc), 'service was', 'services were')} active in {self.year}, "
            f"with spoke workers in {_plural(n_areas, 'local authority area', 'local authority areas')}.</p>"
        )
        out: list[Any] = [HTML(text), *self._table(t1), *self._table(t2)]
        if len(host):
            out += self._figure(
                figures.bar_chart(
                    t2, title="Spoke areas by host agency type", value_label="Spoke areas"
                ),
                "spoke-areas-by-host",
            )
        return out

    def referrals(self) -> list[Any]:
        """Section 3: referrals by source over time and young people supported."""
        ref = vintage.current_rows(self.seen["referrals"])
        by_year = ref.assign(source=ref["referral_source"].map(label))
        trend = self._counts(
            by_year,
            index="evaluation_year",
            columns="source",
            values="referrals",
            title="Referrals by source and evaluation year (programme)",
            notes=(
                "Earlier years are shown as known now; [r] marks a figure that differs from "
                "the earlier report.",
            ),
        )
        trend = self._revise_trend(
            trend, "referrals", ["evaluation_year", "referral_source"], "referral_source"
        )
        out: list[Any] = [
            HTML(
                "<p>Where referrals came from, year by year, and how many young people each "
                "service took on, supported and closed in the year. The counts come from the "
                "services' monitoring returns.</p>"
            ),
            *self._table(trend),
        ]
        out += self._figure(
            figures.bar_chart(
                trend,
                stacked=True,
                horizontal=False,
                title="Referrals by source and evaluation year (programme)",
                value_label="Referrals",
                category_label="Evaluation year",
            ),
            "referrals-by-year",
        )
        if not self._service_breakdown_allowed():
            return out + self._no_breakdown("Referrals and young people supported")
        this = ref.loc[ref["evaluation_year"] == self.year]
        this = this.assign(source=this["referral_source"].map(label))
        by_service = self._counts(
            this,
            index="service_id",
            columns="source",
            values="referrals",
            title=f"Referrals by service and source, {self.year}",
        )
        yp = young_people_supported(self.seen, self.year)
        wide = (
            yp.pivot_table(
                index="service_id", columns="measure", values="young_people", aggfunc="sum"
            )
            .reindex(columns=["New", "Open", "Closed"])
            .reset_index()
            .rename(columns={"service_id": "Service"})
        )
        t_yp = disclosure.disclose_table(
            wide,
            index="Service",
            count_columns=["New", "Open", "Closed"],
            threshold=self.settings.threshold,
            total_rounding=self.settings.total_rounding,
            title=f"Young people new, open and closed by service, {self.year}",
            notes=(
                "From the monitoring returns. New and closed are summed over the year's "
                "returns; open counts the young people open at any time in the period of the "
                "latest return of the year. The columns overlap, so they are not added up.",
            ),
        )
        out += [*self._table(by_service), *self._table(t_yp)]
        return out

    def _revise_trend(
        self,
        table: DisclosedTable,
        value: str,
        keys: list[str],
        column_key: str,
        source: str = "referrals",
    ) -> DisclosedTable:
        """Mark with [r] the cells of an earlier year that differ from the earlier report."""
        if self.previous is None:
            return table
        prev = self.settings.previous_year
        earlier = vintage.current_rows(self.previous[source])
        later = vintage.current_rows(_restrict(self.seen, prev)[source])
        e = earlier.groupby(keys, as_index=False)[value].sum()
        lt = later.groupby(keys, as_index=False)[value].sum()
        rev = vintage.revised_cells(e, lt, keys, value)
        flags = pd.DataFrame(False, index=table.table.index, columns=table.table.columns)
        for _, row in rev.iterrows():
            col = label(row[column_key])
            if row["evaluation_year"] in flags.index and col in flags.columns:
                flags.loc[row["evaluation_year"], col] = True
        return disclosure.mark_revised(table, flags)

    def who(self) -> list[Any]:
        """Section 4: characteristics of young people supported, with the share not recorded."""
        people = people_in_year(self.seen, self.year)
        out: list[Any] = [
            HTML(
                f"<p>{self._people(len(people)).capitalize()} young people were open to a service "
                f"at some time in {self.year}, counted once per service from the case-level "
                "extracts (the monitoring returns' figures in section 3 may differ slightly). "
                "For each characteristic the first table shows the programme's young people by "
                "category and the second the share not recorded, by service.</p>"
            )
        ]
        people = people.assign(age_band=age_band(people["age_at_referral"]))
        for column, title in (
            ("age_band", "Age at referral"),
            ("gender", "Gender"),
            ("ethnicity", "Ethnicity"),
            ("sexuality", "Sexuality"),
            ("disability", "Disability"),
        ):
            frame = people.assign(category=people[column].map(label), n=1)
            t = self._counts(
                frame,
                index="category",
                columns=None,
                values="n",
                title=f"{title} of young people supported, {self.year}",
            )
            recorded = people.groupby("service_id", as_index=False).agg(
                total=(column, "size"), recorded=(column, lambda s: int(s.notna().sum()))
            )
            recorded = recorded.assign(not_recorded=recorded["total"] - recorded["recorded"])
            out += [HTML(f"<h3>{html.escape(title)}</h3>"), *self._table(t)]
            if not self._service_breakdown_allowed():
                continue
            shares = disclosure.disclose_shares(
                recorded.rename(columns={"service_id": "Service"}),
                index="Service",
                numerator="not_recorded",
                denominator="total",
                threshold=self.settings.threshold,
                protect_complement=True,
                title=f"{title}: share not recorded by service, {self.year}",
                share_label="Not recorded (%)",
                denominator_label="Young people",
            )
            out += self._table(shares)
        return out

    def activities(self) -> list[Any]:
        """Section 5: direct work, training delivered, professionals trained, awareness events.

        Sessions, events, meetings and professionals trained are not counts of young people:
        they are shown exactly (no suppression or rounding), as the notes say.
        """
        note = (
            "Sessions, events, meetings and professionals trained are not counts of young "
            "people and are shown exactly.",
        )
        outs = vintage.current_rows(self.seen["outputs"])
        wide = (
            outs.assign(output=outs["output"].map(label))
            .pivot_table(index="evaluation_year", columns="output", values="count", aggfunc="sum")
            .reset_index()
            .rename(columns={"evaluation_year": "Evaluation year"})
        )
        cols = [c for c in wide.columns if c != "Evaluation year"]
        trend = disclosure.disclose_table(
            wide,
            index="Evaluation year",
            count_columns=cols,
            threshold=0,
            total_rounding=1,
            total_row=False,
            title="Outputs by evaluation year (programme)",
            notes=note,
        )
        out: list[Any] = [*self._table(trend)]
        if "Professionals trained" in trend.table.columns:
            out += self._figure(
                figures.bar_chart(
                    trend,
                    columns=["Professionals trained"],
                    horizontal=False,
                    title="Professionals trained by evaluation year",
                    value_label="Professionals trained",
                    category_label="Evaluation year",
                ),
                "professionals-trained-by-year",
            )
        for source, column, value, title in (
            ("activities", "activity", "sessions", "Activities"),
            ("outputs", "output", "count", "Outputs"),
        ):
            frame = vintage.current_rows(self.seen[source])
            frame = frame.loc[frame["evaluation_year"] == self.year]
            wide = (
                frame.assign(**{column: frame[column].map(label)})
                .pivot_table(index="service_id", columns=column, values=value, aggfunc="sum")
                .reset_index()
                .rename(columns={"service_id": "Service"})
            )
            cols = [c for c in wide.columns if c != "Service"]
            out += self._table(
                disclosure.disclose_table(
                    wide,
                    index="Service",
                    count_columns=cols,
                    threshold=0,
                    total_rounding=1,
                    title=f"{title} by service, {self.year}",
                    notes=note,
                )
            )
        return out

    def outcome_measures(self) -> list[Any]:
        """Section 6: each outcome's indicators for the programme and per service.

        Per service, an indicator shows its value or, where the data cannot support one,
        the reason. Shares use their own numerators and denominators, so suppressed cells
        stay suppressed; the three risk-band outcomes share one table so that one cannot be
        worked out from the other two.
        """
        ind = pd.read_parquet(self.analysis_dir / "indicators.parquet")
        ind = ind.loc[ind["evaluation_year"] == self.year]
        prog = pd.read_parquet(self.analysis_dir / "programme_indicators.parquet")
        prog = prog.loc[prog["evaluation_year"] == self.year].set_index("indicator")
        breakdown = self._service_breakdown_allowed()
        out: list[Any] = [
            HTML(
                "<p>Each of the evaluation's six key outcome measures has operational "
                "indicators computed from the returns (their definitions are in the project's "
                "outcomes document). For each outcome the programme's figures come first, then "
                "each service's value or, where its data cannot support one, the reason.</p>"
            )
        ]
        for number in range(1, 7):
            specs = [x for x in outcomes.INDICATORS if x.outcome == number]
            out.append(HTML(f"<h3>Outcome {number}: {html.escape(OUTCOME_TITLES[number])}</h3>"))
            out.append(HTML(self._programme_findings(specs, prog)))
            if not breakdown:
                out += self._no_breakdown(f"Outcome {number} indicators")
                continue
            if number == 6:
                out += self._outcome6(ind)
                continue
            for spec in specs:
                rows = ind.loc[ind["indicator"] == spec.indicator]
                if rows.empty or spec.unit == outcomes.CHANGE:
                    continue
                out += self._indicator(spec, rows)
        return out

    def _programme_findings(self, specs: list[Any], prog: pd.DataFrame) -> str:
        """The programme's value of each indicator as a sentence list (disclosed)."""
        items = []
        for spec in specs:
            if spec.indicator not in prog.index:
                continue
            row = prog.loc[spec.indicator]
            shown = self._programme_value(spec, row)
            services = int(row["services_with_value"])
            items.append(
                f"<li>{html.escape(spec.label)}: <strong>{shown}</strong> "
                f"({_plural(services, 'service', 'services')} with a figure)</li>"
            )
        return f"<ul>{''.join(items)}</ul>" if items else ""

    def _programme_value(self, spec: Any, row: pd.Series) -> str:
        value, den = row["value"], row["denominator"]
        personal = spec.indicator not in PERSON_FREE_INDICATORS
        if pd.isna(value):
            return "[x]"
        if spec.unit in (outcomes.SHARE, outcomes.MEAN_CHANGE):
            if personal and pd.notna(den) and den <= self.settings.threshold:
                return "[c]"
            return f"{value:.0%}" if spec.unit == outcomes.SHARE else f"{value:.3f}"
        if spec.unit == outcomes.CHANGE:
            if personal:
                return f"{self._rounded(value):+,.0f} (rounded)"
            return f"{value:+,.0f}"
        if personal:
            return "[c]" if 0 < value <= self.settings.threshold else f"{self._rounded(value):,.0f}"
        return f"{value:,.0f}"

    def _indicator(self, spec: Any, rows: pd.DataFrame) -> list[Any]:
        """One indicator by service: its disclosed values and the reasons for gaps."""
        personal = spec.indicator not in PERSON_FREE_INDICATORS
        threshold = self.settings.threshold if personal else 0
        title = f"{spec.label}, {self.year}"
        has_value = rows.loc[rows["value"].notna()]
        reasons = rows.loc[rows["value"].isna(), ["service_id", "reason"]]
        out: list[Any] = []
        if len(has_value):
            if spec.unit == outcomes.COUNT:
                table = disclosure.disclose_table(
                    has_value[["service_id", "value"]].rename(
                        columns={"service_id": "Service", "value": "Number"}
                    ),
                    index="Service",
                    count_columns=["Number"],
                    threshold=threshold,
                    total_rounding=self.settings.total_rounding if personal else 1,
                    title=title,
                )
            elif spec.unit == outcomes.SHARE:
                table = disclosure.disclose_shares(
                    has_value.rename(columns={"service_id": "Service"}),
                    index="Service",
                    numerator="numerator",
                    denominator="denominator",
                    threshold=threshold,
                    protect_complement=personal,
                    title=title,
                    denominator_label="Out of",
                )
            else:
                data = has_value.assign(
                    estimate=has_value["value"].astype("float64"),
                    n=has_value["denominator"].astype("float64"),
                )[["service_id", "estimate", "n"]]
                table = self._estimates(
                    data,
                    index="service_id",
                    estimate_columns=("estimate",),
                    n_column="n",
                    threshold=threshold,
                    decimals=3,
                    title=title,
                    notes=(UNIT_NOTES.get(spec.indicator, ""),)
                    if spec.indicator in UNIT_NOTES
                    else (),
                )
            out += self._table(table)
        if len(reasons):
            items = "".join(
                f"<li>{html.escape(str(r.service_id))}: {html.escape(str(r.reason))}</li>"
                for r in reasons.itertuples()
            )
            out.append(
                HTML(
                    f'<p class="reasons">{html.escape(spec.label)}: no figure for</p><ul>{items}</ul>'
                )
            )
        return out

    def _outcome6(self, ind: pd.DataFrame) -> list[Any]:
        """Outcome 6 by service: assessed, used, and risk-band change in one protected table."""
        wide = ind.pivot_table(
            index="service_id", columns="indicator", values="numerator", aggfunc="first"
        )
        counts = ind.pivot_table(
            index="service_id", columns="indicator", values="value", aggfunc="first"
        )
        frame = pd.DataFrame(index=counts.index)
        frame["Assessed"] = counts.get("assessed_young_people")
        frame["Two or more"] = counts.get("two_plus_assessments")
        for key, name in (
            ("improved", "Improved"),
            ("unchanged", "Unchanged"),
            ("worsened", "Worsened"),
        ):
            frame[name] = wide.get(f"risk_band_{key}_share")
        frame = frame.dropna(how="all")
        out: list[Any] = []
        if len(frame):
            frame["Fewer than two"] = frame["Assessed"] - frame["Two or more"]
            bands = frame[["Improved", "Unchanged", "Worsened"]]
            frame["Band not comparable"] = frame["Two or more"] - bands.sum(axis=1, min_count=1)
            frame = frame.reset_index().rename(columns={"service_id": "Service"})
            cols = ["Assessed", "Fewer than two", "Two or more", "Improved", "Unchanged",
                    "Worsened", "Band not comparable"]  # fmt: skip
            out += self._table(
                disclosure.disclose_table(
                    frame[["Service", *cols]],
                    index="Service",
                    count_columns=cols,
                    relations={
                        "Assessed": ["Fewer than two", "Two or more"],
                        "Two or more": ["Improved", "Unchanged", "Worsened", "Band not comparable"],
                    },
                    percent_columns={"Improved (%)": ("Improved", "Two or more")},
                    threshold=self.settings.threshold,
                    total_rounding=self.settings.total_rounding,
                    title=f"Young people assessed and change in risk band by service, {self.year}",
                    notes=(
                        "Young people with an outcome assessment in the year; those with two or "
                        "more assessments, by how their common risk band changed from the first "
                        "to the latest assessment.",
                    ),
                )
            )
        spec = outcomes.INDICATOR_BY_ID["outcome_score_change_mean"]
        rows = ind.loc[ind["indicator"] == spec.indicator]
        if len(rows):
            out += self._indicator(spec, rows)
        return out

    def change_over_time(self) -> list[Any]:
        """Section 7: the models, in plain English, with estimates, intervals and N used."""
        records = read_json(self.analysis_dir / "models.json")
        out: list[Any] = []
        out += self._trajectory(records["trajectory"])
        out += self._reach(records["reach"])
        out += self._rollout(records["rollout"])
        return out

    def _estimates(
        self,
        frame: pd.DataFrame,
        *,
        index: str,
        estimate_columns: tuple[str, ...] = ("estimate", "ci_lower", "ci_upper"),
        text_columns: tuple[str, ...] | list[str] = (),
        **kwargs: Any,
    ) -> DisclosedTable:
        """Disclosed estimates with reader-friendly column names."""
        names = {c: DISPLAY_NAMES.get(c, c) for c in frame.columns}
        data = frame.rename(columns=names)
        return disclosure.disclose_estimates(
            data,
            index=names.get(index, index),
            estimate_columns=tuple(names.get(c, c) for c in estimate_columns),
            text_columns=[names.get(c, c) for c in text_columns],
            **{k: (names.get(v, v) if k == "n_column" else v) for k, v in kwargs.items()},
        )

    def _rounded(self, n: float) -> float:
        """A programme count as published: rounded to the base (small counts become 0
        here and are suppressed by the disclosure functions that receive them)."""
        return float(disclosure.round_to_base(float(n), self.settings.total_rounding))

    def _people(self, n: float) -> str:
        """A number of young people for a sentence: rounded, or 'fewer than 10'."""
        if n <= self.settings.threshold:
            return f"fewer than {self.settings.threshold + 1}"
        return f"about {self._rounded(n):,.0f}"

    def _caution(self, rec: dict[str, Any]) -> list[Any]:
        return [
            HTML(f'<p class="warning"><strong>Caution:</strong> {html.escape(w)}</p>')
            for w in rec.get("warnings", [])
            if "left out" not in w
        ]

    def _trajectory(self, rec: dict[str, Any]) -> list[Any]:
        out: list[Any] = [HTML("<h3>Young people's outcome scores over time</h3>")]
        if not rec["fitted"]:
            return [*out, HTML(f"<p>{html.escape(rec['sentence'])}</p>")]
        est = pd.read_parquet(self.analysis_dir / "model_trajectory.parquet").set_index("term")
        slope = est.loc["months_since_referral"]
        used, eligible = rec["n_units_used"], rec["n_units_eligible"]
        direction = "rose" if slope["estimate"] > 0 else "fell"
        significant = slope["ci_lower"] > 0 or slope["ci_upper"] < 0
        text = (
            f"<p>Across {self._people(used)} young people with two or more outcome assessments, "
            f"the harmonised outcome score (0 = highest risk, 1 = safest) {direction} on average "
            f"by {abs(slope['estimate']):.3f} a month (95% confidence interval "
            f"{slope['ci_lower']:.3f} to {slope['ci_upper']:.3f}), about "
            f"{abs(12 * slope['estimate']):.2f} over a year"
            f"{'' if significant else ', which cannot be told apart from no change'}. "
            f"{self._people(eligible - used).capitalize()} young people with fewer than two "
            "assessments were left out. The model allows every young person their own starting "
            "point and rate of change, and compares services with each other only through "
            "fixed service effects.</p>"
        )
        out += [HTML(text), *self._caution(rec)]
        main = est.loc[["Intercept", "months_since_referral"]].reset_index()
        table = self._estimates(
            main.assign(term=main["term"].map(_term_label), n=self._rounded(used)),
            index="term",
            n_column="n",
            threshold=self.settings.threshold,
            decimals=4,
            title=f"Outcome score over time: estimates with 95% intervals, {self.year}",
            notes=(
                "N: young people used, rounded to the nearest "
                f"{self.settings.total_rounding}. The intercept is the score at referral at "
                "the reference service; service effects are in the model but not shown.",
            ),
        )
        out += self._table(table)
        pred = predicted_trajectory(est.reset_index())
        if pred is not None:
            pt = self._estimates(
                pred.assign(n=self._rounded(used)),
                index="months_since_referral",
                n_column="n",
                threshold=self.settings.threshold,
                decimals=3,
                title=f"Predicted average outcome score by months since referral, {self.year}",
                notes=(
                    "Predicted from the model's average intercept and slope; no individual "
                    "young person's trajectory is shown. The interval reflects uncertainty in "
                    "the monthly change only, so it is zero at referral.",
                ),
            )
            out += self._table(pt)
            out += self._estimate_figure(
                pt,
                "predicted-trajectory",
                title="Predicted average outcome score",
                x_label="Months since referral",
                reference=None,
                value_label="Harmonised score (0-1)",
            )
        for group, what in (("instrument", "outcome instrument"),):
            path = self.analysis_dir / f"model_trajectory_by_{group}.parquet"
            if path.exists():
                out += self._trajectory_by(pd.read_parquet(path), group, what)
        return out

    def _trajectory_by(self, frame: pd.DataFrame, group: str, what: str) -> list[Any]:
        """Monthly change by instrument or phase, and predicted average trajectories."""
        if frame.empty:
            return []
        names = frame["group"].map(lambda g: label(g) if group == "instrument" else f"Phase {g}")
        data = frame.assign(
            group=names,
            n=frame["n_people"].map(
                lambda n: self._rounded(n) if n > self.settings.threshold else n
            ),
        )
        table = self._estimates(
            data.rename(columns={"group": what.capitalize()}),
            index=what.capitalize(),
            estimate_columns=("estimate", "ci_lower", "ci_upper"),
            n_column="n",
            threshold=self.settings.threshold,
            decimals=4,
            title=f"Monthly change in the outcome score by {what}, {self.year}",
            notes=(
                f"Fitted separately for each {what} with enough young people; descriptive "
                "(no service effects). N: young people used, rounded to the nearest "
                f"{self.settings.total_rounding}.",
            ),
        )
        out: list[Any] = [HTML(f"<h4>Does change differ by {what}?</h4>"), *self._table(table)]
        fitted = data.loc[data["fitted"]]
        if group == "instrument" and len(fitted) >= 1:
            months = (0, 3, 6, 9, 12)
            wide = pd.DataFrame(
                {
                    row.group: [row.intercept + row.estimate * m for m in months]
                    for row in fitted.itertuples()
                },
                index=pd.Index(months, name="months_since_referral"),
            ).reset_index()
            pt = self._estimates(
                wide.assign(n=float(fitted["n"].min())),
                index="months_since_referral",
                estimate_columns=tuple(fitted["group"]),
                n_column="n",
                threshold=self.settings.threshold,
                decimals=3,
                title=f"Predicted average outcome score by {what}, {self.year}",
                notes=(
                    "Averages predicted by each instrument's model; no individual young "
                    "person's trajectory is shown.",
                ),
            )
            out += self._table(pt)
            out += self._figure(
                figures.line_chart(
                    pt.select(columns=list(fitted["group"])),
                    title=f"Predicted average outcome score by {what}",
                    x_label="Months since referral",
                    value_label="Harmonised score (0-1)",
                ),
                f"predicted-trajectory-by-{group}",
            )
        return out

    def _reach(self, rec: dict[str, Any]) -> list[Any]:
        out: list[Any] = [HTML("<h3>Reach: new young people per month as services mature</h3>")]
        if not rec["fitted"]:
            return [*out, HTML(f"<p>{html.escape(rec['sentence'])}</p>")]
        est = pd.read_parquet(self.analysis_dir / "model_reach.parquet")
        row = est.set_index("term").loc["years_since_start"]
        rr, lo, hi = (float(row[c]) for c in ("rate_ratio", "rr_ci_lower", "rr_ci_upper"))
        family = rec.get("family", "negative_binomial")
        change = "more" if rr >= 1 else "fewer"
        text = (
            f"<p>For each year since a service started, it took on {abs(rr - 1):.0%} {change} "
            f"new young people per month open (rate ratio {rr:.2f}, 95% confidence interval "
            f"{lo:.2f} to {hi:.2f}), comparing each service with itself over "
            f"{rec['n_obs_used']} returns. The model is a {FAMILY_NAMES[family]} regression "
            "of new young people on years since the service started, with the months each "
            "return covers as exposure and a fixed effect for each service.</p>"
        )
        out += [HTML(text), *self._caution(rec)]
        main = est.loc[~est["term"].str.startswith("C(")].assign(n=rec["n_obs_used"])
        cols = (
            ("rate_ratio", "rr_ci_lower", "rr_ci_upper")
            if "rate_ratio" in main
            else ("estimate", "ci_lower", "ci_upper")
        )
        main = main[["term", *cols, "n"]]
        out += self._table(
            self._estimates(
                main.assign(term=main["term"].map(_term_label)),
                index="term",
                estimate_columns=cols,
                n_column="n",
                threshold=0,
                decimals=3,
                title=f"Reach over time: rate ratios with 95% intervals, {self.year}",
                notes=("N: service returns used (returns are not individuals).",),
            )
        )
        return out

    def _rollout(self, rec: dict[str, Any]) -> list[Any]:
        out: list[Any] = [
            HTML("<h3>The rollout: CSE concerns identified after a spoke arrives</h3>")
        ]
        if not rec["fitted"]:
            return [*out, HTML(f"<p>{html.escape(rec['sentence'])}</p>")]
        est = pd.read_parquet(self.analysis_dir / "model_rollout.parquet").iloc[0]
        significant = est["ci_lower"] > 0 or est["ci_upper"] < 0
        more = "more" if est["estimate"] > 0 else "fewer"
        text = (
            f"<p>In the quarters after a spoke arrived, children's social care in spoke areas "
            f"identified on average {abs(est['estimate']):.1f} {more} CSE concerns per quarter "
            f"than in comparison areas no spoke had reached (95% confidence interval "
            f"{est['ci_lower']:.1f} to {est['ci_upper']:.1f})"
            f"{'' if significant else ', which cannot be told apart from no change'}, across "
            f"{rec['n_units_used']} areas. Spokes arrived in three phases, so each group of "
            "areas is compared with areas not (yet) reached over the same quarters (Callaway "
            "and Sant'Anna), which avoids the bias of a simple before-and-after comparison.</p>"
        )
        out += [HTML(text), *self._caution(rec)]
        dyn_path = self.analysis_dir / "model_rollout_att_dynamic.parquet"
        if dyn_path.exists():
            dyn = _with_interval(pd.read_parquet(dyn_path))
            dyn = dyn.loc[dyn["event_time"].between(-8, 8)].assign(n=rec["n_units_used"])
            dt = self._estimates(
                dyn,
                index="event_time",
                n_column="n",
                threshold=0,
                decimals=2,
                title=f"Effect on CSE concerns identified by quarters since spoke arrival, {self.year}",
                notes=(
                    "Areas, not young people: no suppression needed. Negative event times are "
                    "quarters before arrival: effects near zero there support the comparison.",
                ),
            )
            out += self._table(dt)
            out += self._estimate_figure(
                dt,
                "event-study",
                title="Event study: effect of spoke arrival",
                x_label="Quarters since the spoke arrived",
                value_label="Extra CSE concerns per area and quarter",
            )
        return out

    def fieldwork(self) -> list[Any]:
        """Section 8: interviews by participant role and phase for the year."""
        fw = self.seen["fieldwork"]
        fw = fw.loc[fw["evaluation_year"] == self.year]
        if fw.empty:
            return [HTML(f"<p>No fieldwork interviews are recorded for {self.year}.</p>")]
        fw = fw.assign(
            role=fw["participant_role"].map(label), phase=fw["phase"].map(lambda p: f"Phase {p}")
        )
        t = self._counts(
            fw,
            index="role",
            columns="phase",
            values="interviews",
            title=f"Fieldwork interviews by participant role and phase, {self.year}",
        )
        return [HTML("<p>Interviews the evaluation team held in the year.</p>"), *self._table(t)]

    def data_quality(self) -> list[Any]:
        """Section 9: completeness, returns received vs expected, reconciliation, quarantine, ledger."""
        out: list[Any] = []
        comp = self.seen["completeness"]
        comp = comp.loc[comp["evaluation_year"] == self.year]
        if len(comp):
            long = comp.assign(
                recorded_share=comp[
                    [
                        "gender_recorded",
                        "ethnicity_recorded",
                        "sexuality_recorded",
                        "disability_recorded",
                    ]
                ].mean(axis=1),
                quarter=comp["period"].astype("str"),
            )
            heat = disclosure.disclose_shares(
                long,
                index="service_id",
                columns="quarter",
                share="recorded_share",
                denominator="young_people",
                threshold=self.settings.threshold,
                title=f"Completeness: share of characteristics recorded, by service and period, {self.year}",
                notes=(
                    "Mean of the shares of young people with gender, ethnicity, sexuality and "
                    "disability recorded.",
                ),
            )
            out += self._table(heat)
            out += self._figure(
                figures.heatmap(heat, title="Completeness of recording by service and period"),
                "completeness-heatmap",
            )
        exp = returns_expected(self.seen, self.year).rename(
            columns={
                "service_id": "Service",
                "expected": "Expected",
                "received": "Received",
                "late": "Late",
            }  # fmt: skip
        )
        out += self._table(
            disclosure.disclose_table(
                exp,
                index="Service",
                count_columns=["Expected", "Received", "Late"],
                threshold=0,
                total_rounding=1,
                title=f"Returns expected and received by service, {self.year}",
                notes=(
                    "Counts of returns are not about individuals and are not suppressed. Late: "
                    "received more than 30 days after the period ended.",
                ),
            )
        )
        rec = self.seen["reconciliation"]
        rec = rec.loc[rec["period"].astype("str").str[:7] == self.year]
        if len(rec):
            summary = (
                rec.assign(
                    Agree=(rec["difference"] == 0).fillna(False).astype(int),
                    Differ=(rec["difference"] != 0).fillna(False).astype(int),
                    **{"Cannot compare": rec["difference"].isna().astype(int)},
                    Measure=rec["measure"].map(label),
                )
                .groupby("Measure", as_index=False)[["Agree", "Differ", "Cannot compare"]]
                .sum()
            )
            out += self._table(
                disclosure.disclose_table(
                    summary,
                    index="Measure",
                    count_columns=["Agree", "Differ", "Cannot compare"],
                    threshold=0,
                    total_rounding=1,
                    title=f"Reconciliation of returns against case extracts, {self.year}",
                    notes=(
                        "Number of returns whose total agrees with, or differs from, the count in "
                        "the case extracts for the same service and period; 'cannot compare' "
                        "where either figure is missing.",
                    ),
                )
            )
        files = delivered_files(self.processed_dir, self.year, self.settings.cutoff)
        q = quarantine_by_reason(self.processed_dir, files)
        if len(q):
            out += self._table(
                self._counts(
                    q.rename(columns={"reason": "Reason", "rows": "Rows"}),
                    index="Reason",
                    columns=None,
                    values="Rows",
                    threshold=0,
                    title=f"Rows quarantined by reason, files received by the {self.year} cut-off",
                    notes=(
                        "Rows of source files, not young people; the quarantine file itself "
                        "never leaves the analysts' environment.",
                    ),
                )
            )
        ledger = ledger_totals(self.processed_dir, files)
        if len(ledger):
            cols = [
                c for c in ("Read", "Kept", "Quarantined", "Superseded", "Blank") if c in ledger
            ]
            out += self._table(
                disclosure.disclose_table(
                    ledger,
                    index="Source",
                    count_columns=cols,
                    relations={"Read": ["Kept", "Quarantined", "Superseded"]},
                    threshold=0,
                    total_rounding=1,
                    title=f"Ledger: source rows read, kept and quarantined, files received by the {self.year} cut-off",
                    notes=(
                        "Rows of files, not young people. Every row read is kept, quarantined or "
                        "superseded by a resubmission; blank rows are counted apart. The "
                        "registers, area panel and fieldwork log span every year and are "
                        "accounted for in the cleaning step's full ledger.",
                    ),
                )
            )
        return out

    def methods(self) -> list[Any]:
        """Section 10: methods, assumptions, caveats and the version that produced the report."""
        version = version_hashes(self.processed_dir)
        items = "".join(
            f"<li><strong>{html.escape(k)}</strong>: <code>{html.escape(v)}</code></li>"
            for k, v in {"Data this report may see": self.input_hash, **version}.items()
        )
        text = f"""
<p>Figures come from the services' monitoring returns, case-level extracts and outcome
assessments, cleaned and pseudonymised by the pipeline; the report for {self.year} uses
periods up to the end of August and returns received by the cut-off in
{self.settings.cutoff:%B %Y}. Outcome
instruments are mapped to a common 0–1 score (higher is safer and better) and three risk
bands. Models: a linear mixed model of the harmonised score against months since referral
with a random intercept and slope per young person; a negative binomial model of new young
people per month open; and Callaway and Sant'Anna group-time effects of a spoke's arrival
on CSE concerns identified, against areas no spoke reached.</p>
<p>Disclosure control: {disclosure_sentence(self.settings.threshold, self.settings.total_rounding)}</p>
<p>See the <a href="../aqa/assumptions-and-caveats.html">assumptions and caveats log</a>
and the <a href="../aqa/data-log.html">data log</a>.</p>
<h3>Symbols</h3>{disclosure.symbol_key_html()}
<h3>Version</h3><ul>{items}</ul>
<p>The same hashes of data, parameters and code reproduce this report exactly
(<code>dvc repro</code>).</p>"""
        return [HTML(text)]


PERSON_FREE_INDICATORS: frozenset[str] = frozenset(
    {
        "funded_beyond_programme_share",
        "multi_agency_meetings",
        "spoke_areas_reached",
        "spoke_areas_reached_change",
        "training_sessions",
        "professionals_trained",
        "confidence_change_mean",
    }
)
"""Indicators that count posts, meetings, sessions or professionals, not young people:
shown exactly, without suppression or rounding."""

UNIT_NOTES: dict[str, str] = {
    "confidence_change_mean": "Confidence is rated by professionals on a 1-5 scale before and "
    "after training; N is the number of professionals with both ratings.",
    "outcome_score_change_mean": "Change on the common 0-1 score (higher is safer and "
    "better); N is the number of young people with two or more assessments.",
}

EXACT_FIGURES: tuple[str, ...] = ("Services active", "Spoke areas reached", "Returns received")
"""Key figures that are not about individuals: shown exactly, never suppressed."""

OUTCOME_TITLES: dict[int, str] = {
    1: "services secure sustainable funding for spoke services",
    2: "spokes become embedded in the local CSE service landscape",
    3: "spoke workers keep a distinctive CSE-focused role",
    4: "the reach of specialist CSE services is extended",
    5: "skills in partner agencies improve",
    6: "outcomes improve for young people supported",
}


# ------------------------------------------------------------------------- pure helpers
def _fmt(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def _plural(n: int, one: str, many: str) -> str:
    """``"1 service"`` / ``"3 services"``."""
    return f"{n:,} {one if n == 1 else many}"


def _restrict(tables: dict[str, pd.DataFrame], year: str) -> dict[str, pd.DataFrame]:
    """Tables limited to evaluation years up to ``year`` (same vintage)."""
    out = {}
    for name, frame in tables.items():
        if "evaluation_year" in frame.columns:
            out[name] = frame.loc[frame["evaluation_year"].astype("str") <= year]
        else:
            out[name] = frame
    return out


def check_analysis_matches(analysis_dir: Path, year: str, data_hash: str) -> None:
    """Refuse an analysis folder computed for another year or on other data.

    The report reads the analyse stage's indicators, headline figures and model estimates;
    they must come from the very tables the report itself sees (same processed data, same
    cut-off), or its sections would disagree with each other.
    """
    path = Path(analysis_dir) / ANALYSED_DATA_FILE
    if not path.exists():
        raise UserError(
            f"{path} is missing: run the analyse step for {year} on this data first "
            "(python -m analysis analyse, or the analyse stage)"
        )
    record = read_json(path)
    if record.get("year") != year or record.get("data_hash") != data_hash:
        raise UserError(
            f"{analysis_dir} holds the analysis of {record.get('year')} on other data "
            f"(data hash {record.get('data_hash')}, the report's is {data_hash}): re-run the "
            f"analyse step for {year} on the same processed data and cut-off"
        )


def disclosure_sentence(threshold: int, total_rounding: int) -> str:
    """What the report's disclosure control did, for the methods section."""
    if threshold > 0:
        counts = (
            f"counts from 1 to {threshold} in service-level tables\nare shown as [c], with "
            "secondary suppression so that they cannot be worked out from\ntotals"
        )
    else:
        counts = "no counts are suppressed (suppression threshold 0)"
    if total_rounding > 1:
        totals = f"programme totals are rounded to the nearest {total_rounding}"
    else:
        totals = "programme totals are exact"
    shares = (
        "; a\npercentage whose numerator or denominator is suppressed is suppressed."
        if threshold > 0
        else "."
    )
    return f"{counts}; {totals}{shares}"


def key_figures(
    tables: dict[str, pd.DataFrame], year: str, *, headline: dict[str, Any] | None = None
) -> pd.DataFrame:
    """The summary's key figures for ``year`` as a tidy table (figure, value).

    ``headline``, when given, must be ``outcomes.headline_figures(tables, year)`` as the
    analyse stage wrote it (``headline.json``): it saves computing the indicators again.
    """
    head = headline if headline is not None else outcomes.headline_figures(tables, year)
    wanted = {
        "Services active": "services_active",
        "Spoke areas reached": "spoke_areas_reached",
        "Referrals": "referrals",
        "Young people supported": "young_people_supported",
        "Training sessions": "training_sessions",
        "Professionals trained": "professionals_trained",
        "Returns received": "returns_received",
    }
    rows = [{"figure": k, "value": float(head[v])} for k, v in wanted.items() if v in head]
    return pd.DataFrame(rows, columns=["figure", "value"])


def young_people_supported(tables: dict[str, pd.DataFrame], year: str) -> pd.DataFrame:
    """Young people new, open and closed by service in ``year`` from the current returns.

    New and closed are summed over the year's returns; open is the latest return's figure.
    """
    yp = vintage.current_rows(tables["young_people_counts"])
    yp = yp.loc[yp["evaluation_year"] == year].sort_values(["service_id", "period"])
    flows = (
        yp.loc[yp["measure"].isin(["new", "closed"])]
        .groupby(["service_id", "measure"], as_index=False)["young_people"]
        .sum(min_count=1)
    )
    stock = yp.loc[yp["measure"] == "open"].groupby("service_id", as_index=False).tail(1)
    frame = pd.concat([flows, stock[["service_id", "measure", "young_people"]]], ignore_index=True)
    return frame.assign(measure=frame["measure"].map(label))


def people_in_year(tables: dict[str, pd.DataFrame], year: str) -> pd.DataFrame:
    """One row per young person (per service) open at any time in ``year``."""
    cp = tables["case_periods"]
    keys = cp.loc[cp["evaluation_year"] == year, ["person_key", "service_id"]].drop_duplicates()
    people = tables["young_people"].merge(keys, on=["person_key", "service_id"], how="inner")
    return people.sort_values(["service_id", "person_key"], ignore_index=True)


def age_band(ages: pd.Series) -> pd.Series:
    """Age at referral in bands (10-12, 13-14, 15-16, 17 and over)."""
    bands = pd.cut(
        ages.astype("float64"),
        [0, 12, 14, 16, 99],
        labels=["12 and under", "13-14", "15-16", "17 and over"],
    )
    return bands.astype("str").where(ages.notna(), None)


def predicted_trajectory(
    estimates: pd.DataFrame, months: tuple[int, ...] = (0, 3, 6, 9, 12)
) -> pd.DataFrame | None:
    """Average predicted score at ``months`` from the fixed intercept and slope."""
    est = estimates.set_index("term")
    if "Intercept" not in est.index or "months_since_referral" not in est.index:
        return None
    a, b = est.loc["Intercept", "estimate"], est.loc["months_since_referral", "estimate"]
    lo, hi = est.loc["months_since_referral", ["ci_lower", "ci_upper"]]
    rows = [
        {
            "months_since_referral": m,
            "estimate": a + b * m,
            "ci_lower": a + lo * m,
            "ci_upper": a + hi * m,
        }
        for m in months
    ]
    return pd.DataFrame(rows)


def _with_interval(frame: pd.DataFrame) -> pd.DataFrame:
    est = frame.rename(columns={"att": "estimate", "egt": "event_time"})
    est = est.assign(event_time=est["event_time"].astype("int64"))
    if "ci_lower" not in est:
        est = est.assign(
            ci_lower=est["estimate"] - 1.959964 * est["se"],
            ci_upper=est["estimate"] + 1.959964 * est["se"],
        )
    return est[["event_time", "estimate", "ci_lower", "ci_upper"]]


def _term_label(term: str) -> str:
    names = {
        "Intercept": "Intercept",
        "months_since_referral": "Change per month since referral",
        "years_since_start": "Rate ratio per year since the service started",
    }
    return names.get(term, term)


def returns_expected(tables: dict[str, pd.DataFrame], year: str) -> pd.DataFrame:
    """Returns expected, received (by the cut-off) and late, by service, for ``year``."""
    prep = outcomes.prepare_tables(tables)
    sy = outcomes.service_years(prep, year)
    sy = sy.loc[sy["evaluation_year"] == year]
    services = prep["services"].set_index("service_id", drop=False)
    returns = vintage.current_rows(tables["returns"])
    per = tables["periods"].set_index("period")
    rows = []
    for sid in sy["service_id"]:
        svc = services.loc[sid]
        expected = outcomes.expected_periods(
            svc.reporting, svc.start_month, svc.funded_until_month, year
        )
        got = returns.loc[(returns["service_id"] == sid) & returns["period"].isin(expected)]
        late = 0
        for _, r in got.iterrows():
            end = (
                pd.Timestamp(per.loc[r["period"], "period_end"])
                if r["period"] in per.index
                else None
            )
            if end is not None and pd.Timestamp(r["received_date"]) > end + pd.Timedelta(days=30):
                late += 1
        rows.append(
            {
                "service_id": sid,
                "expected": len(expected),
                "received": got["period"].nunique(),
                "late": late,
            }
        )
    return pd.DataFrame(rows, columns=["service_id", "expected", "received", "late"])


def _hash_files(files: list[Path]) -> str:
    digest = hashlib.sha256()
    for file in sorted(files):
        digest.update(file.name.encode())
        digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def version_hashes(processed_dir: Path) -> dict[str, str]:
    """Hashes of the cleaned input data, the parameters and the package source."""
    processed = [Path(processed_dir) / f"{n}.parquet" for n in PROCESSED_TABLES]
    source = sorted((paths.ROOT / "src" / "analysis").glob("*.py"))
    return {
        "Cleaned input data": _hash_files([p for p in processed if p.exists()]),
        "Parameters (params.yaml)": _hash_files([paths.PARAMS_FILE])
        if paths.PARAMS_FILE.exists()
        else "n/a",
        "Package source (src/analysis)": _hash_files(source),
    }


def show(blocks: list[Any]) -> None:
    """Display a section's blocks in the notebook."""
    from IPython.display import display

    for block in blocks:
        display(block)


def headline_snapshot(
    processed_dir: Path, years: list[str], settings: ReportSettings
) -> dict[str, str]:
    """Each year's published key-figures table (CSV text, disclosure applied), as the year
    reports show it: the back-test against earlier publications compares these."""
    tables = load_tables(Path(processed_dir))
    out = {}
    for year in years:
        year_settings = ReportSettings(
            year,
            threshold=settings.threshold,
            total_rounding=settings.total_rounding,
            cutoff_days=settings.cutoff_days,
        )
        seen = vintage.tables_as_of(tables, year, year_settings.cutoff)
        table = disclosure.disclose_programme_totals(
            key_figures(seen, year)
            .assign(evaluation_year=year)
            .rename(columns={"figure": "Figure"}),
            index="Figure",
            columns="evaluation_year",
            values="value",
            threshold=year_settings.threshold,
            total_rounding=year_settings.total_rounding,
            exact=EXACT_FIGURES,
            title=f"Key figures, {year}",
        )
        out[year] = table.table.to_csv(lineterminator="\n")
    return out
