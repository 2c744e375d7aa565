#!/usr/bin/env bash
# The standby set renewed by its own CA's ARI window (issuer/pass/standby.h):
# the standby CA is a Pebble behind acme_fault_proxy.py --ari (Pebble 2.4 has
# no renewalInfo), every window it answers already open (2 h to 1 min ago);
# the live CA is another Pebble, without renewalInfo. standby-renew-before is
# the default, by which the standby set is not due.
#   (1) run: the live set and the standby set; the standby CA is not asked
#       for a window yet (no standby certificate)
#   (2) run: the standby CA is asked for the standby certificate's window,
#       so the standby set is due by its ARI window and renewed from the
#       standby CA; the live set is byte for byte as before
#   (3) the standby CA's renewalInfo fails (500, through a proxy on the same
#       port): the failure is logged, the pass succeeds, standby-renew-before
#       decides (nothing is due, no order) and status says so
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pebble.sh"
source "$(dirname "$0")/issuer_lib.sh"
az_setup

ZONE=sba.example.com
az_plugin_setup "$ZONE"
az_start_named "$AZ_PLUGIN_FRAGMENT"
# The standby CA first (the proxy fronts the default instance).
az_start_pebble "$AZ_NAMED_PORT"
SB_TLS_CA=$AZ_PEBBLE_TLS_CA
SB_PEBBLE_DIR=$AZ_PEBBLE_DIR
AZ_PROXY_PORT=$(az_free_port)
PAST=(--ari --ari-default=-7200:-60 --ari-retry-after 3600)
az_start_fault_proxy "${PAST[@]}"
SB_DIR=$AZ_PROXY_DIR
az_start_pebble "$AZ_NAMED_PORT" live # AZ_PEBBLE_* name the live CA from here on

# restart_proxy ARGS...: a new proxy in front of the standby Pebble, on the
# same port (the standby-directory and the recorded standby CA stay).
restart_proxy() {
    az_stop_fault_proxy
    AZ_PEBBLE_DIR=$SB_PEBBLE_DIR AZ_PEBBLE_TLS_CA=$SB_TLS_CA az_start_fault_proxy "$@"
    az_assert_eq "$SB_DIR" "$AZ_PROXY_DIR" "the restarted proxy's directory"
}
state_json() { cat "$AZ_TMP/issuer-state/zones/$1.json"; }

# (1)
CONF=$AZ_TMP/issuer.conf
az_standby_issued "$CONF" "$ZONE" "$SB_DIR" "$SB_TLS_CA"
STANDBY_BEFORE=$(readlink "$AZ_CERTS/$ZONE/standby")
LIVE=$(az_live_digest)
az_log "(1) live set and standby set ($STANDBY_BEFORE)"

# (2)
: >"$AZ_FAULTS_LOG"
az_issuer "$CONF" run
err=$(cat "$AZ_ISSUER_ERR")
az_assert_eq 0 "$AZ_ISSUER_RC" "second run; stderr: $(tail -n 20 <<<"$err")"
grep -q "^GET /renewalInfo/.* -> window -7200 -60" "$AZ_FAULTS_LOG" ||
    az_fail "the standby CA was not asked for the window: $(cat "$AZ_FAULTS_LOG"); $err"
az_assert_contains "$err" "$ZONE (standby): the CA suggests renewing between" "the standby window"
az_assert_contains "$err" "$ZONE: standby set due by its ARI window" "due by the window"
az_assert_contains "$err" "$ZONE: standby set from $SB_DIR stored" "a new standby set"
STANDBY_AFTER=$(readlink "$AZ_CERTS/$ZONE/standby")
[[ $STANDBY_AFTER != "$STANDBY_BEFORE" ]] || az_fail "the standby set was not renewed: $err"
AFTER=$(az_live_digest)
[[ $LIVE == "$AFTER" ]] || az_fail "the live set changed: $(diff <(echo "$LIVE") <(echo "$AFTER"))"
az_verify_cert "$ZONE"
az_log "(2) the standby set renewed by its ARI window ($STANDBY_AFTER), the live set untouched"

# (3)
restart_proxy "${PAST[@]}" --rule "GET:/renewalInfo/:-1:500:serverInternal:0"
az_issuer "$CONF" run
err=$(cat "$AZ_ISSUER_ERR")
az_assert_eq 0 "$AZ_ISSUER_RC" "run with renewalInfo failing; stderr: $(tail -n 20 <<<"$err")"
grep -q "^GET /renewalInfo/.* -> 500 serverInternal" "$AZ_FAULTS_LOG" ||
    az_fail "the standby CA was not asked: $(cat "$AZ_FAULTS_LOG"); $err"
az_assert_contains "$err" "$ZONE (standby): renewal information: " "the failure is logged"
az_assert_not_contains "$err" "ordering from $SB_DIR" "renew-before decides: nothing due"
az_assert_eq "$STANDBY_AFTER" "$(readlink "$AZ_CERTS/$ZONE/standby")" "the standby set is kept"
[[ $LIVE == "$(az_live_digest)" ]] || az_fail "the live set changed in (3)"
az_issuer "$CONF" status --json
python3 - "$AZ_ISSUER_OUT" "$(state_json "$ZONE")" "$SB_DIR" <<'PY' ||
import json, sys
sb = json.load(open(sys.argv[1]))[0]["standby"]
assert sb["present"] and sb["renew_basis"] == "renew-before", sb
ari = json.loads(sys.argv[2])["standby"]["ari"]
assert len(ari) == 1 and ari[0]["directory"] == sys.argv[3] and "renew_at" not in ari[0], ari
PY
    az_fail "status and state with renewalInfo failing: $(cat "$AZ_ISSUER_OUT"); $(state_json "$ZONE")"
az_stop_fault_proxy
az_log "(3) renewalInfo failing: logged, standby-renew-before decides"
az_log "PASS"
