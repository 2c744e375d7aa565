#!/usr/bin/env bash
# A pass that uses the fallback CA asks everything of that CA (one CA session
# per pass, issuer/ca/ca_session.h). The first CA is down (nothing listens at
# its directory) and [acme] caa-identity names it (first-ca.test); the
# fallback is Pebble behind acme_fault_proxy.py, whose directory lists
# caaIdentities ["fallback-ca.test"] and offers renewalInfo (Pebble 2.4 has
# neither). The zone's apex has CAA 0 issue "fallback-ca.test".
#   (1) run: the checks before ordering match CAA against the fallback's
#       identities: the zone passes them and is issued by the fallback
#   (2) check: the CA a pass now uses is the fallback: CAA ok, exit 0
#   (3) run again: the certificate's renewal window (ARI) is asked of the
#       fallback CA that issued it; status says "ARI window"
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pebble.sh"
source "$(dirname "$0")/issuer_lib.sh"
az_setup

ZONE=fbca.example.com
az_plugin_setup "$ZONE"
az_native_zone "$ZONE" '@ IN CAA 0 issue "fallback-ca.test"'
az_start_named "$AZ_PLUGIN_FRAGMENT"
az_start_pebble "$AZ_NAMED_PORT"
az_start_fault_proxy --ari --ari-default 2592000:2678400 --ari-retry-after 3600 \
    --caa-identity fallback-ca.test
SECOND=$AZ_PROXY_DIR
FIRST="https://127.0.0.1:$(az_free_port)/dir" # nothing listens there

CONF=$AZ_TMP/issuer.conf
az_issuer_conf "$CONF" "$ZONE"
sed -i "s|^directory = .*|directory = $FIRST|; s|^retry-deadline = .*|retry-deadline = 2|" "$CONF"
sed -i "/^\[acme\]/a caa-identity = first-ca.test\nfallback-directory = $SECOND\nfallback-ca-file = $AZ_PEBBLE_TLS_CA\nfallback-after = 0" "$CONF"

# (1)
az_issuer "$CONF" run
err=$(cat "$AZ_ISSUER_ERR")
az_assert_eq 0 "$AZ_ISSUER_RC" "run through the fallback CA; stderr: $(tail -n 30 <<<"$err")"
az_assert_contains "$err" "using the fallback CA $SECOND" "the fallback is used"
az_assert_not_contains "$err" "allows only" "CAA is not matched against the first CA's identity"
az_verify_cert "$ZONE"
az_log "(1) CAA matched against the fallback's identities; issued by the fallback"

# (2)
az_issuer "$CONF" check "$ZONE"
az_assert_eq 0 "$AZ_ISSUER_RC" "check after a fallback pass; stdout: $(cat "$AZ_ISSUER_OUT")"
az_assert_contains "$(grep -E '^ +ok +CAA' "$AZ_ISSUER_OUT")" "CAA" "check: CAA ok"
az_log "(2) check matches CAA against the fallback's identities"

# (3) The new certificate has no renewal information yet: this run asks the
# fallback for it.
az_issuer "$CONF" run
err=$(cat "$AZ_ISSUER_ERR")
az_assert_eq 0 "$AZ_ISSUER_RC" "second run; stderr: $(tail -n 30 <<<"$err")"
grep -q "^GET /renewalInfo/" "$AZ_FAULTS_LOG" ||
    az_fail "the fallback CA was not asked for renewal information: $(tail -n 20 <<<"$err")"
az_assert_contains "$err" "$ZONE: the CA suggests renewing between" "the window is logged"
az_issuer "$CONF" status --json
python3 - "$AZ_ISSUER_OUT" "$ZONE" "$SECOND" <<'PY' || az_fail "status: $(cat "$AZ_ISSUER_OUT")"
import json, sys
z = next(z for z in json.load(open(sys.argv[1])) if z["zone"] == sys.argv[2])
assert z["ca"] == sys.argv[3] and z["ca_fallback"], z
assert z["renew_basis"] == "ARI window", z
assert z["ari_window"]["start"], z
PY
az_log "(3) ARI window from the fallback CA: $(grep -m1 'suggests renewing' <<<"$err")"
az_stop_fault_proxy
az_log "PASS"
