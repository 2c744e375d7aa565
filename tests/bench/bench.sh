#!/usr/bin/env bash
# bench.sh — acmezone side by side with uacme, certbot, lego, BIND's own
# dynamic update and gdnsd, on loopback. Run it through scripts/bench (which
# installs the peers and builds build-bench); it writes tests/bench/RESULTS.md.
#
# Raw figures go to $AZ_TMP/results.tsv, one "key<TAB>value" line per run;
# report.py turns them into medians, ratios and the table. A run that fails
# records "FAIL" (never a number), and a peer that is not installed "n/a".
#
# Environment: ACMEZONE_PLUGIN, ACMEZONE_ISSUER, ACMEZONE_SOURCE_DIR (set by
# scripts/bench); BENCH_CASES (default "1 2 3 4 5 6"), BENCH_RUNS (default 3),
# BENCH_CHEAP_RUNS (default 5), BENCH_N (default "1 20 100"), BENCH_PEER_MAX_N
# (largest N run for the peers, default 100; the budget guard in case 1 leaves
# out what does not fit and says so), BENCH_PEER_SEQ_MAX_N (largest N run one
# zone after the other, default BENCH_PEER_MAX_N), BENCH_PEER_AT_ONCE (default
# 16; 0: no 16-at-once runs), BENCH_SERVE_RUNS (default 5),
# BENCH_SERVE_SECONDS (default 3), BENCH_SERVE_CLIENTS (default 4),
# BENCH_PROFILE=0 (no perf profile in case 2), BENCH_OUT (default
# tests/bench/RESULTS.md), BENCH_SCALE_N (case 5, default "100 1000"),
# BENCH_SCALE_RUNS (default BENCH_RUNS), BENCH_SCALE_BIG (default 10000);
# case 6: BENCH_SERVE_ZONES (1000), BENCH_FLEET (200), BENCH_SERVE_HTTP_CLIENTS
# (64), BENCH_SERVE_HTTP_SECONDS (5), BENCH_SERVE_HTTP_RUNS (BENCH_RUNS),
# BENCH_MTLS_LOAD (default build-bench/tests/bench/mtls_load).
# tests/bench/README.md lists them all.
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=../integration/lib.sh
source "$root/tests/integration/lib.sh"
# shellcheck source=../integration/pebble.sh
source "$root/tests/integration/pebble.sh"
# A work directory of our own: other sessions on this machine clean up
# /tmp/acmezone-it.* directories of their own runs.
export TMPDIR=${BENCH_TMPDIR:-/tmp/acmezone-bench}
mkdir -p "$TMPDIR"
az_setup
B=$AZ_TMP
RES=$B/results.tsv
: >"$RES"
PY=/usr/bin/python3 # Debian's, with python3-dnspython (not a pyenv one)
RUNS=${BENCH_RUNS:-3}
CHEAP_RUNS=${BENCH_CHEAP_RUNS:-5}
PEER_MAX_N=${BENCH_PEER_MAX_N:-100}
CASES=${BENCH_CASES:-1 2 3 4 5 6}
OUT=${BENCH_OUT:-$here/RESULTS.md}
bench_start=$(date +%s)
SERVE_SECONDS=${BENCH_SERVE_SECONDS:-3}

rec() {
    printf '%s\t%s\n' "$1" "$2" >>"$RES"
    echo "[bench] $1 = $2" >&2
}
now() { date +%s.%N; }
elapsed() { awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.3f", e - s }'; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
have() { command -v "$1" >/dev/null 2>&1; }

# ---- machine and versions ----------------------------------------------------
rec machine.nproc "$(nproc)"
rec machine.mem "$(free -m | awk '/^Mem:/ { print $2 " MiB total, " $7 " MiB available" }')"
rec machine.cpu "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
rec machine.load_before "${BENCH_LOAD0:-not recorded}"
rec machine.load_start "$(cut -d' ' -f1-3 /proc/loadavg)"
rec machine.date_start "$(date -u '+%F %T UTC')"
rec machine.build_seconds "${BENCH_BUILD_SECONDS:-not built by this run}"
rec machine.commit "$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
ver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo "not installed"; }
for p in bind9 pebble dnsperf uacme certbot python3-certbot-dns-rfc2136 lego gdnsd \
    python3-dnspython libldns3 openssl; do
    rec "version.$p" "$(ver "$p")"
