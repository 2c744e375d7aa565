#!/usr/bin/env bash
# Issue 20 item 3, end to end: TCP slots on the control socket cannot be
# held for free. A real named with the plugin at its defaults
# (max-tcp-connections 256, max-tcp-connections-per-address 64,
# tcp-idle-timeout 10 s). tcp_slot_holder.py opens 300 connections from
# 127.0.0.1, each sending an unsigned SOA query every 3 s (inside the idle
# timeout, so under the old rule, where any message renewed the timer, they
# would be held for ever). Then:
#   - a TSIG-signed UPDATE over TCP from 127.0.0.2 (nsupdate -v, local
#     127.0.0.2) succeeds, and named serves its value (dig);
#   - one address holds at most max-tcp-connections-per-address: the holder
#     saw 64 connections answered and the rest closed at accept;
#   - each held connection was answered past its first 4 (free) renewals
#     and then closed by the server, well before the holder gives up.
source "$(dirname "$0")/lib.sh"
az_setup

CONNECTIONS=300
PER_ADDRESS=64        # max-tcp-connections-per-address, the default
IDLE=10               # tcp-idle-timeout, the default
FREE_RENEWALS=4       # ControlTransport::kFreeRenewals
INTERVAL=3            # the holder's query interval, inside IDLE
# The longest an unsigned client may hold a slot is (FREE_RENEWALS + 1)
# idle timeouts; the holder gives up 30 s after that.
HOLD=$(((FREE_RENEWALS + 1) * IDLE + 30))

az_plugin_setup example.com
az_start_named "$AZ_PLUGIN_FRAGMENT"
ctl_dig() { dig @127.0.0.1 -p "$AZ_CONTROL_PORT" +time=2 +tries=1 "$@"; }
az_wait_for 20 ctl_dig +norec _acme-challenge.example.com SOA ||
    az_fail "control socket does not answer"

az_log "$CONNECTIONS TCP connections from 127.0.0.1, an unsigned query every ${INTERVAL} s each"
az_start_bg holder python3 "$(dirname "$0")/tcp_slot_holder.py" \
    --port "$AZ_CONTROL_PORT" --source 127.0.0.1 --connections "$CONNECTIONS" \
    --interval "$INTERVAL" --query-name example.com --hold "$HOLD" \
    --ready "$AZ_TMP/holder-ready.json" --summary "$AZ_TMP/holder-summary.json"
HOLDER_PID=$AZ_BG_PID
az_wait_for 40 test -f "$AZ_TMP/holder-ready.json" ||
    az_fail "the holder did not settle its connections within 40 s: $(cat "$AZ_TMP/holder.log")"
az_log "holder settled: $(cat "$AZ_TMP/holder-ready.json")"

# A counter from the holder's JSON (summary or ready file).
field() { python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
ready=$AZ_TMP/holder-ready.json

az_log "a signed UPDATE over TCP from 127.0.0.2 while the holder's connections are open"
kill -0 "$HOLDER_PID" 2>/dev/null || az_fail "the holder ended early: $(cat "$AZ_TMP/holder.log")"
out=$({
    echo "server 127.0.0.1 $AZ_CONTROL_PORT"
    echo "local 127.0.0.2"
    echo "update add _acme-challenge.www.example.com 60 TXT \"from-127-0-0-2\""
    echo "send"
} | nsupdate -v -t 5 -y "hmac-sha256:$AZ_KEY_NAME:$AZ_KEY_SECRET" 2>&1) ||
    az_fail "the signed UPDATE from 127.0.0.2 over TCP failed: $out"
az_assert_eq '"from-127-0-0-2"' "$(az_dig +short _acme-challenge.www.example.com TXT)" \
    "named serves the value the UPDATE from 127.0.0.2 added"
kill -0 "$HOLDER_PID" 2>/dev/null || az_fail "the holder ended early: $(cat "$AZ_TMP/holder.log")"
held=$(field "$ready" held)
az_assert_eq "$PER_ADDRESS" "$held" \
    "connections from 127.0.0.1 answered (max-tcp-connections-per-address)"
az_assert_eq "$((CONNECTIONS - PER_ADDRESS))" "$(field "$ready" refused)" \
    "connections from 127.0.0.1 closed at accept"

az_log "waiting for the holder (at most $HOLD s after it settled)"
az_wait_for $((HOLD + 20)) test -f "$AZ_TMP/holder-summary.json" ||
    az_fail "the holder wrote no summary: $(cat "$AZ_TMP/holder.log")"
summary=$AZ_TMP/holder-summary.json
az_log "holder summary: $(cat "$summary")"
az_assert_eq 0 "$(field "$summary" still_open)" \
    "holder connections still open after $HOLD s of unsigned queries every $INTERVAL s (the idle timer must not be renewed by them)"
az_assert_eq "$PER_ADDRESS" "$(field "$summary" closed)" "held connections the server closed"
min_answers=$(field "$summary" min_answers)
((min_answers > FREE_RENEWALS)) ||
    az_fail "a held connection was closed after $min_answers answers: its first $FREE_RENEWALS unsigned messages renew the idle timer, so it must be answered past them"
az_log "PASS"
