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
# # 1. The synthetic Hub and Spoke programme
#
# Real case records of sexually exploited children never enter this repository, so the
# pipeline's default input is a synthetic programme that looks, to the cleaning code,
# exactly like what services send: monitoring-return workbooks, case-level extracts,
# outcome assessments, training feedback, an area panel and the fieldwork log, with the
# mess real returns carry. Its true parameters are written to `_truth/truth.json`, which
# the cleaner never reads, so the models can be checked against known values.
#
# The pipeline passes the values from `params.yaml`; the defaults below make a small
# programme in a scratch folder for tests and for trying things out in JupyterLab.

# %% tags=["parameters"]
seed = 1
scale = 0.1
out_dir = ""  # relative to the project root (empty: a scratch folder under data/interim)

# %%
from pathlib import Path

from analysis import paths, synthesise
from analysis.notebook import describe_folder, resolve_dir

target = resolve_dir(out_dir, default=paths.INTERIM_DIR / "scratch" / f"raw-{seed}-{scale}")

# %% [markdown]
# ## Generate the returns

# %%
print(synthesise.synthesise_programme(target, seed=seed, scale=scale))

# %% [markdown]
# ## What was written
#
# One row per kind of file: how many files and how many bytes. Nothing here is about a
# real young person.

# %%
describe_folder(target)
