# shellcheck shell=bash
# Case 2 — serving, at saturation: dnsperf (UDP, SERVE_CLIENTS clients,
# SERVE_INFLIGHT queries in flight in all, a fixed duration) against two
# nameds of this case's own, each `named -n 1` (one worker thread) pinned to CPU 0, dnsperf pinned
# to CPU 1 (bench.sh: pin_server, LOAD_PIN):
#   serve.plugin_txt      _acme-challenge.z1.bench.test TXT, answered by the plugin (100 zones)
#   serve.native_txt      _acme-challenge.native.bench.test TXT, same text, native zone, same named
#   serve.native_a.plugin www.native.bench.test A, the named with the plugin loaded
#   serve.native_a.plain  the same query, a named without the plugin
# Each key has twins: ".cpu", queries answered per CPU-second of named during
# the run (utime + stime of every thread, /proc/PID/stat), and ".named_cpu" and
# ".dnsperf_cpu", the CPU-seconds each process spent per second of the run.
# named is the limit (the rate is named's, not dnsperf's) when named_cpu is
# near 1.00 (its one core) and dnsperf_cpu below it; report.py says for each
# query whether every run was so. The four are measured in turn within each
# run, starting with a different one each run, so that background load drifts
# over all of them alike. Then, unless BENCH_PROFILE=0, a profile of named
# answering the plugin's TXT (perf record -g): $B/perf-serving.txt, which
# bench.sh copies to tests/bench/ with the default report.

az_log "case 2: serving"
C2=$B/case2
mkdir -p "$C2"
SERVE_RUNS=${BENCH_SERVE_RUNS:-5}
VALUE=bench-value-0123456789abcdefghijklmnopqrstuvwxyzABCD

SERVE_CTL=$(az_free_port)
bench_plugin_conf "$C2/plugin-serve.conf" "$C2/state-serve" "$SERVE_CTL" 100 \
    "max-values-per-name = 64"
plugin_fragment "$C2/serve.frag" "$C2/plugin-serve.conf"
native_fragment "$C2/serve.frag"
AZ_NAMED_WORKERS=1 az_start_named "$C2/serve.frag" serve
SERVE_DNS=$(az_named_port serve)
SERVE_PID=$AZ_NAMED_PID
printf 'server 127.0.0.1 %s\nupdate add _acme-challenge.z1.bench.test. 600 TXT "%s"\nsend\n' \
    "$SERVE_CTL" "$VALUE" | nsupdate -t 5 -y "$BENCH_TSIG"

: >"$B/plain.frag"
native_fragment "$B/plain.frag"
AZ_NAMED_WORKERS=1 az_start_named "$B/plain.frag" plain
PLAIN_DNS=$(az_named_port plain)
PLAIN_PID=$AZ_NAMED_PID
rec settings.serving_named "named -n 1: $(named_workers serve) worker thread with the plugin, $(named_workers plain) without"

kinds=(plugin_txt native_txt native_a.plugin native_a.plain)
declare -A q_name=([plugin_txt]="_acme-challenge.z1.bench.test TXT"
    [native_txt]="_acme-challenge.native.bench.test TXT"
    [native_a.plugin]="www.native.bench.test A" [native_a.plain]="www.native.bench.test A")
declare -A q_port=([plugin_txt]=$SERVE_DNS [native_txt]=$SERVE_DNS
    [native_a.plugin]=$SERVE_DNS [native_a.plain]=$PLAIN_DNS)
declare -A q_pid=([plugin_txt]=$SERVE_PID [native_txt]=$SERVE_PID
    [native_a.plugin]=$SERVE_PID [native_a.plain]=$PLAIN_PID)

# Each query is checked once, as dnsperf sends it (UDP, no EDNS, RD set):
# NOERROR, not truncated, the one expected answer. The TXT from the plugin and
# from the native zone must be the same record.
for k in "${kinds[@]}"; do
    echo "${q_name[$k]}" >"$C2/q-$k"
    read -r qn qt <<<"${q_name[$k]}"
    out=$(dig @127.0.0.1 -p "${q_port[$k]}" +noedns +time=2 +tries=2 "$qn" "$qt")
    grep -q 'status: NOERROR' <<<"$out" || az_fail "case 2: $qn $qt: not NOERROR: $out"
    grep -qE '^;; flags:[a-z ]* tc[ ;]' <<<"$out" && az_fail "case 2: $qn $qt: truncated answer: $out"
    grep -q 'ANSWER: 1,' <<<"$out" || az_fail "case 2: $qn $qt: not one answer: $out"
    if [[ $qt == TXT ]]; then
        grep -q "\"$VALUE\"" <<<"$out" || az_fail "case 2: $qn TXT: not the value: $out"
    fi
done

