#!/usr/bin/env bash
# acmezone-issuer with a fallback CA: the first CA is down (nothing listens
# at its directory), the second is a real Pebble that requires External
# Account Binding (AZ_PEBBLE_EAB):
#   (1) fallback-after = 1h: the first failure is remembered and the zones
#       fail, saying from when the fallback will be used; nothing is asked
#       of the second CA (no account key made for it)
#   (2) an EAB key file that others may read is refused at load, exit 2,
#       with file:line:key and the chmod that fixes it
#   (3) fallback-after = 0 but a wrong MAC key: the second CA refuses the
#       account; the error says the fallback failed too, exit 1, no certificate
#   (4) the right MAC key: both zones are issued by the second Pebble (the
#       stored chain's issuer is its intermediate), and the log and status say
#       the fallback CA was used
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pebble.sh"
source "$(dirname "$0")/issuer_lib.sh"
az_setup

ZONES=(fb1.example.com fb2.example.com)
az_plugin_setup "${ZONES[@]}"
az_start_named "$AZ_PLUGIN_FRAGMENT"

mac_key() { python3 -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("="))'; }
KEY=$(mac_key)
WRONG=$(mac_key)
AZ_PEBBLE_EAB="kid-1=$KEY" az_start_pebble "$AZ_NAMED_PORT" second
grep -q '"externalAccountBindingRequired": true' "$AZ_TMP/pebble-second/pebble-config.json" ||
    az_fail "the second Pebble was not configured for EAB"
SECOND=$AZ_PEBBLE_DIR
FIRST="https://127.0.0.1:$(az_free_port)/dir" # nothing listens there
STATE=$AZ_TMP/issuer-state

CONF=$AZ_TMP/issuer.conf
EAB_FILE=$AZ_TMP/eab.key
write_conf() { # FALLBACK-AFTER
    az_issuer_conf "$CONF" "${ZONES[@]}"
    sed -i "s|^directory = .*|directory = $FIRST|; s|^retry-deadline = .*|retry-deadline = 2|" "$CONF"
    sed -i "/^\[acme\]/a fallback-directory = $SECOND\nfallback-ca-file = $AZ_PEBBLE_TLS_CA\nfallback-eab-kid = kid-1\nfallback-eab-key-file = $EAB_FILE\nfallback-after = $1" "$CONF"
}
(umask 077 && echo "$KEY" >"$EAB_FILE")

# (1) Not failing for long enough yet.
write_conf 1h
az_issuer "$CONF" run
err=$(cat "$AZ_ISSUER_ERR")
az_assert_eq 1 "$AZ_ISSUER_RC" "run with the first CA down, fallback-after 1h; stderr: $err"
az_assert_contains "$err" "CA $FIRST failing since" "the first CA's failure is reported"
az_assert_contains "$err" "the fallback CA $SECOND is used from" "when the fallback will be used"
[[ ! -e $STATE/account-fallback.key ]] || az_fail "an account key was made for the fallback CA"
az_assert_not_contains "$err" "using the fallback CA" "the fallback was not used"
since=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["failing_since"])' \
    "$STATE/ca-failover.json") || az_fail "no failing_since in ca-failover.json"
az_log "(1) first CA failing since $since, fallback not yet used"

# (2) A MAC key file that others may read.
write_conf 0
chmod 0644 "$EAB_FILE"
az_issuer "$CONF" run
err=$(cat "$AZ_ISSUER_ERR")
az_assert_eq 2 "$AZ_ISSUER_RC" "EAB key file mode 0644; stderr: $err"
az_assert_contains "$err" "acme.fallback-eab-key-file: EAB key file $EAB_FILE has mode 0644" \
    "the key file's mode is refused, naming the key"
az_assert_contains "$err" "chmod 600 $EAB_FILE" "the fix is named"
az_assert_not_contains "$err" "$KEY" "the MAC key is not logged"
az_assert_contains "$err" "$CONF:" "the configuration file and line are named"

# (3) A wrong MAC key: the second CA refuses the account. (`issue`, not
# `run`: the zones failed in (1) and back off; issue ignores the backoff.)
(umask 077 && echo "$WRONG" >"$EAB_FILE.new") && mv "$EAB_FILE.new" "$EAB_FILE"
az_issuer "$CONF" issue "${ZONES[@]}"
err=$(cat "$AZ_ISSUER_ERR")
az_assert_eq 1 "$AZ_ISSUER_RC" "run with a wrong EAB MAC key; stderr: $err"
az_assert_contains "$err" "using the fallback CA $SECOND" "the fallback is tried"
az_assert_contains "$err" "the fallback CA $SECOND failed too: newAccount" "the refusal is reported"
az_assert_not_contains "$err" "$WRONG" "the MAC key is not logged"
for z in "${ZONES[@]}"; do
    [[ ! -e $AZ_CERTS/$z/cert.pem ]] || az_fail "$z: a certificate was stored"
done
az_log "(3) wrong MAC key refused: $(grep -m1 'failed too' <<<"$err")"

# (4) The right MAC key: the second CA issues.
(umask 077 && echo "$KEY" >"$EAB_FILE.new") && mv "$EAB_FILE.new" "$EAB_FILE"
az_issuer "$CONF" issue "${ZONES[@]}"
err=$(cat "$AZ_ISSUER_ERR")
az_assert_eq 0 "$AZ_ISSUER_RC" "run through the fallback CA; stderr: $(tail -n 30 <<<"$err")"
az_assert_contains "$err" "CA $FIRST failing since" "the log says why"
az_assert_contains "$err" "using the fallback CA $SECOND" "the log says the fallback was used"
want_issuer=$(openssl x509 -in "$AZ_PEBBLE_INTERMEDIATE" -noout -subject | sed 's/^subject=//')
for z in "${ZONES[@]}"; do
    az_verify_cert "$z"
    got=$(openssl x509 -in "$AZ_CERTS/$z/cert.pem" -noout -issuer | sed 's/^issuer=//')
    az_assert_eq "$want_issuer" "$got" "$z: issued by the second Pebble's intermediate"
done
[[ -f $STATE/account-fallback.key ]] || az_fail "no account key for the fallback CA"
az_assert_eq 600 "$(stat -c %a "$STATE/account-fallback.key")" "account-fallback.key mode"

az_issuer "$CONF" status --json
for z in "${ZONES[@]}"; do
    got=$(python3 -c '
import json, sys
doc = json.load(open(sys.argv[1]))
for z in doc["zones"] if isinstance(doc, dict) else doc:
    if z["zone"] == sys.argv[2]:
        print(z.get("ca", ""), z.get("ca_fallback", ""))
' "$AZ_ISSUER_OUT" "$z")
    az_assert_eq "$SECOND True" "$got" "$z: status names the fallback CA"
done
az_issuer "$CONF" status
az_assert_contains "$(cat "$AZ_ISSUER_OUT")" "issued by the fallback CA $SECOND" "status (table)"
az_log "PASS"
