#!/usr/bin/env bash
# The README's figures come from a committed benchmark run, never by hand:
# the block between its "<!-- figures:" and "<!-- end of figures -->" lines
# must equal `tests/bench/report.py --readme tests/bench/results.tsv`.
# Prints the difference and exits 1 when it does not.
#   check_readme_figures.sh [SOURCE_ROOT]
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
readme=$root/README.md
block=$(awk '/^<!-- end of figures -->/ { inside = 0 }
             inside { print }
             /^<!-- figures:/ { inside = 1; found = 1 }
             END { if (!found) exit 3 }' "$readme") || {
    echo "check_readme_figures: $readme has no <!-- figures: ... --> block" >&2
    exit 1
}
expected=$(python3 "$root/tests/bench/report.py" --readme "$root/tests/bench/results.tsv" 2>/dev/null)
if [[ $block != "$expected" ]]; then
    echo "check_readme_figures: README.md's figures differ from report.py --readme of results.tsv:"
    diff <(echo "$expected") <(echo "$block") | sed 's/^/  /' || true
    echo "  (regenerate: python3 tests/bench/report.py --readme tests/bench/results.tsv)"
    exit 1
fi
echo "check_readme_figures: the README's figures are report.py's, from $(grep -m1 -o 'commit [0-9a-f]*' <<<"$block")"
