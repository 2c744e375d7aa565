# shellcheck shell=bash
# Case 4 — memory and scale, each on a named of its own (lib.sh, `named -n 1`):
#   mem.rss.plain_kib        named with the native zones only
#   mem.rss.plugin0_kib      + the plugin (1 zone), no value
#   mem.rss.plugin100k_kib   after 100,000 values were added (one new name each,
#                            dnsperf -u, 32 in flight), all live
#   mem.load100k_s           the time those 100,000 UPDATEs took
#   mem.restart100k_s        named start-up until it answers, state of 100,000 values
#   mem.rss.restart100k_kib  RSS after that restart
#   scale.start.z1_s / z10k_s   start-up time with 1 and 10,000 configured zones
#   scale.rss.z10k_kib       RSS with 10,000 configured zones
#   scale.native_a.z10k      www.native.bench.test A q/s with the 10,000-zone plugin
#   scale.plugin_txt.z10k    _acme-challenge.z5000 TXT q/s with the 10,000-zone plugin
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
    "max-values-per-name = 64" "max-values = $((MEM_VALUES + 1000))"
plugin_fragment "$C4/mem.frag" "$C4/plugin-mem.conf"
native_fragment "$C4/mem.frag"
az_start_named "$C4/mem.frag" mem
sleep 1
rec mem.rss.plugin0_kib "$(rss_kib "$AZ_NAMED_PID")"
awk -v n="$MEM_VALUES" 'BEGIN {
    for (i = 0; i < n; i++)
        printf "z1.bench.test\nadd _acme-challenge.m%d 600 TXT \"Xq0s3vM1o9pYbXkzJ4aH2uQ7fLr8tWcD5eGiN6yKjZB-%d\"\nsend\n", i, i
}' >"$C4/mem-updates"
s=$(now)
out=$(timeout 180 dnsperf -u -y "$BENCH_TSIG" -s 127.0.0.1 -p "$MEM_CTL" -d "$C4/mem-updates" \
    -n 1 -l 150 -T 1 -c 32 -q 32 -t 5 2>&1) || az_log "dnsperf (100k values) failed"
rec mem.load100k_s "$(elapsed "$s")"
if grep -qE 'NOERROR [0-9]+ \(100.00%\)' <<<"$out" &&
    grep -q "Updates completed: *$MEM_VALUES " <<<"$out"; then
    rec mem.load100k_ups "$(awk '/per second:/ { printf "%.0f", $4 }' <<<"$out")"
else
    az_log "100k load: $(grep -iE 'completed|lost|codes' <<<"$out" | tr '\n' ' ')"
    rec mem.load100k_ups FAIL
fi
sleep 2
az_use_named mem
rec mem.rss.plugin100k_kib "$(rss_kib "$AZ_NAMED_PID")"
got=$(az_dig mem -- +short "_acme-challenge.m$((MEM_VALUES - 1)).z1.bench.test" TXT | grep -c . || true)
az_assert_eq 1 "$got" "case 4: the last of the $MEM_VALUES values is served"
rec mem.state_dir_kib "$(du -sk "$C4/state-mem" | cut -f1)"
for ((r = 1; r <= RUNS; r++)); do
    az_stop_named mem
    s=$(now)
    az_start_named "$C4/mem.frag" mem
    rec mem.restart100k_s "$(elapsed "$s")"
done
got=$(az_dig mem -- +short "_acme-challenge.m$((MEM_VALUES - 1)).z1.bench.test" TXT | grep -c . || true)
az_assert_eq 1 "$got" "case 4: the last of the $MEM_VALUES values is served after restarts"
sleep 1
rec mem.rss.restart100k_kib "$(rss_kib "$AZ_NAMED_PID")"
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
        for ((r = 1; r <= RUNS; r++)); do
            rec scale.native_a.z10k "$(dnsperf_qps "$AZ_NAMED_PORT" "$C4/q-a")"
            rec scale.plugin_txt.z10k "$(dnsperf_qps "$AZ_NAMED_PORT" "$C4/q-txt")"
        done
    fi
    az_stop_named "$label"
done
