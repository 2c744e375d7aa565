#!/usr/bin/env bash
# kill -9 during a standby issuance (issuer/pass/standby.h): the standby CA is
# a Pebble behind acme_fault_proxy.py; for (2) a proxy that answers every
# challenge response slowly, so the issuer sits in validation with the
# standby order's values published (one or two: Pebble 2.4 still reuses about
# 1 authorization in 100 with PEBBLE_AUTHZREUSE=0).
#   (1) run: the live set (first Pebble) and the standby set (through the proxy)
#   (2) standby-renew-before = 0.99 makes the standby set due; kill -9 while
#       its renewal validates: the zone's directory (live set, standby set,
#       links) is byte for byte as before, the values are still published and
#       the zone's state records the standby order in flight
#   (3) the next run removes exactly those values ("interrupted run left
#       standby order"), does not resume that order with the live CA, orders a
#       new standby set and stores it; no value is left, the live set unchanged
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pebble.sh"
source "$(dirname "$0")/issuer_lib.sh"
az_setup

ZONE=sbk.example.com
az_plugin_setup "$ZONE"
az_start_named "$AZ_PLUGIN_FRAGMENT"
# The standby CA first (the proxy fronts the default instance): every order
# has challenges to publish (nearly: see above), and no nonce is refused.
AZ_PEBBLE_ENV="PEBBLE_AUTHZREUSE=0 PEBBLE_WFE_NONCEREJECT=0" az_start_pebble "$AZ_NAMED_PORT"
SB_TLS_CA=$AZ_PEBBLE_TLS_CA
SB_PEBBLE_DIR=$AZ_PEBBLE_DIR
az_start_fault_proxy
SB_DIR=$AZ_PROXY_DIR
az_start_pebble "$AZ_NAMED_PORT" live # AZ_PEBBLE_* name the live CA from here on
LIVE_PEBBLE_DIR=$AZ_PEBBLE_DIR

# restart_proxy ARGS...: a new proxy in front of the standby Pebble, made the
# configuration's standby-directory.
restart_proxy() {
    az_stop_fault_proxy
    AZ_PEBBLE_DIR=$SB_PEBBLE_DIR AZ_PEBBLE_TLS_CA=$SB_TLS_CA az_start_fault_proxy "$@"
    sed -i "s|^standby-directory = .*|standby-directory = $AZ_PROXY_DIR|" "$CONF"
    SB_DIR=$AZ_PROXY_DIR
}

txt_count() { az_dig "_acme-challenge.$1" TXT +noall +answer | awk '$4 == "TXT"' | wc -l; }
state_json() { cat "$AZ_TMP/issuer-state/zones/$1.json"; }

# (1)
CONF=$AZ_TMP/issuer.conf
az_standby_issued "$CONF" "$ZONE" "$SB_DIR" "$SB_TLS_CA"
STANDBY_BEFORE=$(readlink "$AZ_CERTS/$ZONE/standby")
az_log "(1) live set and standby set ($STANDBY_BEFORE)"

# (2)
restart_proxy --fault "POST:/chalZ/:-1:slow" --slow-seconds 60
[[ $AZ_PEBBLE_DIR == "$LIVE_PEBBLE_DIR" ]] || az_fail "the live CA's variables changed"
sed -i "/^\[acme\]/a standby-renew-before = 0.99" "$CONF"
tree_before=$(az_tree_digest "$AZ_CERTS/$ZONE")
"$ACMEZONE_ISSUER" --config "$CONF" run >"$AZ_TMP/kill.out" 2>"$AZ_TMP/kill.err" &
pid=$!
az_track_pid "$pid"
az_wait_for 60 grep -q "POST /chalZ/.* -> slow" "$AZ_FAULTS_LOG" ||
    az_fail "the standby renewal never reached validation: $(cat "$AZ_TMP/kill.err")"
az_assert_contains "$(cat "$AZ_TMP/kill.err")" "$ZONE: standby set due" "the standby set is due"
# Every value is published (one publish) before the first challenge response.
n=$(txt_count "$ZONE")
[[ $n -ge 1 ]] || az_fail "the standby order's values are not served: $(cat "$AZ_TMP/kill.err")"
kill -KILL "$pid"
wait "$pid" 2>/dev/null || true
az_assert_eq "$n" "$(txt_count "$ZONE")" "the killed run's values are still published"
az_assert_eq "$tree_before" "$(az_tree_digest "$AZ_CERTS/$ZONE")" \
    "$ZONE's directory after kill -9 (live and standby sets as they were)"
python3 - "$(state_json "$ZONE")" "$ZONE" "$n" <<'PY' || az_fail "state after kill -9: $(state_json "$ZONE")"
import json, sys
s = json.loads(sys.argv[1])
assert "order" not in s, s
o = s["standby"]["order"]
assert o["url"].startswith("https://") and len(o["values"]) == int(sys.argv[3]), s
assert o["owner"] == "_acme-challenge." + sys.argv[2], s
PY
az_log "(2) kill -9 during the standby renewal: both sets intact, the order recorded"

# (3)
restart_proxy
az_issuer "$CONF" run
err=$(cat "$AZ_ISSUER_ERR")
az_assert_eq 0 "$AZ_ISSUER_RC" "run after kill -9; stderr: $(tail -n 20 <<<"$err")"
az_assert_contains "$err" "$ZONE: an interrupted run left standby order" "the standby order is found"
az_assert_contains "$err" "removed its $n value(s) at _acme-challenge.$ZONE" "its values removed"
az_assert_not_contains "$err" "resuming order" "the standby order is not resumed with the live CA"
az_assert_contains "$err" "$ZONE: standby set from $SB_DIR stored" "a new standby set"
az_assert_no_txt "_acme-challenge.$ZONE"
[[ $(readlink "$AZ_CERTS/$ZONE/standby") != "$STANDBY_BEFORE" ]] || az_fail "the standby set was not renewed"
az_verify_cert "$ZONE"
python3 - "$(state_json "$ZONE")" <<'PY' || az_fail "state after recovery: $(state_json "$ZONE")"
import json, sys
s = json.loads(sys.argv[1])
assert "order" not in s and "resume_order" not in s, s
assert "order" not in s["standby"] and s["standby"]["failures"] == 0, s
PY
az_stop_fault_proxy
az_log "(3) values removed, the standby set renewed, the live set untouched"
az_log "PASS"
