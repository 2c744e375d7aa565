#!/usr/bin/env bash
# status_timing.sh — `acmezone-issuer status --json` and the idle `run` over a
# synthesised store of N zones (default 10,000), as case 5 measures them
# (case5_scale.sh), without named or Pebble: synth_store.py's certificates and
# state, an issuer.conf as bench_issuer_conf writes it (a directory nothing
# answers on: neither command contacts the CA), one idle `run` first (it keeps
# each zone's certificate summary in its state file, as the bench's idle runs
# do before status), then RUNS of each under GNU time. Prints, per command,
# the runs' wall, user and system seconds and peak RSS, then min and median.
#
#   tests/bench/status_timing.sh [BUILD_DIR]          (default ./build)
#   STATUS_N=1000 STATUS_RUNS=9 tests/bench/status_timing.sh
#   ACMEZONE_ISSUER=/path/to/other/acmezone-issuer    another binary
#   STATUS_DIR=/tmp/st   keep (and reuse) the store there (else removed at exit)
# Run it under nice on a shared machine.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
issuer=${ACMEZONE_ISSUER:-$build/issuer/acmezone-issuer}
n=${STATUS_N:-10000}
runs=${STATUS_RUNS:-5}
if [[ -n ${STATUS_DIR:-} ]]; then
    d=$STATUS_DIR
    mkdir -p "$d"
else
    d=$(mktemp -d /tmp/acmezone-status-timing.XXXXXX)
    trap 'rm -rf "$d"' EXIT
fi
directory=https://127.0.0.1:9/dir

if [[ ! -f $d/big.conf ]]; then
    awk -v n="$n" 'BEGIN { for (i = 1; i <= n; i++) printf "z%d.bench.test\n", i }' >"$d/zones"
    (umask 077 && tsig-keygen -a hmac-sha256 acme-key >"$d/keys.conf")
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=unused \
        -days 30 -keyout "$d/ca.key" -out "$d/ca.pem" 2>/dev/null
    /usr/bin/python3 "$here/synth_store.py" "$d/certs" "$d/state" "$d/zones" "$directory"
    cat >"$d/big.conf" <<CONF
[acme]
directory = $directory
ca-file = $d/ca.pem
contact = mailto:bench@bench.test
state-dir = $d/state
rate-limits = none
[zones]
zones-file = $d/zones
[publish]
control = 127.0.0.1:9
key = acme-key
keys = $d/keys.conf
[dns]
resolver = 127.0.0.1:9
check-server = 127.0.0.1:9
timeout = 3
propagation-timeout = 30
[certs]
dir = $d/certs
key-type = ecdsa-p256
parallel = 16
CONF
    "$issuer" --config "$d/big.conf" run >/dev/null 2>"$d/first-run.log"
fi

# timed LABEL ARGS...: RUNS runs, one line each, then min and median
timed() {
    local label=$1
    shift
    : >"$d/times"
    for ((r = 1; r <= runs; r++)); do
        /usr/bin/time -f '%e %U %S %M' -o "$d/time" "$issuer" --config "$d/big.conf" "$@" \
            >/dev/null 2>"$d/last.log" || true
        tail -n 1 "$d/time" | tee -a "$d/times" | sed "s/^/$label, run $r: /"
    done
    sort -n "$d/times" | awk -v label="$label" '
        { w[NR] = $1 }
        END { m = int((NR + 1) / 2); printf "%s: wall min %.2f median %.2f s (of %d runs)\n", label, w[1], w[m], NR }'
}
echo "N = $n, $issuer, $d  (each run: wall user sys rss_kib)"
timed "status --json" status --json
timed "idle run" run
