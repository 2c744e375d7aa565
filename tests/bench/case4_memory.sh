# shellcheck shell=bash
# Case 4 — memory and scale, each on a named of its own (lib.sh, `named -n 1`):
#   mem.rss.plain_kib        named with the native zones only
#   mem.rss.plugin0_kib      + the plugin (1 zone), no value
#   mem.rss_kib@V            RSS after V values were added (chunks of 10,000, one new
#                            name each, dnsperf -u, 32 UPDATEs in flight), all live;
#                            mem.load.chunk_values_per_s@V the rate of that chunk
#   mem.loaded_values        values reached (100,000, or fewer when the load budget ran out)
#   mem.rss.loaded_kib       RSS with them (1 s after the load); mem.restart_s start-up
#                            with them in the state, mem.rss.restart_kib RSS after that
#   mem.rss.loaded_settled_kib, mem.rss.restart_settled_kib   the same 15 s later: named's
#                            jemalloc hands freed pages back only after its decay time
#                            (10 s by default), so the 1 s reading may hold memory
#                            already freed; both are reported, and the target must hold
#                            for both
#   scale.start.z1_s / z10k_s   start-up time with 1 and 10,000 configured zones
#   scale.rss.z10k_kib       RSS with 10,000 configured zones
#   scale.native_a.z10k      www.native.bench.test A q/s with the 10,000-zone plugin
#   scale.plugin_txt.z10k    _acme-challenge.z5000 TXT q/s with the 10,000-zone plugin
#                            (both as case 2 measures: pinned, dnsperf_serve; .cpu twins)
# Start-up times are from the exec of named to its first answer (polled every
# 0.1 s by lib.sh: ±0.1 s).

az_log "case 4: memory and scale"
C4=$B/case4
mkdir -p "$C4"
MEM_VALUES=${BENCH_MEM_VALUES:-100000}

# named without the plugin: the plain instance from case 2, or a new one
if ! az_named_alive plain; then
    : >"$B/plain.frag"
    native_fragment "$B/plain.frag"
    az_start_named "$B/plain.frag" plain
fi
az_use_named plain
sleep 1
rec mem.rss.plain_kib "$(rss_kib "$AZ_NAMED_PID")"

MEM_CTL=$(az_free_port)
bench_plugin_conf "$C4/plugin-mem.conf" "$C4/state-mem" "$MEM_CTL" 1 \
    "max-values-per-name = 64" "max-values-per-zone = $((MEM_VALUES + 10000))" \
    "max-values = $((MEM_VALUES + 10000))"
plugin_fragment "$C4/mem.frag" "$C4/plugin-mem.conf"
native_fragment "$C4/mem.frag"
az_start_named "$C4/mem.frag" mem
sleep 1
rec mem.rss.plugin0_kib "$(rss_kib "$AZ_NAMED_PID")"
# Values go in chunks of 10,000 (2,500 UPDATEs of 4 new names each, 32 in
# flight; dnsperf's 512-octet UPDATE buffer holds no more than 4 of these
# records; each value is 43 characters, like a real dns-01 digest). After
# each chunk: the rate of that chunk and named's RSS. Loading stops at
# MEM_VALUES or when BENCH_MEM_LOAD_SECONDS (default 150) are spent.
PER_UPDATE=4
CHUNK=10000
LOAD_BUDGET=${BENCH_MEM_LOAD_SECONDS:-150}
az_use_named mem
MEM_PID=$AZ_NAMED_PID
loaded=0
load_start=$(date +%s)
while ((loaded < MEM_VALUES)) && (($(date +%s) - load_start < LOAD_BUDGET)); do
    awk -v from="$loaded" -v n="$CHUNK" -v k="$PER_UPDATE" 'BEGIN {
        for (i = from; i < from + n; i += k) {
            print "z1.bench.test"
            for (j = i; j < i + k && j < from + n; j++)
                printf "add _acme-challenge.m%06d 600 TXT \"Xq0s3vM1o9pYbXkzJ4aH2uQ7fLr8tWcD5eGi-%06d\"\n", j, j
            print "send"
        }
    }' >"$C4/mem-updates"
    left=$((LOAD_BUDGET - ($(date +%s) - load_start)))
    ((left > 5)) || left=5
    out=$(timeout $((left + 30)) dnsperf -u -y "$BENCH_TSIG" -s 127.0.0.1 -p "$MEM_CTL" \
        -d "$C4/mem-updates" -n 1 -l "$left" -T 1 -c 32 -q 32 -t 10 2>&1) || true
    n_done=$(awk '/Updates completed:/ { print $3 }' <<<"$out")
    if grep -q 'out of space' <<<"$out" || ! grep -qE 'NOERROR [0-9]+ \(100.00%\)' <<<"$out"; then
        az_log "loading values: $(grep -iE 'completed|lost|codes|space' <<<"$out" | tr '\n' ' ')"
        rec mem.load.note "a chunk failed after $loaded values"
        break
    fi
    loaded=$((loaded + ${n_done:-0} * PER_UPDATE))
    rec "mem.load.chunk_values_per_s@$loaded" \
        "$(awk -v k="$PER_UPDATE" '/per second:/ { printf "%.0f", $4 * k }' <<<"$out")"
    rec "mem.rss_kib@$loaded" "$(rss_kib "$MEM_PID")"
    ((n_done * PER_UPDATE == CHUNK)) || break