done
rec version.named "$(named -v)"
# What one durable append costs on the disk under the state directories:
# 200 appends of 512 octets, each fdatasync'd (dd oflag=dsync).
dsync_ms() {
    local s
    s=$(now)
    dd if=/dev/zero of="$B/dsync-probe" bs=512 count=200 oflag=dsync 2>/dev/null
    awk -v s="$s" -v e="$(now)" 'BEGIN { printf "%.2f", (e - s) * 1000 / 200 }'
    rm -f "$B/dsync-probe"
}
rec machine.dsync_ms_start "$(dsync_ms)"

# ---- shared set-up: one key, one zone list ------------------------------------
KEY=acme-key
az_keygen "$KEY" "$B/keys.conf"
SECRET=$(az_key_secret "$B/keys.conf")
export BENCH_TSIG="hmac-sha256:$KEY:$SECRET"
zone_name() { echo "z$1.bench.test"; }

# bench_plugin_conf FILE STATE_DIR CONTROL_PORT NZONES [extra lines...]
# zones z1..zN.bench.test, key acme-key granted every one of them.
bench_plugin_conf() {
    local file=$1 state=$2 port=$3 n=$4 i
    shift 4
    {
        awk -v n="$n" 'BEGIN { for (i = 1; i <= n; i++) printf "zone = z%d.bench.test\n", i }'
        echo "nameserver = ns1.bench.test"
        echo "contact = hostmaster.bench.test"
        echo "ttl = 0"
        echo "lifetime = 600"
        echo "state-dir = $state"
        printf '%s\n' "$@"
        echo "[control]"
        echo "listen = 127.0.0.1:$port"
        echo "keys = $B/keys.conf"
        awk -v n="$n" -v k="$KEY" 'BEGIN { for (i = 1; i <= n; i++) printf "grant = %s zonesub z%d.bench.test\n", k, i }'
    } >"$file"
}

# bench_issuer_conf STATE_DIR ZONES_FILE CERTS_DIR CONTROL_PORT DNS_PORT [lines...]
# → an acmezone-issuer configuration on stdout: the Pebble started last
# (AZ_PEBBLE_DIR), publishing through the control socket on CONTROL_PORT with
# acme-key, checking and resolving at the named on DNS_PORT, ECDSA P-256;
# the extra lines go at the end, in [certs]
bench_issuer_conf() {
    cat <<EOF
[acme]
directory = $AZ_PEBBLE_DIR
ca-file = $AZ_PEBBLE_TLS_CA
contact = mailto:bench@bench.test
state-dir = $1
# Pebble keeps no rate limits (Let's Encrypt's would defer most of the runs)
rate-limits = none
[zones]
zones-file = $2
[publish]
control = 127.0.0.1:$4
key = $KEY
keys = $B/keys.conf
[dns]
resolver = 127.0.0.1:$5
check-server = 127.0.0.1:$5
timeout = 3
propagation-timeout = 30
[certs]
dir = $3
key-type = ecdsa-p256
EOF
    shift 5
    printf '%s\n' "$@"
}

# Native zones, the same in every named: native.bench.test (a TXT at
# _acme-challenge and www A) and dyn.bench.test (BIND's own dynamic update).
mkdir -p "$B/zones"
cat >"$B/zones/native.zone" <<'EOF'
$TTL 0
@ IN SOA ns1.bench.test. hostmaster.bench.test. 1 3600 600 86400 0
@ IN NS ns1.bench.test.
www IN A 192.0.2.1
_acme-challenge IN TXT "bench-value-0123456789abcdefghijklmnopqrstuvwxyzABCD"
EOF
# native_fragment FILE [with-dyn]: the native zones for a named.conf fragment
native_fragment() {
    echo "zone \"native.bench.test\" { type primary; file \"$B/zones/native.zone\"; };" >>"$1"
    if [[ ${2:-} == with-dyn ]]; then
        cp "$B/zones/native.zone" "$B/zones/dyn-$3.zone"
        cat >>"$1" <<EOF
include "$B/keys.conf";
zone "dyn.bench.test" {
    type primary; file "$B/zones/dyn-$3.zone";
    update-policy { grant $KEY zonesub TXT; };
};
EOF
    fi
}

# CPUs: on a machine with 2 or more, the server under test in the serving
# case (named -n 1: one worker thread) is pinned to CPU 0 and the load
# generator (dnsperf) to CPU 1, so that they never take turns on one core and
# each one's CPU use says which of the two is the limit (taskset, util-linux).
NCPU=$(nproc)
if ((NCPU >= 2)) && have taskset; then
    LOAD_PIN=(taskset -c 1)
    pin_server() { taskset -a -p -c 0 "$1" >/dev/null; }
    unpin_server() { taskset -a -p -c "0-$((NCPU - 1))" "$1" >/dev/null; }
