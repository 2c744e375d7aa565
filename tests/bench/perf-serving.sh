# perf of named while dnsperf asks the plugin for one TXT (evidence for RESULTS.md findings; run by hand: bash tests/bench/perf-serving.sh)
source /work/main/tests/integration/lib.sh
export TMPDIR=/tmp/acmezone-bench
az_setup
export ACMEZONE_PLUGIN=/work/main/build-bench/plugin/acmezone_dlz.so
az_plugin_setup z1.bench.test
az_start_named "$AZ_PLUGIN_FRAGMENT"
az_nsupdate 'update add _acme-challenge.z1.bench.test 600 TXT "bench-value-0123456789abcdefghijklmnopqrstuvwxyzABCD"' 2>/dev/null
echo "_acme-challenge.z1.bench.test TXT" > $AZ_TMP/q
perf record -F 999 -g -p "$AZ_NAMED_PID" -o $AZ_TMP/perf.data -- sleep 6 >/dev/null 2>&1 &
pp=$!
sleep 0.5
dnsperf -s 127.0.0.1 -p $AZ_NAMED_PORT -d $AZ_TMP/q -l 5 -T 1 -c 1 -q 100 2>&1 | grep "per second"
wait $pp
echo "== by DSO"
perf report -i $AZ_TMP/perf.data --stdio --no-children --sort dso 2>/dev/null | grep -E '^ +[0-9]' | head -8
echo "== by symbol"
perf report -i $AZ_TMP/perf.data --stdio --no-children --sort dso,symbol 2>/dev/null | grep -E '^ +[0-9]' | head -25 | sed 's/  */ /g' | cut -c1-160
echo "== callers into the plugin (children)"
perf report -i $AZ_TMP/perf.data --stdio --children --sort symbol -g none 2>/dev/null | grep -E '^ +[0-9]' | grep -E "dlz_|putrr|rdata_fromtext|isc_lex_gettoken|getnodedata|findext|query_lookup|ns_query_start" | head -15 | sed 's/  */ /g' | cut -c1-160
