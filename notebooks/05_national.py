# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% tags=["parameters"]
data_dir = ""  # relative to the project root (empty: data/external/dfe_children_in_need)
out_dir = ""  # where figures and CSV tables go (empty: a scratch folder)
funnel_year = 2025
overdispersion = True

# %% tags=["remove"]
from IPython.display import Markdown

from analysis import figures, national, paths
from analysis.notebook import resolve_dir, show_everything

show_everything()

data = national.load_national_data(resolve_dir(data_dir, default=national.SOURCE_DIR))
out = resolve_dir(out_dir, default=paths.INTERIM_DIR / "scratch" / "national-notebook")
cse = national.add_rate(data.factors[data.factors["measure"] == national.CSE])
funnel = national.funnel_data(cse, funnel_year, overdispersion=overdispersion)
results = national.fit_models(data)

# %% [markdown]
# ## 1. Key points
#
# National context for the Hub and Spoke evaluation, from the Department for Education's
# published statistics on children in need in England: how often child sexual
# exploitation (CSE) and going missing were identified at the end of a children's social
# care assessment, nationally, by region and by local authority.

# %%
Markdown(national.key_points(data, funnel))

# %% [markdown]
# ## 2. England: CSE and going missing identified per 10,000 children
#
# Rates per 10,000 children aged 0 to 17 use the mid-year population estimate of the
# calendar year in which the reporting year begins (the year to March 2018 uses mid-2017).

# %%
england = national.england_rates(data)
figures.show_table(england, csv_path=out / "england_rates.csv")

# %%
figures.show_figure(
    figures.line_chart(
        england,
        columns=["CSE per 10,000", "Going missing per 10,000"],
        value_label="Per 10,000 children aged 0 to 17",
        x_label="Year ending 31 March",
        title="CSE and going missing identified at the end of assessment, England",
    ),
    save_to=out / "england_trend",
)

# %%
figures.show_table(national.england_counts(data), csv_path=out / "england_counts.csv")

# %% [markdown]
# ## 3. Regions
#
# The nine English regions, each against England (grey).

# %%
regions = national.regional_rates(data)
figures.show_table(regions, csv_path=out / "regional_rates.csv")

# %%
figures.show_figure(national.small_multiples(regions), save_to=out / "regional_small_multiples")

# %% [markdown]
# ## 4. Local authorities: funnel plot
#
# Each local authority's rate against its child population. Points outside the funnel lie
# further from the England rate than chance alone would explain for an authority of that
# size (95% and 99.8% control limits). The limits allow for overdispersion when the
# parameter says so; authorities whose count was suppressed are not shown.

# %%
figures.show_figure(national.funnel_plot(funnel), save_to=out / "funnel")

# %%
figures.show_table(national.funnel_outside_table(funnel), csv_path=out / "funnel_outside.csv")

# %% [markdown]
# ## 5. Trend models
#
# Counts of CSE identified, modelled with the child population as exposure so that the
# coefficients are rate ratios; overdispersion is handled by a quasi-Poisson scale
# (England) or a negative binomial (regions, local authority units). Local authorities are
# merged into units stable over the whole series (see the methods).

# %%
Markdown("\n".join(f"- {s}" for s in national.model_sentences(results)))

# %%
figures.show_table(national.models_table(results), csv_path=out / "models.csv")

# %% [markdown]
# ## 6. Referrals during the programme years
#
# The CSE factor series starts in 2018. For the programme years only referrals to
# children's social care and children in need are published at this level.

# %%
referrals = national.referrals_rates(data)
figures.show_table(referrals, csv_path=out / "referrals_rates.csv")

# %%
figures.show_figure(
    figures.bar_chart(
        referrals,
        horizontal=False,
        value_label="Per 10,000 children aged 0 to 17",
        category_label="Year ending 31 March",
        title="Referrals and children in need, England, programme years",
    ),
    save_to=out / "referrals",
)

# %%
figures.show_table(national.referrals_counts(data), csv_path=out / "referrals_counts.csv")

# %% [markdown]
# ## 7. Methods and sources
#
# - **Source.** Department for Education, *Characteristics of children in need*
#   (explore-education-statistics, October 2025 release): factors identified at the end of
#   assessment (2018 to 2025), children in need and referrals (2013 to 2025); ONS mid-year
#   estimates of children aged 0 to 17. Contains public sector information licensed under
#   the Open Government Licence v3.0. Files, checksums and provenance:
#   `data/external/README.md`.
# - **Shown as published.** DfE suppresses counts of 1 to 5 (`[c]`) with secondary
#   suppression and rounds England and regional totals to the nearest 10. A suppressed or
#   unavailable cell is never read as zero; a rate is computed only when its count and
#   population were both published.
# - **Boundary changes.** For time series, local authorities are merged into the smallest
#   units stable over the whole series: Bournemouth, Poole and Dorset with Bournemouth,
#   Christchurch and Poole and the new Dorset (2020); Northamptonshire with North and West
#   Northamptonshire (2022); Cumbria with Cumberland and Westmorland and Furness (2024). A
#   merged unit has a number only when every part was published.
# - **What these figures are.** Assessment episodes in statutory children's social care,
#   not young people supported by the Hub and Spoke services: context, not outcomes.
