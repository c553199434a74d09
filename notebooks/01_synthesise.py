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
# # 1. The synthetic Hub and Spoke programme
#
# Real case records of sexually exploited children never enter this repository, so the
# pipeline's default input is a synthetic programme that looks, to the cleaning code,
# exactly like what services send: monitoring-return workbooks, case-level extracts,
# outcome assessments, training feedback, records of group sessions with children and
# young people, the spoke workforce roster, the programme's grants, an area panel and the
# fieldwork log, with the mess real returns carry. At the default size it is calibrated to
# the real programme's published figures (`src/analysis/core/published_figures.yaml`).
# Its true parameters are written to `_truth/truth.json`, which the cleaner never reads, so
# the models can be checked against known values.
#
# The pipeline passes the values from `params.yaml`; the defaults below make a small
# programme in a scratch folder for tests and for trying things out in JupyterLab.

# %% tags=["parameters"]
seed = 1
scale = 0.1
out_dir = ""  # relative to the project root (empty: the scratch sample 02 to 04 then use)

# %%
from analysis import synthesise
from analysis.notebook import describe_folder, show_everything, synthesis_folder, writing

show_everything()
target = synthesis_folder(out_dir, seed=seed, scale=scale)
target

# %% [markdown]
# ## Generate the returns

# %%
with writing(target, out_dir) as folder:
    print(synthesise.synthesise_programme(folder, seed=seed, scale=scale))

# %% [markdown]
# ## What was written
#
# One row per kind of file: how many files and how many bytes. Nothing here is about a
# real young person.

# %%
describe_folder(target)
