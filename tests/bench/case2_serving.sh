# shellcheck shell=bash
# Case 2 — serving: dnsperf (UDP, one thread, 100 queries in flight, a fixed
# duration) against named started by lib.sh (`named -n 1`: one worker thread).
#   serve.plugin_txt      _acme-challenge.z1.bench.test TXT, answered by the plugin
#   serve.native_txt      _acme-challenge.native.bench.test TXT, same text, native zone, same named
#   serve.native_a.plugin www.native.bench.test A, named with the plugin loaded (100 zones)
#   serve.native_a.plain  the same query, a named without the plugin
# Each key has a twin ".cpu": queries answered per CPU-second of named during
# the run (utime + stime from /proc/PID/stat), which a busy machine depresses
# far less than the rate. Both nameds are pinned to CPU 0 and dnsperf to CPU 1
# (bench.sh: pin_server, LOAD_PIN). The four are measured in turn within
# each run, starting with a different one each run, so that background load
# drifts over all of them alike; report.py gives each median with its spread
# and each ratio as the median of the per-run ratios.

az_log "case 2: serving"
C2=$B/case2
mkdir -p "$C2"
SERVE_RUNS=${BENCH_SERVE_RUNS:-5}
VALUE=bench-value-0123456789abcdefghijklmnopqrstuvwxyzABCD
printf 'server 127.0.0.1 %s\nupdate add _acme-challenge.z1.bench.test. 600 TXT "%s"\nsend\n' \
    "$MAIN_CTL" "$VALUE" | nsupdate -t 5 -y "$BENCH_TSIG"

: >"$B/plain.frag"
native_fragment "$B/plain.frag"
az_start_named "$B/plain.frag" plain
PLAIN_DNS=$(az_named_port plain)
PLAIN_PID=$AZ_NAMED_PID
az_use_named main

kinds=(plugin_txt native_txt native_a.plugin native_a.plain)
declare -A q_name=([plugin_txt]="_acme-challenge.z1.bench.test TXT"
    [native_txt]="_acme-challenge.native.bench.test TXT"
    [native_a.plugin]="www.native.bench.test A" [native_a.plain]="www.native.bench.test A")
declare -A q_port=([plugin_txt]=$MAIN_DNS [native_txt]=$MAIN_DNS
    [native_a.plugin]=$MAIN_DNS [native_a.plain]=$PLAIN_DNS)
declare -A q_pid=([plugin_txt]=$MAIN_PID [native_txt]=$MAIN_PID
    [native_a.plugin]=$MAIN_PID [native_a.plain]=$PLAIN_PID)

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

pin_server "$MAIN_PID"
pin_server "$PLAIN_PID"
for ((r = 1; r <= SERVE_RUNS; r++)); do
    for ((i = 0; i < ${#kinds[@]}; i++)); do
        k=${kinds[$(((i + r - 1) % ${#kinds[@]}))]}
        read -r qps cpu size <<<"$(dnsperf_serve "${q_port[$k]}" "$C2/q-$k" "${q_pid[$k]}")"
        rec "serve.$k" "$qps"
        rec "serve.$k.cpu" "$cpu"
        [[ $size == - ]] || echo "$size" >"$C2/size-$k"
    done
done
unpin_server "$MAIN_PID"
unpin_server "$PLAIN_PID" # case 4 reads its memory
for k in "${kinds[@]}"; do
    rec "serve.$k.response_octets" "$(cat "$C2/size-$k" 2>/dev/null || echo "?")"
done
pin_note="named pinned to CPU 0, dnsperf to CPU 1 (taskset)"
((${#LOAD_PIN[@]})) || pin_note="not pinned (fewer than 2 CPUs or no taskset)"
rec settings.serving "dnsperf -T 1 -c 1 -q 100 -t 2 -l $SERVE_SECONDS (UDP, no EDNS), $SERVE_RUNS runs of the four queries in turn, named -n 1, $pin_note, plugin with 100 zones, ttl 0; every answer checked once with dig (NOERROR, not truncated, the one expected record)"
