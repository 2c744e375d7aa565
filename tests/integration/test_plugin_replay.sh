#!/usr/bin/env bash
# Issue 20 item 4, end to end: a captured UPDATE cannot be replayed after a
# restart. A real named with the plugin; nsupdate sends one signed UPDATE
# (UDP) through dns_capture.py's relay, which keeps its octets; it is
# applied and served. The value is deleted, named is stopped and started
# again on the same state directory, and the captured octets are sent
# again, well inside the TSIG fudge (300 s): the answer is NOTAUTH with TSIG
# error BADTIME (the message was signed before the control socket started),
# named's log says why, and the value does not come back.
source "$(dirname "$0")/lib.sh"
az_setup

CAPTURE=$(dirname "$0")/dns_capture.py
NAME=_acme-challenge.www.example.com
az_plugin_setup example.com
az_start_named "$AZ_PLUGIN_FRAGMENT"
ctl_dig() { dig @127.0.0.1 -p "$AZ_CONTROL_PORT" +time=2 +tries=1 "$@"; }
az_wait_for 20 ctl_dig +norec _acme-challenge.example.com SOA ||
    az_fail "control socket does not answer"
served() { az_dig +short "$NAME" TXT; }

az_log "one signed UPDATE through the capturing relay"
az_start_bg relay python3 "$CAPTURE" relay --target-port "$AZ_CONTROL_PORT" \
    --port-file "$AZ_TMP/relay.port" --capture "$AZ_TMP/update.wire" --seconds 120
az_wait_for 10 test -s "$AZ_TMP/relay.port" || az_fail "the relay did not start: $(cat "$AZ_TMP/relay.log")"
relay_port=$(cat "$AZ_TMP/relay.port")
out=$({
    echo "server 127.0.0.1 $relay_port"
    echo "zone example.com"
    echo "update add $NAME 60 TXT \"captured\""
    echo "send"
} | nsupdate -t 5 -y "hmac-sha256:$AZ_KEY_NAME:$AZ_KEY_SECRET" 2>&1) ||
    az_fail "the UPDATE through the relay failed: $out"
az_wait_for 10 test -s "$AZ_TMP/update.wire.time" || az_fail "the relay captured no UPDATE"
signed=$(cat "$AZ_TMP/update.wire.time")
az_log "captured $(stat -c %s "$AZ_TMP/update.wire") octets, time signed $signed"
az_assert_eq '"captured"' "$(served)" "the captured UPDATE was applied and is served"

az_log "the value is deleted"
out=$(az_nsupdate "update delete $NAME TXT" 2>&1) || az_fail "the delete failed: $out"
az_assert_eq "" "$(served)" "the deleted value is not served"

replay() { python3 "$CAPTURE" replay --port "$AZ_CONTROL_PORT" --wire "$AZ_TMP/update.wire"; }
az_log "replay to the same named (a retransmission to it: at most its cached answer, nothing applied again): $(replay)"
az_assert_eq "" "$(served)" "a replay to the named that saw the UPDATE does not bring the value back"

az_log "named is stopped and started again (same state directory and ports)"
az_stop_named
# time signed and the start time are whole seconds: start in a later second
# than the signing, as any real restart does (it takes longer than that).
# (The date is read on every try, in the child shell.)
az_wait_for 5 bash -c "(( \$(date +%s) > $signed ))" || az_fail "the clock does not advance past $signed"
az_start_named "$AZ_PLUGIN_FRAGMENT"
az_wait_for 20 ctl_dig +norec _acme-challenge.example.com SOA ||
    az_fail "control socket does not answer after the restart"
az_assert_eq "" "$(served)" "the deletion survived the restart"
age=$(($(date +%s) - signed))
((age < 300)) || az_fail "the replay comes $age s after the signing, outside the fudge (300 s): the test proves nothing"

az_log "replay of the captured UPDATE, $age s after it was signed"
got=$(replay) || az_fail "no answer to the replay: $got"
az_log "answer: $got"
az_assert_eq "rcode=NOTAUTH tsig_error=BADTIME" "$got" "the replayed UPDATE after the restart"
az_assert_eq "" "$(served)" "the replayed UPDATE did not bring the deleted value back"
az_wait_for 10 grep -q "NOTAUTH: key acme-key.*time signed $signed is before the control socket started" "$AZ_NAMED_LOG" ||
    az_fail "named's log does not say the replay was signed before the control socket started"

az_log "a fresh UPDATE with the same key is accepted"
out=$(az_nsupdate "update add $NAME 60 TXT \"fresh\"" 2>&1) || az_fail "a fresh UPDATE failed: $out"
az_assert_eq '"fresh"' "$(served)" "a fresh UPDATE after the restart is applied"
az_log "PASS"
