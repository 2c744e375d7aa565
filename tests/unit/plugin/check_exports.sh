#!/usr/bin/env bash
# The module must export the dlz_* entry points named needs and nothing else:
# any other visible symbol could bind to (or shadow) named's own libdns.
set -euo pipefail
module=$1
syms=$(nm -D --defined-only "$module" | awk '{print $3}' | sort)
required=(dlz_version dlz_create dlz_destroy dlz_findzonedb dlz_lookup dlz_authority
          dlz_allowzonexfr dlz_allnodes)
for s in "${required[@]}"; do
    grep -qx "$s" <<<"$syms" || { echo "FAIL: $module does not export $s"; exit 1; }
done
others=$(grep -v '^dlz_' <<<"$syms" || true)
if [[ -n $others ]]; then
    echo "FAIL: $module exports symbols other than dlz_*:"; echo "$others"; exit 1
fi
echo "ok: $(wc -l <<<"$syms") symbols, all dlz_*"
