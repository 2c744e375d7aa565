#!/usr/bin/env bash
# Durability under load, with a real named and real nsupdate clients:
#   - 32 concurrent clients, each sending its UPDATEs one after the other
#     (nsupdate waits for each answer): every one is acknowledged and served,
#     and the rate is printed (group commit batches their fsyncs)
#   - kill -9 while 16 clients are writing: every value whose UPDATE was
#     acknowledged is served after the restart
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
WRITERS=16
az_log "kill -9 while $WRITERS clients write"
writer() {
    local w=$1 i
    for ((i = 0; i < 200; i++)); do
        if printf 'server 127.0.0.1 %s\nupdate add _acme-challenge.w%s.example.com 600 TXT "x%s"\nsend\n' \
            "$AZ_CONTROL_PORT" "$w" "$i" |
            nsupdate -v -t 2 -y "hmac-sha256:$AZ_KEY_NAME:$AZ_KEY_SECRET" >/dev/null 2>&1; then
            echo "x$i" >>"$AZ_TMP/acked-$w"
        else
            return 0 # the server is gone
        fi
    done
}
declare -a wpids=()
for ((w = 0; w < WRITERS; w++)); do
    : >"$AZ_TMP/acked-$w"
    writer "$w" &
    wpids+=($!)
    az_track_pid $!
done
sleep 3
az_kill9_named
for p in "${wpids[@]}"; do
    wait "$p" || true
done
az_start_named "$AZ_PLUGIN_FRAGMENT"
total=0
for ((w = 0; w < WRITERS; w++)); do
    served=$(az_dig +short "_acme-challenge.w$w.example.com" TXT | tr -d '"' | sort)
    while read -r v; do
        [[ -z $v ]] && continue
        grep -qx "$v" <<<"$served" ||
            az_fail "acknowledged value $v at _acme-challenge.w$w.example.com lost by kill -9"
        total=$((total + 1))
    done <"$AZ_TMP/acked-$w"
done
((total > 0)) || az_fail "no UPDATE was acknowledged before kill -9: nothing was tested"
az_log "all $total values acknowledged before kill -9 are served after the restart"
az_log "PASS"