else
    LOAD_PIN=()
    pin_server() { :; }
    unpin_server() { :; }
fi
# cpu_ticks PID → utime + stime of the whole process (every thread), in clock ticks
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
CLK_TCK=$(getconf CLK_TCK)
# named_workers INSTANCE → the worker threads named said it uses ("found 2 CPUs,
# using 2 worker threads" in its log), "?" when the log does not say
named_workers() {
    local log=$AZ_TMP/named-$1.log
    [[ $1 != main ]] || log=$AZ_TMP/named.log
    sed -n 's/.*found [0-9]* CPUs\{0,1\}, using \([0-9]*\) worker thread.*/\1/p' "$log" |
        tail -n 1 | grep . || echo "?"
}

# Serving load: SERVE_CLIENTS dnsperf clients (sockets) in one dnsperf thread,
# SERVE_INFLIGHT queries in flight in all. One client cannot keep named busy on
# a native zone (it measured below named's one-core limit); 4 did (issue 15).
# More in flight than named's socket buffer holds is dropped by the kernel
# once named is saturated (400 lost about 200 a run), and a lost query fails
# the run: 100 in flight keep named's queue full without that.
SERVE_CLIENTS=${BENCH_SERVE_CLIENTS:-4}
SERVE_INFLIGHT=${BENCH_SERVE_INFLIGHT:-100}
# dnsperf_serve PORT QUERYFILE [SERVER_PID]
#   → "QPS QPS_PER_CPU_SECOND RESPONSE_OCTETS SERVER_CPU DNSPERF_CPU"
# for one run of SERVE_SECONDS (UDP). QPS_PER_CPU_SECOND is the queries
# completed per CPU-second that SERVER_PID spent meanwhile (/proc/PID/stat);
# SERVER_CPU and DNSPERF_CPU are the CPU-seconds each spent per second of the
# run (1.00 = one core busy all the time: with named -n 1 pinned to one core
# and dnsperf to the other, named at about 1.00 and dnsperf below it means
# named is the limit). "-" where there is no SERVER_PID. A run that lost a
# query or got any rcode but NOERROR is not a rate: "FAIL FAIL - - -" (and the
# reason in the log).
dnsperf_serve() {
    local out t0 t1 lost done_q rc
    [[ -z ${3:-} ]] || t0=$(cpu_ticks "$3")
    # `times` prints the shell's and then its children's CPU time: the
    # children here are timeout and the dnsperf it waited for.
    out=$(
        timeout $((SERVE_SECONDS + 20)) "${LOAD_PIN[@]}" dnsperf -s 127.0.0.1 -p "$1" \
            -d "$2" -l "$SERVE_SECONDS" -T 1 -c "$SERVE_CLIENTS" -q "$SERVE_INFLIGHT" -t 2 2>&1
        echo "dnsperf-exit $?"
        times
    )
    [[ -z ${3:-} ]] || t1=$(cpu_ticks "$3")
    rc=$(awk '/^dnsperf-exit / { print $2 }' <<<"$out")
    if [[ $rc != 0 ]]; then
        az_log "dnsperf failed (exit $rc): $(grep -v '^[0-9]*m[0-9.]*s ' <<<"$out" | tail -n 3 | tr '\n' ' ')"
        echo "FAIL FAIL - - -"
        return
    fi
    lost=$(awk '/Queries lost:/ { print $3 }' <<<"$out")
    done_q=$(awk '/Queries completed:/ { print $3 }' <<<"$out")
    if [[ ${lost:-x} != 0 ]]; then
        az_log "dnsperf $(basename "$2"): lost queries, not a rate: $(grep -E 'lost|completed' <<<"$out" | tr '\n' ' ')"
        echo "FAIL FAIL - - -"
        return
    fi
    if ! grep -qE 'NOERROR [0-9]+ \(100.00%\)' <<<"$out"; then
        az_log "dnsperf $(basename "$2"): not all NOERROR: $(grep -i 'response codes' <<<"$out")"
        echo "FAIL FAIL - - -"
        return
    fi
    local qps cpu size run_s server_cpu load_cpu
    qps=$(awk '/Queries per second:/ { printf "%.0f", $4 }' <<<"$out")
    size=$(awk '/Average packet size:/ { print $7 }' <<<"$out")
    run_s=$(awk '/Run time \(s\):/ { print $4 }' <<<"$out")
    # the last line of `times`: the children's user and system time, as 0m1.234s
    load_cpu=$(tail -n 1 <<<"$out" | awk -v r="${run_s:-0}" '{
        t = 0
        for (i = 1; i <= 2; i++) { split($i, a, "m"); sub("s", "", a[2]); t += a[1] * 60 + a[2] }
        if (r > 0) printf "%.2f", t / r; else print "-" }')
    cpu=-
    server_cpu=-
    if [[ -n ${3:-} ]]; then
        cpu=$(awk -v q="$done_q" -v d="$((t1 - t0))" -v hz="$CLK_TCK" \
            'BEGIN { if (d > 0) printf "%.0f", q / (d / hz); else print "FAIL" }')
        server_cpu=$(awk -v d="$((t1 - t0))" -v hz="$CLK_TCK" -v r="${run_s:-0}" \
            'BEGIN { if (r > 0) printf "%.2f", d / hz / r; else print "-" }')
    fi
    echo "$qps $cpu ${size:--} $server_cpu ${load_cpu:--}"
}
plugin_fragment() { # FILE PLUGIN_CONF
    echo "dlz \"acmezone\" { database \"dlopen $ACMEZONE_PLUGIN $2\"; };" >"$1"
}