pin_server "$SERVE_PID"
pin_server "$PLAIN_PID"
for ((r = 1; r <= SERVE_RUNS; r++)); do
    for ((i = 0; i < ${#kinds[@]}; i++)); do
        k=${kinds[$(((i + r - 1) % ${#kinds[@]}))]}
        read -r qps cpu size named_cpu load_cpu <<<"$(dnsperf_serve "${q_port[$k]}" "$C2/q-$k" "${q_pid[$k]}")"
        rec "serve.$k" "$qps"
        rec "serve.$k.cpu" "$cpu"
        rec "serve.$k.named_cpu" "$named_cpu"
        rec "serve.$k.dnsperf_cpu" "$load_cpu"
        [[ $size == - ]] || echo "$size" >"$C2/size-$k"
    done
done
for k in "${kinds[@]}"; do
    rec "serve.$k.response_octets" "$(cat "$C2/size-$k" 2>/dev/null || echo "?")"
done
pin_note="named pinned to CPU 0, dnsperf to CPU 1 (taskset)"
((${#LOAD_PIN[@]})) || pin_note="not pinned (fewer than 2 CPUs or no taskset)"
rec settings.serving "dnsperf -T 1 -c $SERVE_CLIENTS -q $SERVE_INFLIGHT -t 2 -l $SERVE_SECONDS (UDP, no EDNS), $SERVE_RUNS runs of the four queries in turn, named -n 1, $pin_note, plugin with 100 zones, ttl 0; every answer checked once with dig (NOERROR, not truncated, the one expected record)"

# ---- the profile: where named's time goes on the plugin's TXT -----------------
# perf record -g of the pinned named during one more dnsperf run of the
# plugin's TXT. Its failure is recorded (serve.profile FAIL ...), not hidden;
# BENCH_PROFILE=0 skips it (serve.profile "not run").
profile_serving() {
    local data=$C2/perf.data txt=$B/perf-serving.txt p rc=0
    perf record -F 999 -g -p "$SERVE_PID" -o "$data" -- sleep $((SERVE_SECONDS + 1)) \
        >"$C2/perf-record.log" 2>&1 &
    p=$!
    sleep 0.5
    read -r qps _ <<<"$(dnsperf_serve "$SERVE_DNS" "$C2/q-plugin_txt" "$SERVE_PID")"
    wait "$p" || rc=$?
    if ((rc != 0)) || [[ ! -s $data ]]; then
        rec serve.profile "FAIL (perf record exit $rc: $(tail -n 2 "$C2/perf-record.log" | tr '\n\t' '  ' | cut -c1-200))"
        return
    fi
    # (a section that matches nothing is no error here: the check after
    # this block fails the profile when it holds no sample at all)
    {
        echo "# perf of named (-n 1, pinned) answering _acme-challenge TXT from the plugin, $qps q/s"
        echo "# written by tests/bench/case2_serving.sh, run of $(date -u '+%F %T UTC'), commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
        echo "# perf record -F 999 -g -p NAMED -- sleep $((SERVE_SECONDS + 1)); dnsperf -c $SERVE_CLIENTS -l $SERVE_SECONDS"
        echo "== by DSO (self)"
        perf report -i "$data" --stdio --no-children --sort dso -g none 2>/dev/null | grep -E '^ +[0-9]' | sed -n '1,8p' || true
        echo "== by symbol (self)"
        perf report -i "$data" --stdio --no-children --sort dso,symbol -g none 2>/dev/null |
            grep -E '^ +[0-9]' | sed -n '1,25p' | sed 's/  */ /g' | cut -c1-160 || true
        echo "== the plugin's callers and BIND's text parsing (children: the symbol and what it calls)"
        perf report -i "$data" --stdio --children --sort symbol -g none 2>/dev/null | grep -E '^ +[0-9]' |
            grep -E 'dlz_|putrr|rdata_fromtext|isc_lex_gettoken|getnodedata|findext|query_lookup|ns_query_start' |
            sed -n '1,15p' | sed 's/  */ /g' | cut -c1-160 || true
    } >"$txt"
    if ! grep -q '^ *[0-9.]*%' "$txt"; then
        rec serve.profile "FAIL (perf report gave no samples: $(tail -n 2 "$C2/perf-record.log" | tr '\n\t' '  ' | cut -c1-200))"
        return
    fi
    rec serve.profile "tests/bench/perf-serving.txt (perf record -g of named answering the plugin's TXT, $qps q/s)"
    rec serve.profile.top_dso "$(sed -n '/^== by DSO/,/^==/p' "$txt" | grep -E '^ +[0-9]' | sed -n '1,5p' |
        awk '{ printf "%s%s %s", (NR > 1 ? "; " : ""), $2, $1 }')"
}
if [[ ${BENCH_PROFILE:-1} == 0 ]]; then
    rec serve.profile "not run (BENCH_PROFILE=0)"
elif ! have perf; then
    rec serve.profile "not run (perf is not installed)"
else
    profile_serving
fi
unpin_server "$SERVE_PID"
unpin_server "$PLAIN_PID" # case 4 reads its memory
az_stop_named serve
az_use_named main
