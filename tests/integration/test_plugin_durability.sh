#!/usr/bin/env bash
# Durability under load, with a real named and real nsupdate clients:
#   - 32 concurrent clients, each sending its UPDATEs one after the other
#     (nsupdate waits for each answer): every one is acknowledged and served,
#     and the rate is printed (group commit batches their fsyncs)
#   - kill -9 while 16 clients are writing (once UPDATEs are acknowledged,
#     not after a fixed time): every value whose UPDATE was acknowledged is
#     served after the restart
source "$(dirname "$0")/lib.sh"
az_setup

az_plugin_setup example.com
az_start_named "$AZ_PLUGIN_FRAGMENT"

txt_count() { az_dig +short "$1" TXT | grep -c . || true; }

# ---- 32 clients, 40 UPDATEs each ------------------------------------------
CLIENTS=32
EACH=40
az_log "$CLIENTS clients x $EACH UPDATEs"
declare -a pids=()
start=$(date +%s.%N)
for ((c = 0; c < CLIENTS; c++)); do
    {
        echo "server 127.0.0.1 $AZ_CONTROL_PORT"
        for ((i = 0; i < EACH; i++)); do
            echo "update add _acme-challenge.c$c.example.com 600 TXT \"v$i\""
            echo "send"
        done
    } >"$AZ_TMP/load-$c.txt"
    nsupdate -v -t 10 -y "hmac-sha256:$AZ_KEY_NAME:$AZ_KEY_SECRET" "$AZ_TMP/load-$c.txt" \
        >"$AZ_TMP/load-$c.out" 2>&1 &
    pids+=($!)
    az_track_pid $!
done
failed=0
for ((c = 0; c < CLIENTS; c++)); do
    wait "${pids[$c]}" || {
        failed=$((failed + 1))
        az_log "client $c failed: $(tail -n 3 "$AZ_TMP/load-$c.out")"
    }
done
end=$(date +%s.%N)
az_assert_eq 0 "$failed" "clients whose UPDATEs were not all acknowledged"
rate=$(awk -v n=$((CLIENTS * EACH)) -v s="$start" -v e="$end" 'BEGIN { printf "%d", n / (e - s) }')
az_log "$((CLIENTS * EACH)) acknowledged UPDATEs at about $rate/s (nsupdate process start-up included)"
for ((c = 0; c < CLIENTS; c++)); do
    az_assert_eq "$EACH" "$(txt_count _acme-challenge.c$c.example.com)" "values of client $c"
done

# ---- kill -9 in the middle of writing ---------------------------------------
# The writers write until named is gone (an UPDATE fails), bounded by MAX
# UPDATEs each and a deadline; named is killed once WRITERS x 10 UPDATEs were
# acknowledged, whatever the machine's speed, and every writer must still be
# writing then. Values go PER_NAME to a name (w<writer>-<group>): max-values-per-name
# is 64, and a writer that hit it would stop before the kill.
WRITERS=16
MAX=2000
WRITE_SECONDS=240
PER_NAME=20
az_log "kill -9 while $WRITERS clients write"
writer() {
    local w=$1 i g deadline=$((SECONDS + WRITE_SECONDS))
    for ((i = 0; i < MAX && SECONDS < deadline; i++)); do
        g=w$w-$((i / PER_NAME))
        if printf 'server 127.0.0.1 %s\nupdate add _acme-challenge.%s.example.com 600 TXT "x%s"\nsend\n' \
            "$AZ_CONTROL_PORT" "$g" "$i" |
            nsupdate -v -t 5 -y "hmac-sha256:$AZ_KEY_NAME:$AZ_KEY_SECRET" >/dev/null 2>&1; then
            echo "x$i" >>"$AZ_TMP/acked-$g"
        else
            echo "UPDATE $i to _acme-challenge.$g.example.com failed" >"$AZ_TMP/stopped-w$w"
            return 0 # the server is gone (or the test fails below)
        fi
    done
    echo "stopped by its bound ($MAX UPDATEs or $WRITE_SECONDS s)" >"$AZ_TMP/stopped-w$w"
}
acked_at_least() { (($(cat "$AZ_TMP"/acked-w* 2>/dev/null | wc -l) >= $1)); }
declare -a wpids=()
for ((w = 0; w < WRITERS; w++)); do
    writer "$w" &
    wpids+=($!)
    az_track_pid $!
done
az_wait_for 60 acked_at_least $((WRITERS * 10)) ||
    az_fail "fewer than $((WRITERS * 10)) UPDATEs acknowledged within 60 s"
for ((w = 0; w < WRITERS; w++)); do
    [[ -e $AZ_TMP/stopped-w$w ]] && az_fail "writer $w stopped before kill -9: $(cat "$AZ_TMP/stopped-w$w")"
done
az_kill9_named
for p in "${wpids[@]}"; do
    wait "$p" || true
done
az_start_named "$AZ_PLUGIN_FRAGMENT"
total=0
for f in "$AZ_TMP"/acked-w*; do
    g=${f##*/acked-}
    served=$(az_dig +short "_acme-challenge.$g.example.com" TXT | tr -d '"' | sort)
    while read -r v; do
        [[ -z $v ]] && continue
        grep -qx "$v" <<<"$served" ||
            az_fail "acknowledged value $v at _acme-challenge.$g.example.com lost by kill -9"
        total=$((total + 1))
    done <"$f"
done
((total > 0)) || az_fail "no UPDATE was acknowledged before kill -9: nothing was tested"
az_log "all $total values acknowledged before kill -9 are served after the restart"
az_log "PASS"
