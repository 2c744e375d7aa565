#!/usr/bin/env bash
# The dependency rule of DESIGN.md and issuer/README.md, read from the
# includes of every source file: prints each include that breaks it as
# FILE:LINE: "INCLUDED" -- WHY, and exits 1 if there is any.
#   check_layering.sh [SOURCE_ROOT]      (default: the checkout this script is in)
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$root"

# allowed FOLDER: the project-relative prefixes that FOLDER's files may
# include (besides their own folder and common/, which everything may use).
# A folder not listed here may include anything.
declare -A allowed=(
    [common]="-"
    [plugin]="-"
    [issuer/acme]="issuer/certs/ issuer/json/"
    [issuer/dns]="-"
    [issuer/certs]="-"
    [issuer/json]="-"
    [issuer/ca]="issuer/acme/ issuer/certs/ issuer/json/ issuer/cli/issuer_config.h"
    [issuer/pass]="issuer/acme/ issuer/dns/ issuer/certs/ issuer/json/ issuer/ca/ issuer/outputs/ issuer/cli/issuer_config.h"
    [issuer/outputs]="issuer/certs/ issuer/json/ issuer/pass/ issuer/cli/issuer_config.h"
    [issuer/serve]="issuer/certs/ issuer/json/ issuer/cli/issuer_config.h issuer/outputs/metrics.h"
    [issuer/fetch]="issuer/certs/ issuer/json/ issuer/outputs/hooks.h"
    [issuer]="issuer/"
)

violations=0
checked=0
while IFS= read -r -d '' file; do
    dir=${file%/*}
    rules="" own=""
    for folder in "${!allowed[@]}"; do  # the longest folder that holds the file
        if [[ ($dir == "$folder" || $dir == "$folder"/*) && ${#folder} -gt ${#own} ]]; then
            rules=${allowed[$folder]}
            own=$folder
        fi
    done
    [[ -n $rules ]] || continue
    checked=$((checked + 1))
    while IFS=: read -r line included; do
        # Only the project's own headers ("folder/file.h") are judged.
        [[ $included == */* ]] || continue
        [[ $included == "$own"/* || $included == common/* ]] && continue
        ok=0
        for prefix in $rules; do
            [[ $prefix != - && $included == "$prefix"* ]] && ok=1
        done
        if ((!ok)); then
            echo "$file:$line: \"$included\" -- $own/ may include only common/ and ${rules//-/nothing else}"
            violations=$((violations + 1))
        fi
    done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$file" |
        sed -E 's/^([0-9]+):[^"]*"([^"]*)".*/\1:\2/')
done < <(find common plugin issuer -type f \( -name '*.cpp' -o -name '*.h' \) -print0 | sort -z)

if ((checked == 0)); then
    echo "check_layering: no source file found under $root" >&2
    exit 2
fi
if ((violations > 0)); then
    echo "check_layering: $violations include(s) break the dependency rule ($checked files read)"
    exit 1
fi
echo "check_layering: $checked files read, every include within the rule"
