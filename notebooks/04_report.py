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
year = "2015-16"
processed_dir = ""  # relative to the project root (empty: a small synthetic sample)
analysis_dir = ""
out_dir = ""
private_dir = ""  # where the audit's private list of small cells goes (empty: none)
threshold = 9
total_rounding = 5
cutoff_days = 61
min_assessments = 2
data_source = "synthetic"

# %% tags=["remove"]
from analysis import report
from analysis.notebook import current_sample, ensure_sample, resolve_dir, show_everything

show_everything()
if not (processed_dir and analysis_dir):
    ensure_sample(year=year)  # builds the sample's analysis of the year if 01 to 03 have not
sample = current_sample()
rep = report.YearReport.build(
    report.ReportSettings(
        year,
        threshold=threshold,
        total_rounding=total_rounding,
        cutoff_days=cutoff_days,
        min_assessments=min_assessments,
        data_source=data_source,
    ),
    processed_dir=resolve_dir(processed_dir, default=sample.processed),
    analysis_dir=resolve_dir(analysis_dir, default=sample.analysis(year)),
    out_dir=resolve_dir(out_dir, default=sample.report(year)),
    private_dir=resolve_dir(private_dir, default=None) if private_dir else None,
)

# %% [markdown]
# ## 1. Summary

# %%
report.show(rep.summary())

# %% [markdown]
# ## 2. Programme status
#
# Services funded in three phases (phase 1 from January 2014, phase 2 from January 2015,
# phase 3 from January 2016), each placing spoke workers in new local authority areas,
# hosted by the police, children's social care, health or a multi-agency team.

# %%
report.show(rep.programme_status())

# %% [markdown]
# ## 3. Referrals and pathways

# %%
report.show(rep.referrals())

# %% [markdown]
# ## 4. Who was supported
#
# Gender, ethnicity and sexuality are often not recorded; the share not recorded is shown
# beside every characteristic, because the gap is itself a finding of the evaluation.

# %%
report.show(rep.who())

# %% [markdown]
# ## 5. Activities and outputs

# %%
report.show(rep.activities())

# %% [markdown]
# ## 6. The six outcome measures

# %%
report.show(rep.outcome_measures())

# %% [markdown]
# ## 7. Change over time
#
# Statistical models of change, in plain English, with 95% intervals and the number of
# young people or areas used. Where a model cannot yet be fitted, the report says so.

# %%
report.show(rep.change_over_time())

# %% [markdown]
# ## 8. Fieldwork

# %%
report.show(rep.fieldwork())

# %% [markdown] tags=["annex"]
# ## 9. Data quality appendix
#
# How complete the recording was, which returns arrived, whether returns agree with the
# case extracts, and how every source row was accounted for.

# %% tags=["annex"]
report.show(rep.data_quality())

# %% [markdown] tags=["annex"]
# ## 10. Methods, assumptions and caveats

# %% tags=["annex"]
report.show(rep.methods())

# %% tags=["annex"]
report.show(rep.downloads())
