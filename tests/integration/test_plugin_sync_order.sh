#!/usr/bin/env bash
# Durability before the answer: named runs with sync_order_shim.so preloaded
# (tests/integration/sync_order/), which records in order the writes and
# fsync/fdatasync calls on every file under the plugin's state-dir and the
# DNS messages read from and sent on its control socket (UDP and TCP). Eight
# nsupdate clients (four over UDP, four over TCP, at once, so that commits
# are grouped) each send their UPDATEs; then check_sync_order.py asserts that
# every acknowledged UPDATE's bytes were written after its request arrived
# and synced before its answer left. An answer sent before the sync, or a
# sync dropped, fails here (the kill -9 test in plugin_durability passes on
# the page cache alone). It knows only the state-dir and the port, not the
# plugin's code.
source "$(dirname "$0")/lib.sh"
az_setup
shim=${ACMEZONE_SYNC_SHIM:-}
[[ -n $shim && -f $shim ]] || az_fail "ACMEZONE_SYNC_SHIM is not set to the built sync_order_shim.so"

az_plugin_setup example.com
AZ_NAMED_ENV="LD_PRELOAD=$shim SYNC_SHIM_LOG=$AZ_TMP/sync-order.events"
AZ_NAMED_ENV+=" SYNC_SHIM_STATE_DIR=$AZ_TMP/plugin-state SYNC_SHIM_CONTROL_PORT=$AZ_CONTROL_PORT"
az_start_named "$AZ_PLUGIN_FRAGMENT"
grep -q " bind [0-9]* $AZ_CONTROL_PORT\$" "$AZ_TMP/sync-order.events" ||
    az_fail "the shim did not see the control socket bound to port $AZ_CONTROL_PORT"

CLIENTS=8
EACH=10
declare -a pids=()
for ((c = 0; c < CLIENTS; c++)); do
    {
        echo "server 127.0.0.1 $AZ_CONTROL_PORT"
        echo "zone example.com"
        for ((i = 0; i < EACH; i++)); do
            echo "update add _acme-challenge.c$c.example.com 600 TXT \"v$i\""
            echo "send"
        done
    } >"$AZ_TMP/client-$c.txt"
    tcp=()
    ((c % 2)) && tcp=(-v)
    nsupdate "${tcp[@]}" -t 10 -y "hmac-sha256:$AZ_KEY_NAME:$AZ_KEY_SECRET" "$AZ_TMP/client-$c.txt" \
        >"$AZ_TMP/client-$c.out" 2>&1 &
    pids+=($!)
    az_track_pid $!
done
for ((c = 0; c < CLIENTS; c++)); do
    wait "${pids[$c]}" || az_fail "client $c: not every UPDATE acknowledged: $(tail -n 3 "$AZ_TMP/client-$c.out")"
done
az_assert_eq "$EACH" "$(az_dig +short _acme-challenge.c0.example.com TXT | grep -c .)" "values served"

out=$(python3 "$(dirname "$0")/sync_order/check_sync_order.py" "$AZ_TMP/sync-order.events" \
    $((CLIENTS * EACH))) || az_fail "durability before the answer: $out"
az_log "$out"
echo "PASS: every acknowledged UPDATE was synced to the state-dir before its answer left"
