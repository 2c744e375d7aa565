#!/usr/bin/env bash
# External Account Binding for the first CA ([acme] eab-kid, eab-key-file),
# as ZeroSSL and Google require: the first CA is a real Pebble that requires
# EAB (AZ_PEBBLE_EAB):
#   (1) without the EAB options the CA refuses the account: run exits 1, no
#       certificate
#   (2) eab-kid without eab-key-file, and a key file that others may read,
#       are refused at load (exit 2) naming file:line:key and the fix
#   (3) with both, the account is made and the zone is issued; the MAC key
#       is never logged
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pebble.sh"
source "$(dirname "$0")/issuer_lib.sh"
az_setup

ZONE=eab.example.com
az_plugin_setup "$ZONE"
az_start_named "$AZ_PLUGIN_FRAGMENT"
KEY=$(python3 -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("="))')
AZ_PEBBLE_EAB="kid-0=$KEY" az_start_pebble "$AZ_NAMED_PORT"
EAB_FILE=$AZ_TMP/eab.key
(umask 077 && echo "$KEY" >"$EAB_FILE")
CONF=$AZ_TMP/issuer.conf
az_issuer_conf "$CONF" "$ZONE"
sed -i "s|^retry-deadline = .*|retry-deadline = 2|" "$CONF"

# (1)
az_issuer "$CONF" issue "$ZONE"
err=$(cat "$AZ_ISSUER_ERR")
az_assert_eq 1 "$AZ_ISSUER_RC" "issue without EAB from a CA that requires it; stderr: $err"
az_assert_contains "$err" "externalAccountRequired" "the CA's refusal is reported"
[[ ! -e $AZ_CERTS/$ZONE/cert.pem ]] || az_fail "a certificate was stored without EAB"
az_log "(1) refused without EAB: $(grep -m1 externalAccountRequired <<<"$err")"

# (2)
sed -i "/^\[acme\]/a eab-kid = kid-0" "$CONF"
az_issuer "$CONF" issue "$ZONE"
err=$(cat "$AZ_ISSUER_ERR")
az_assert_eq 2 "$AZ_ISSUER_RC" "eab-kid alone; stderr: $err"
az_assert_contains "$err" "acme.eab-kid: External Account Binding needs both eab-kid and eab-key-file" \
    "both or neither"
sed -i "/^eab-kid = /a eab-key-file = $EAB_FILE" "$CONF"
chmod 0644 "$EAB_FILE"
az_issuer "$CONF" issue "$ZONE"
err=$(cat "$AZ_ISSUER_ERR")
az_assert_eq 2 "$AZ_ISSUER_RC" "EAB key file mode 0644; stderr: $err"
az_assert_contains "$err" "$CONF:" "the configuration file is named"
az_assert_contains "$err" "acme.eab-key-file: EAB key file $EAB_FILE has mode 0644" "the mode is refused"
az_assert_contains "$err" "chmod 600 $EAB_FILE" "the fix is named"
az_assert_not_contains "$err" "$KEY" "the MAC key is not logged"
chmod 0600 "$EAB_FILE"
az_log "(2) eab-kid alone and a readable key file refused at load"

# (3)
az_issuer "$CONF" issue "$ZONE"
err=$(cat "$AZ_ISSUER_ERR")
az_assert_eq 0 "$AZ_ISSUER_RC" "issue with EAB; stderr: $(tail -n 30 <<<"$err")"
az_verify_cert "$ZONE"
az_assert_not_contains "$err" "$KEY" "the MAC key is not logged"
az_log "(3) the first CA's account bound with EAB; $ZONE issued"
az_log "PASS"
