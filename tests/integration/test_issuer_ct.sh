#!/usr/bin/env bash
# Certificate Transparency ([certs] ct, issuer/certs/ct.h) against real named
# with the plugin and real Pebble, which embeds no SCTs:
#   (1) ct = off: the certificate is issued and stored
#   (2) ct = require: a forced renewal fails, naming the missing SCTs and the
#       setting; the stored certificate is untouched, no value stays published
#   (3) ct = warn: the renewal is stored, with the warning in the log
#   (4) status --json shows each certificate's SCT count (0), its logs (none)
#       and why it fails the policy
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pebble.sh"
source "$(dirname "$0")/issuer_lib.sh"
az_setup

ZONE=ct.example.com
az_plugin_setup "$ZONE"
az_start_named "$AZ_PLUGIN_FRAGMENT"
az_start_pebble "$AZ_NAMED_PORT"

CONF=$AZ_TMP/issuer.conf
az_issuer_conf "$CONF" "$ZONE"
set_ct() { sed -i -e '/^ct = /d' -e "s/^\[certs\]\$/[certs]\nct = $1/" "$CONF"; }
serial() { openssl x509 -in "$AZ_CERTS/$ZONE/cert.pem" -noout -serial; }

# (1)
set_ct off
az_issuer "$CONF" issue "$ZONE"
az_assert_eq 0 "$AZ_ISSUER_RC" "issue with ct = off; stderr: $(cat "$AZ_ISSUER_ERR")"
az_verify_cert "$ZONE"
first=$(serial)
az_log "ct = off: issued ($first)"

# (2)
set_ct require
before=$(az_tree_digest "$AZ_CERTS/$ZONE")
az_issuer "$CONF" issue --force "$ZONE"
err=$(cat "$AZ_ISSUER_ERR")
az_assert_eq 1 "$AZ_ISSUER_RC" "forced renewal with ct = require; stderr: $err"
az_assert_contains "$err" "$ZONE: FAILED" "the failure is reported"
az_assert_contains "$err" "certificate transparency: the certificate carries no SCTs, SCTs from at least 2 distinct logs are required" "the reason"
az_assert_contains "$err" "not stored ([certs] ct = require)" "the setting"
az_assert_eq "$before" "$(az_tree_digest "$AZ_CERTS/$ZONE")" "$ZONE's files after the refused certificate"
az_assert_eq "$first" "$(serial)" "the stored serial"
az_assert_no_txt "_acme-challenge.$ZONE"
az_log "ct = require: refused, old certificate kept"

# (3)
set_ct warn
az_issuer "$CONF" issue --force "$ZONE"
err=$(cat "$AZ_ISSUER_ERR")
az_assert_eq 0 "$AZ_ISSUER_RC" "forced renewal with ct = warn; stderr: $err"
az_assert_contains "$err" "certificate transparency: the certificate carries no SCTs" "the warning"
az_assert_contains "$err" "(stored anyway: [certs] ct = warn)" "the warning's outcome"
az_verify_cert "$ZONE"
[[ $(serial) != "$first" ]] || az_fail "ct = warn did not store the new certificate"
az_log "ct = warn: stored with a warning"

# (4)
az_issuer "$CONF" status --json
python3 - "$AZ_ISSUER_OUT" <<'EOF' || az_fail "status --json: $(cat "$AZ_ISSUER_OUT")"
import json, sys
zone = json.load(open(sys.argv[1]))[0]
certs = zone["certificates"]
assert len(certs) == 1, certs
c = certs[0]
assert c["sct_count"] == 0, c
assert c["ct_logs"] == [] and c["scts"] == [], c
assert "carries no SCTs" in c["ct_problem"], c
EOF
az_log "status --json shows the SCT count and logs"
az_log "PASS"