# ---- the main named: plugin (100 zones) + native + dyn -----------------------
# Quotas far above what the cases add: case 3 puts a few hundred thousand
# values into one zone (the default max-values-per-zone, 10,000, would
# refuse them and fail its runs).
# BIND's default worker threads (no -n: one a CPU), for issuance and updates:
# BIND's own dynamic update runs on them, while the plugin's control socket
# has threads of its own in the same process (kUdpThreads in
# plugin/control_transport.h, one for TCP, the store's committer), which -n
# does not limit (case 3 records both: settings.threads.*). The serving case
# starts nameds of its own with -n 1.
MAIN_CTL=$(az_free_port)
# The replay memory too: case 3 signs a few hundred thousand UPDATEs within
# one fudge window (300 s), above the default replay-memory (100000), which
# would refuse the rest (REFUSED; settings.updates records the value).
BENCH_REPLAY_MEMORY=2000000
bench_plugin_conf "$B/plugin-main.conf" "$B/state-main" "$MAIN_CTL" 100 \
    "max-values-per-name = 64" "max-values-per-zone = 1000000" "max-values = 1000000" \
    "[control]" "replay-memory = $BENCH_REPLAY_MEMORY"
plugin_fragment "$B/main.frag" "$B/plugin-main.conf"
native_fragment "$B/main.frag" with-dyn main
AZ_NAMED_WORKERS=default az_start_named "$B/main.frag" main
MAIN_DNS=$(az_named_port main)
MAIN_PID=$AZ_NAMED_PID

# (names of their own: the case files are sourced and set many variables)
for bench_case in $CASES; do
    bench_case_start=$(date +%s)
    # shellcheck source=case1_issuance.sh
    source "$here/case${bench_case}_"*.sh
    rec "time.case$bench_case" "$(($(date +%s) - bench_case_start))"
done

rec machine.dsync_ms_end "$(dsync_ms)"
rec machine.load_end "$(cut -d' ' -f1-3 /proc/loadavg)"
rec machine.date_end "$(date -u '+%F %T UTC')"
rec machine.bench_seconds "$(($(date +%s) - bench_start))"
rec time.bench "$(($(date +%s) - bench_start))"
# scripts/bench's own steps (apt-get, build) and the whole, from its start
rec time.setup "${BENCH_SETUP_SECONDS:-not run}"
rec time.build "${BENCH_BUILD_SECONDS:-not run}"
[[ -z ${BENCH_T0:-} ]] || rec time.total "$(($(date +%s) - BENCH_T0))"
rec time.budget "${BENCH_BUDGET_SECONDS:-1200}"
"$PY" "$here/report.py" "$RES" >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
# the raw figures and the serving profile go with the default report only (a
# BENCH_OUT trial leaves them alone); a run that made no profile removes the
# old one, so that no profile outlives the run it came from
if [[ $OUT == "$here/RESULTS.md" ]]; then
    cp "$RES" "$here/results.tsv"
    if [[ -s $B/perf-serving.txt ]]; then
        cp "$B/perf-serving.txt" "$here/perf-serving.txt"
    else
        rm -f "$here/perf-serving.txt"
    fi
fi
echo "[bench] wrote $OUT" >&2