done
rec mem.loaded_values "$loaded"
rec mem.load_s "$(($(date +%s) - load_start))"
sleep 1
rec mem.rss.loaded_kib "$(rss_kib "$MEM_PID")"
sleep 15
rec mem.rss.loaded_settled_kib "$(rss_kib "$MEM_PID")"
got=$(az_dig mem -- +short "_acme-challenge.m$(printf %06d $((loaded - 1))).z1.bench.test" TXT | grep -c . || true)
az_assert_eq 1 "$got" "case 4: the last of the $loaded values is served"
rec mem.state_dir_kib "$(du -sk "$C4/state-mem" | cut -f1)"
for ((r = 1; r <= RUNS; r++)); do
    az_stop_named mem
    s=$(now)
    az_start_named "$C4/mem.frag" mem
    rec mem.restart_s "$(elapsed "$s")"
done
got=$(az_dig mem -- +short "_acme-challenge.m$(printf %06d $((loaded - 1))).z1.bench.test" TXT | grep -c . || true)
az_assert_eq 1 "$got" "case 4: the last of the $loaded values is served after restarts"
sleep 1
rec mem.rss.restart_kib "$(rss_kib "$AZ_NAMED_PID")"
sleep 15
rec mem.rss.restart_settled_kib "$(rss_kib "$AZ_NAMED_PID")"
az_stop_named mem

# ---- 10,000 configured zones ----------------------------------------------------------
for nz in 1 10000; do
    ctl=$(az_free_port)
    bench_plugin_conf "$C4/plugin-z$nz.conf" "$C4/state-z$nz" "$ctl" "$nz"
    plugin_fragment "$C4/z$nz.frag" "$C4/plugin-z$nz.conf"
    native_fragment "$C4/z$nz.frag"
    label=z$nz
    ((nz == 10000)) && label=z10k
    for ((r = 1; r <= RUNS; r++)); do
        s=$(now)
        az_start_named "$C4/z$nz.frag" "$label"
        rec "scale.start.${label}_s" "$(elapsed "$s")"
        if ((r < RUNS)); then az_stop_named "$label"; fi
    done
    sleep 1
    rec "scale.rss.${label}_kib" "$(rss_kib "$AZ_NAMED_PID")"
    if ((nz == 10000)); then
        printf 'server 127.0.0.1 %s\nupdate add _acme-challenge.z5000.bench.test. 600 TXT "bench-value-0123456789abcdefghijklmnopqrstuvwxyzABCD"\nsend\n' \
            "$ctl" | nsupdate -t 5 -y "$BENCH_TSIG"
        echo "_acme-challenge.z5000.bench.test TXT" >"$C4/q-txt"
        echo "www.native.bench.test A" >"$C4/q-a"
        # measured as case 2 measures (named -n 1 pinned, SERVE_CLIENTS clients)
        pin_server "$AZ_NAMED_PID"
        for ((r = 1; r <= RUNS; r++)); do
            read -r qps cpu _ <<<"$(dnsperf_serve "$AZ_NAMED_PORT" "$C4/q-a" "$AZ_NAMED_PID")"
            rec scale.native_a.z10k "$qps"
            rec scale.native_a.z10k.cpu "$cpu"
            read -r qps cpu _ <<<"$(dnsperf_serve "$AZ_NAMED_PORT" "$C4/q-txt" "$AZ_NAMED_PID")"
            rec scale.plugin_txt.z10k "$qps"
            rec scale.plugin_txt.z10k.cpu "$cpu"
        done
    fi
    az_stop_named "$label"
done
