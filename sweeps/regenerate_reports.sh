#!/usr/bin/env bash
# Rebuild every committed report from its stored records (no training, no benchmarking: the
# benchmarks beside each report are reused) and say whether any file changed. A refactor that
# claims "no behaviour change" runs this: nothing under results/published/ may differ from git.
# About 90 s on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
for store in results/published/store/*/* results/published/*/store/*/*; do
    key=$(basename "$store"); set_name=$(basename "$(dirname "$store")")
    report="$(dirname "$(dirname "$(dirname "$store")")")/$set_name/$key"
    [ -f "$report/report.md" ] || continue  # a store without a committed report (the search's trials)
    fcn-ablation-report "$store" >/dev/null
done
changed=$(git status --porcelain -- results/published)
if [ -n "$changed" ]; then
    echo "regenerated reports differ from the committed ones:"; echo "$changed"; exit 1
fi
echo "every committed report regenerates byte for byte"
