# shellcheck shell=bash
# Case 2 — serving: dnsperf (UDP, one thread, 100 queries in flight, a fixed
# duration) against named started by lib.sh (`named -n 1`: one worker thread,
# so that dnsperf has the other core).
#   serve.plugin_txt      _acme-challenge.z1.bench.test TXT, answered by the plugin
#   serve.native_txt      _acme-challenge.native.bench.test TXT, same text, native zone, same named
#   serve.native_a.plugin www.native.bench.test A, named with the plugin loaded (100 zones)
#   serve.native_a.plain  the same query, a named without the plugin
# The four are measured in turn within each run, so that background load
# drifts over all of them alike.

az_log "case 2: serving"
C2=$B/case2
mkdir -p "$C2"
printf 'server 127.0.0.1 %s\nupdate add _acme-challenge.z1.bench.test. 600 TXT "bench-value-0123456789abcdefghijklmnopqrstuvwxyzABCD"\nsend\n' \
    "$MAIN_CTL" | nsupdate -t 5 -y "$BENCH_TSIG"
# both answers must be the same value before we time them
a=$(az_dig main -- +short _acme-challenge.z1.bench.test TXT)
b=$(az_dig main -- +short _acme-challenge.native.bench.test TXT)
[[ -n $a && $a == "$b" ]] || az_fail "case 2: plugin [$a] and native [$b] TXT differ"

echo "_acme-challenge.z1.bench.test TXT" >"$C2/q-plugin-txt"
echo "_acme-challenge.native.bench.test TXT" >"$C2/q-native-txt"
echo "www.native.bench.test A" >"$C2/q-native-a"

: >"$B/plain.frag"
native_fragment "$B/plain.frag"
az_start_named "$B/plain.frag" plain
PLAIN_DNS=$(az_named_port plain)
PLAIN_PID=$AZ_NAMED_PID

for ((r = 1; r <= CHEAP_RUNS; r++)); do
    rec serve.plugin_txt "$(dnsperf_qps "$MAIN_DNS" "$C2/q-plugin-txt")"
    rec serve.native_txt "$(dnsperf_qps "$MAIN_DNS" "$C2/q-native-txt")"
    rec serve.native_a.plugin "$(dnsperf_qps "$MAIN_DNS" "$C2/q-native-a")"
    rec serve.native_a.plain "$(dnsperf_qps "$PLAIN_DNS" "$C2/q-native-a")"
done
rec settings.serving "dnsperf -T 1 -c 1 -q 100 -l $SERVE_SECONDS (UDP), named -n 1, plugin with 100 zones, ttl 0"
