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
# # 2. Cleaning the monitoring returns
#
# Every file the data contract (`docs/data-contract.md`) describes is read, validated,
# harmonised and pseudonymised into tidy Parquet tables. Nothing is lost and nothing is
# guessed: every source row is either kept or written to `quarantine.csv` with a reason an
# analyst can act on, and `ledger.json` proves it file by file (read = kept + quarantined +
# superseded). Identifying columns never go further than this step.
#
# This notebook shows only aggregate counts: it never prints a row of case data.

# %% tags=["parameters"]
raw_dir = ""  # relative to the project root (empty: a small synthetic sample)
out_dir = ""
sample_seed = 1
sample_scale = 0.1

# %%
from analysis import clean, paths
from analysis.notebook import ledger_summary, quarantine_summary
from analysis.notebook import resolve_dir, sample_dirs

sample = sample_dirs(seed=sample_seed, scale=sample_scale)
if not raw_dir:
    from analysis.notebook import ensure_sample

    sample = ensure_sample(seed=sample_seed, scale=sample_scale)
source = resolve_dir(raw_dir, default=sample.raw)
target = resolve_dir(out_dir, default=paths.INTERIM_DIR / "scratch" / "clean-notebook")

# %% [markdown]
# ## Run the cleaner

# %%
print(clean.clean_returns(source, target))

# %% [markdown]
# ## Every row accounted for
#
# Rows read, kept, quarantined and superseded, by kind of source file. The step fails if
# any file does not balance.

# %%
ledger_summary(target)

# %% [markdown]
# ## Why rows were quarantined
#
# The reasons, with how many rows each. The quarantine file itself (with file, sheet, row
# and column of every row) stays beside the processed data and never reaches a report.

# %%
quarantine_summary(target)
