#!/usr/bin/env bash
# Run the whole pipeline on real returns kept OUTSIDE the repository.
#
#   HUBSPOKE_DATA_ROOT=/secure/run HUBSPOKE_KEY_FILE=/secure/hubspoke.key \
#     scripts/real_data_pipeline.sh /secure/returns
#
# Every output (cleaned tables, quarantine, executed notebooks, reports) goes under
# $HUBSPOKE_DATA_ROOT, which must not be inside this repository. Nothing is printed about
# individual young people; executed notebooks stay under $HUBSPOKE_DATA_ROOT.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
raw="${1:?usage: $0 RAW_RETURNS_DIR}"
out="${HUBSPOKE_DATA_ROOT:?set HUBSPOKE_DATA_ROOT to a folder outside the repository}"
out="$(mkdir -p "$out" && cd "$out" && pwd)"
case "$out/" in "$here"/*) echo "error: HUBSPOKE_DATA_ROOT ($out) is inside the repository" >&2; exit 2;; esac
if [ -z "${HUBSPOKE_KEY_FILE:-}" ] && [ -z "${HUBSPOKE_PSEUDONYM_KEY:-}" ]; then
  echo "error: set HUBSPOKE_KEY_FILE (or HUBSPOKE_PSEUDONYM_KEY) to the pseudonymisation key" >&2; exit 2
fi
export PATH="$here/.venv/bin:$PATH" SM_FORMULA_ENGINE=patsy MPLBACKEND=Agg
params="$out/params.yaml"
# The project's parameters with data.source switched to real (the cleaner then refuses to
# run without a key outside the repository).
python - "$here/params.yaml" "$params" <<'PY'
import sys, yaml
p = yaml.safe_load(open(sys.argv[1]))
p.setdefault("data", {})["source"] = "real"
yaml.safe_dump(p, open(sys.argv[2], "w"), sort_keys=False)
PY
eval "$(python - "$params" <<'PY'
import sys, yaml
p = yaml.safe_load(open(sys.argv[1]))
print("years=(" + " ".join(p["years"]) + ")")
r = p["report"]
print(f"cutoff={r['cutoff_days_after_year_end']} threshold={r['suppression_threshold']} rounding={r['total_rounding']}")
print(f"min_people={p['model']['min_people_for_trajectory']}")
PY
)"
mkdir -p "$out/data/interim/notebooks" "$out/metrics" "$out/reports"
python -m analysis clean "$raw" "$out/data/processed" --params "$params"
for y in "${years[@]}"; do
  python -m analysis analyse "$out/data/processed" "$y" "$out/data/interim/$y" \
    --metrics-file "$out/metrics/$y.json" --cutoff-days "$cutoff" --min-people "$min_people"
done
# The report notebook once per year (as many at once as there are cores; HUBSPOKE_JOBS
# overrides), each rendered to self-contained HTML.
python -m analysis run "$here/notebooks/04_report.ipynb" "$out/data/interim/notebooks/04_report-{year}.ipynb" \
  --each-year --years "${years[@]}" \
  -y "{processed_dir: '$out/data/processed', analysis_dir: '$out/data/interim/{year}', out_dir: '$out/reports/{year}', threshold: $threshold, total_rounding: $rounding, cutoff_days: $cutoff, data_source: real}" \
  --html "$out/reports/{year}/report.html" --title "Hub and Spoke evaluation: report for {year}"
python -m analysis aqa "$here/docs/aqa" "$out/reports/aqa"
python -m analysis index "$out/reports"
echo "Reports: $out/reports/index.html"
