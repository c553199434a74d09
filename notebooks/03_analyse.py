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

# %% [markdown]
# # 3. Outcome measures and models of change, for one evaluation year
#
# Each evaluation year is analysed on the data its report may see: periods up to
# 31 August and returns received by the cut-off. Adding later returns never changes an
# earlier year's results.
#
# * The **six key outcome measures** (`docs/outcomes.md`) for every service: a value, or the
#   reason the data cannot support one.
# * **Outcome trajectories**: how young people's harmonised outcome score changes with months
#   since referral (linear mixed model, random intercept and slope per young person).
# * **Reach**: how many new young people services take on per month as they mature
#   (negative binomial rate model).
# * **The rollout**: the effect of a spoke's arrival on CSE concerns identified in its area,
#   against areas no spoke reached (Callaway & Sant'Anna group-time effects, small cohorts
#   pooled within their phase), with the checks of its assumptions (pre-arrival trend test,
#   simultaneous band, HonestDiD bounds) and a sensitivity table.
#
# The estimates are written as DVC metrics (`dvc metrics show`).

# %% tags=["parameters"]
year = "2015-16"
processed_dir = ""  # relative to the project root (empty: the scratch sample 02 cleaned)
out_dir = ""
metrics_file = ""
cutoff_days = 61
min_people = 20
min_assessments = 2

# %%
import pandas as pd
from IPython.display import Markdown, display

from analysis import evaluation
from analysis.analyse import diagnostics
from analysis.notebook import current_sample, ensure_sample, resolve_dir, show_everything
from analysis.notebook import writing

show_everything()
if not processed_dir:
    ensure_sample()  # builds the sample's processed tables if 01 and 02 have not
sample = current_sample()
source = resolve_dir(processed_dir, default=sample.processed)
target = resolve_dir(out_dir, default=sample.analysis(year))
target

# %% [markdown]
# ## Run the year's analysis

# %%
with writing(target, processed_dir, out_dir) as folder:
    metrics = evaluation.evaluate_year(
        source,
        year,
        out_dir=folder,
        cutoff_days=cutoff_days,
        min_people=min_people,
        min_assessments=min_assessments,
        metrics_file=resolve_dir(metrics_file, default=folder / "metrics.json"),
    )
pd.Series(metrics, name="value").to_frame()

# %% [markdown]
# ## The models: estimates with 95% intervals
#
# Whether each model could be estimated (and if not, why), the numbers of young people,
# services or areas used, and every estimate with its 95% interval. The report (notebook
# 04) words the findings.

# %%
for summary in diagnostics.model_summaries(target).values():
    status = "Fitted." if summary["fitted"] else f"Not fitted: {summary['reason']}"
    display(Markdown(f"### {summary['title']}\n\n{status}"))
    display(summary["counts"], summary["estimates"])

# %% [markdown]
# ## Diagnostics
#
# For the trajectory and reach models, observed against predicted values (the average
# young person or service: fixed effects only) and the residuals; for the rollout, the
# effect by quarters since the spoke arrived, relative to the quarter before arrival (grey:
# before arrival; the report tests them jointly).

# %%
for figure in diagnostics.diagnostic_figures(
    source, target, year, cutoff_days=cutoff_days
).values():
    display(diagnostics.png(figure))

# %% [markdown]
# ## The six outcome measures, service by service
#
# Each indicator's value for every service this year (`–`: the data cannot support one;
# the reasons follow).

# %%
diagnostics.service_indicators(target, year)

# %%
diagnostics.indicator_reasons(target, year)
