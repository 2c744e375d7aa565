#!/usr/bin/env bash
# Standby sets with [certs] next-key = yes (issuer/pass/standby.h), two real
# Pebbles (the live CA and the standby CA):
#   (1) run: the live set is for a fresh key, the next key is kept, and the
#       standby set is for that next key (so a switch also rolls the key that
#       pins already announce); the next key stays the next key
#   (2) switch, the first Pebble stopped: the live key is now the old next
#       key, and a new next key (another key) is kept
#   (3) the first Pebble back: run orders a new standby set from it, for the
#       new next key
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pebble.sh"
source "$(dirname "$0")/issuer_lib.sh"
az_setup

ZONE=nk.example.com
az_plugin_setup "$ZONE"
az_start_named "$AZ_PLUGIN_FRAGMENT"
az_start_pebble "$AZ_NAMED_PORT" standby
SB_DIR=$AZ_PEBBLE_DIR
SB_TLS_CA=$AZ_PEBBLE_TLS_CA
az_start_pebble "$AZ_NAMED_PORT" # the live CA
FIRST_DIR=$AZ_PEBBLE_DIR
CONF=$AZ_TMP/issuer.conf
az_issuer_conf "$CONF" "$ZONE"
echo "next-key = yes" >>"$CONF"
sed -i "/^\[acme\]/a standby-directory = $SB_DIR\nstandby-ca-file = $SB_TLS_CA\nstandby-rate-limits = none" "$CONF"
D=$AZ_CERTS/$ZONE
NEXT=$D/next/ecdsa-p256.pem
pub_of_key() { openssl pkey -in "$1" -pubout; }
pub_of_cert() { openssl x509 -in "$1" -noout -pubkey; }

# (1)
az_issuer "$CONF" run
az_assert_eq 0 "$AZ_ISSUER_RC" "run; stderr: $(tail -n 20 "$AZ_ISSUER_ERR")"
[[ -f $NEXT ]] || az_fail "no next key kept in $NEXT"
N1=$(pub_of_key "$NEXT")
[[ $N1 != "$(pub_of_cert "$D/cert.pem")" ]] || az_fail "the live set is for the next key"
az_assert_eq "$N1" "$(pub_of_cert "$D/standby/ecdsa-p256/cert.pem")" "the standby set is for the next key"
az_assert_eq "$N1" "$(pub_of_key "$D/standby/ecdsa-p256/privkey.pem")" "the standby key is the next key"
az_assert_eq "$N1" "$(pub_of_key "$NEXT")" "the next key stays the next key"
az_log "(1) standby set for the next key"

# (2)
az_stop_pebble
az_issuer "$CONF" switch "$ZONE"
az_assert_eq 0 "$AZ_ISSUER_RC" "switch; stderr: $(tail -n 20 "$AZ_ISSUER_ERR")"
az_assert_eq "$N1" "$(pub_of_cert "$D/cert.pem")" "after the switch the live key is the old next key"
N2=$(pub_of_key "$NEXT")
[[ -n $N2 && $N2 != "$N1" ]] || az_fail "no new next key after the switch"
az_log "(2) switched: the next key is live, a new next key is kept"

# (3)
az_restart_pebble
az_issuer "$CONF" run
err=$(cat "$AZ_ISSUER_ERR")
az_assert_eq 0 "$AZ_ISSUER_RC" "run after the switch; stderr: $(tail -n 20 <<<"$err")"
az_assert_contains "$err" "$ZONE: standby set from $FIRST_DIR stored" "the new standby from the first CA"
az_assert_eq "$N2" "$(pub_of_cert "$D/standby/ecdsa-p256/cert.pem")" "the new standby set is for the new next key"
az_assert_eq "$N1" "$(pub_of_cert "$D/cert.pem")" "the live set is left alone"
az_assert_eq "$N2" "$(pub_of_key "$NEXT")" "the next key stays the next key"
az_log "(3) new standby set from the first CA for the new next key"
az_log "PASS"
