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
raw_dir = ""  # relative to the project root (empty: the scratch sample notebook 01 wrote)
out_dir = ""

# %%
from analysis import clean
from analysis.notebook import current_sample, ensure_sample, ledger_summary, quarantine_summary
from analysis.notebook import resolve_dir, show_everything, writing

show_everything()
if not raw_dir:
    ensure_sample(cleaned=False)  # builds the sample's raw returns if 01 has not
sample = current_sample()
source = resolve_dir(raw_dir, default=sample.raw)
target = resolve_dir(out_dir, default=sample.processed)
target

# %% [markdown]
# ## Run the cleaner

# %%
with writing(target, raw_dir, out_dir) as folder:
    print(clean.clean_returns(source, folder))

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
