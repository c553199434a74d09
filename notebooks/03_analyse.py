# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
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
#   against areas not (yet) reached (Callaway & Sant'Anna group-time effects).
#
# The estimates are written as DVC metrics (`dvc metrics show`).

# %% tags=["parameters"]
year = "2015-16"
processed_dir = ""  # relative to the project root (empty: a small synthetic sample)
out_dir = ""
metrics_file = ""
cutoff_days = 61
min_people = 20
sample_seed = 1
sample_scale = 0.1

# %%
from analysis import evaluation, paths
from analysis.notebook import ensure_sample, models_overview, resolve_dir, sample_dirs

sample = sample_dirs(seed=sample_seed, scale=sample_scale)
if not processed_dir:
    sample = ensure_sample(seed=sample_seed, scale=sample_scale)
source = resolve_dir(processed_dir, default=sample.processed)
target = resolve_dir(out_dir, default=paths.INTERIM_DIR / "scratch" / f"analyse-notebook-{year}")

# %% [markdown]
# ## Run the year's analysis

# %%
metrics = evaluation.evaluate_year(
    source,
    year,
    out_dir=target,
    cutoff_days=cutoff_days,
    min_people=min_people,
    metrics_file=resolve_dir(metrics_file, default=target / "metrics.json"),
)
metrics

# %% [markdown]
# ## The models in plain English
#
# Each model's finding, or why it cannot be estimated yet, with the numbers of young
# people, services or areas used.

# %%
models_overview(target)
