#!/usr/bin/env bash
# Keys and chains end to end: real named with the plugin, real Pebble
# offering an alternate chain (PEBBLE_ALTERNATE_ROOTS=1).
#   (1) key-type = ecdsa-p256 rsa-2048: both certificates issued in one run,
#       each verifies, holds its key type, and both sit in the one version
#       directory `current` points to
#   (2) preferred-chain = the CN of Pebble's second root: both stored chains
#       lead to that root (openssl verify against /roots/1), not /roots/0;
#       a CN no chain has keeps the default chain and says so
#   (3) status --pins (table and --json) prints, per key type, the pins
#       openssl computes from the stored certificate and the next key;
#       the next issuance uses the announced next key
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pebble.sh"
source "$(dirname "$0")/issuer_lib.sh"
az_setup

ZONE=hooks.example.org
OTHER=plain.example.org
az_plugin_setup "$ZONE" "$OTHER"
az_start_named "$AZ_PLUGIN_FRAGMENT"
AZ_PEBBLE_ENV="PEBBLE_ALTERNATE_ROOTS=1 PEBBLE_CHAIN_LENGTH=2"
az_start_pebble "$AZ_NAMED_PORT"

ROOT1=$AZ_TMP/pebble/root1.pem
az_pebble_curl /roots/1 -o "$ROOT1" || az_fail "pebble: no alternate root at /roots/1"
cn_of() { openssl x509 -in "$1" -noout -subject -nameopt multiline | sed -n 's/^ *commonName *= //p'; }
ROOT0_CN=$(cn_of "$AZ_PEBBLE_ROOT")
ROOT1_CN=$(cn_of "$ROOT1")
[[ -n $ROOT1_CN && $ROOT1_CN != "$ROOT0_CN" ]] ||
    az_fail "pebble's roots are not distinct: [$ROOT0_CN] [$ROOT1_CN]"
az_log "roots: [$ROOT0_CN] (default) and [$ROOT1_CN] (alternate)"

CONF=$AZ_TMP/issuer.conf
az_issuer_conf "$CONF" "$ZONE"
cat >>"$CONF" <<EOF
key-type = ecdsa-p256 rsa-2048
next-key = yes
preferred-chain = $ROOT1_CN
EOF

az_log "run: $ZONE with two key types"
az_issuer "$CONF" run
[[ $AZ_ISSUER_RC -eq 0 ]] || az_fail "run exited $AZ_ISSUER_RC: $(tail -n 40 "$AZ_ISSUER_ERR")"
D=$AZ_CERTS/$ZONE

# (1) both certificates, each of its type, in the one current version.
CURRENT=$(readlink -f "$D/current")
for t in ecdsa-p256 rsa-2048; do
    f=$D/$t
    [[ -f $f/cert.pem && -f $f/chain.pem && -f $f/privkey.pem && -f $f/fullchain.pem ]] ||
        az_fail "$t: certificate files missing in $f"
    az_assert_eq "$CURRENT/$t" "$(readlink -f "$f")" "$t: in the current version"
    out=$(openssl verify -CAfile "$ROOT1" -untrusted "$f/chain.pem" "$f/cert.pem" 2>&1) ||
        az_fail "$t: openssl verify against the alternate root failed: $out"
    if openssl verify -CAfile "$AZ_PEBBLE_ROOT" -untrusted "$f/chain.pem" "$f/cert.pem" \
        >/dev/null 2>&1; then
        az_fail "$t: the stored chain verifies against the default root: not the preferred chain"
    fi
    az_assert_eq "$(openssl pkey -in "$f/privkey.pem" -pubout)" \
        "$(openssl x509 -in "$f/cert.pem" -noout -pubkey)" "$t: private key matches certificate"
    az_assert_eq 600 "$(stat -L -c %a "$f/privkey.pem")" "$t: privkey.pem mode"
    sans=$(openssl x509 -in "$f/cert.pem" -noout -ext subjectAltName | tail -n +2 |
        tr ',' '\n' | sed 's/^ *//' | grep -v '^$' | sort | tr '\n' ' ')
    az_assert_eq "$(printf 'DNS:%s\n' "*.$ZONE" "$ZONE" | sort | tr '\n' ' ')" "$sans" \
        "$t: subjectAltName"
done
text=$(openssl x509 -in "$D/ecdsa-p256/cert.pem" -noout -text)
az_assert_contains "$text" "NIST CURVE: P-256" "ecdsa-p256 certificate's key"
text=$(openssl x509 -in "$D/rsa-2048/cert.pem" -noout -text)
az_assert_contains "$text" "Public-Key: (2048 bit)" "rsa-2048 certificate's key"
az_assert_contains "$text" "rsaEncryption" "rsa-2048 certificate's key"
az_assert_eq "$(cat "$D/ecdsa-p256/cert.pem")" "$(cat "$D/cert.pem")" \
    "the top-level cert.pem is the first key type's"
az_assert_contains "$(cat "$AZ_ISSUER_ERR")" "using the alternate chain" "log of the chain choice"
az_log "two key types in $(basename "$CURRENT"), both on the alternate chain"

# (3) pins: what openssl computes from the stored files.
pin_of_key() { openssl pkey -in "$1" -pubout -outform DER | openssl dgst -sha256 -binary | base64; }
hex_of_key() {
    openssl pkey -in "$1" -pubout -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1
}
az_issuer "$CONF" status --pins --json
az_assert_eq 0 "$AZ_ISSUER_RC" "status --pins exit code"
for t in ecdsa-p256 rsa-2048; do
    [[ -f $D/next/$t.pem ]] || az_fail "no next $t key in $D/next"
    az_assert_eq 600 "$(stat -c %a "$D/next/$t.pem")" "next $t key mode"
    python3 - "$AZ_ISSUER_OUT" "$ZONE" "$t" "$(pin_of_key "$D/$t/privkey.pem")" \
        "$(hex_of_key "$D/$t/privkey.pem")" "$(pin_of_key "$D/next/$t.pem")" \
        "$(hex_of_key "$D/next/$t.pem")" <<'EOF' || az_fail "status --pins --json: $(cat "$AZ_ISSUER_OUT")"
import json, sys
rows = json.load(open(sys.argv[1]))
zone, t, cur, cur_hex, nxt, nxt_hex = sys.argv[2:]
row = [r for r in rows if r["zone"] == zone and r["key_type"] == t]
assert len(row) == 1, rows
r = row[0]
assert r["current"] == {"sha256_base64": cur, "sha256_hex": cur_hex}, (r, cur, cur_hex)
assert r["next"] == {"sha256_base64": nxt, "sha256_hex": nxt_hex}, (r, nxt, nxt_hex)
assert cur != nxt, r
EOF
done
az_issuer "$CONF" status --pins
az_assert_contains "$(cat "$AZ_ISSUER_OUT")" "$(pin_of_key "$D/next/rsa-2048.pem")" \
    "status --pins table shows the next rsa-2048 pin"
az_assert_contains "$(cat "$AZ_ISSUER_OUT")" "$(hex_of_key "$D/rsa-2048/privkey.pem")" \
    "status --pins table shows the current rsa-2048 TLSA hex"
az_log "status --pins matches openssl"

# (3) the next issuance certifies the announced next keys.
NEXT_EC=$(pin_of_key "$D/next/ecdsa-p256.pem")
NEXT_RSA=$(pin_of_key "$D/next/rsa-2048.pem")
az_issuer "$CONF" issue "$ZONE" --force
[[ $AZ_ISSUER_RC -eq 0 ]] || az_fail "issue --force exited $AZ_ISSUER_RC: $(tail -n 40 "$AZ_ISSUER_ERR")"
az_assert_eq "$NEXT_EC" "$(pin_of_key "$D/ecdsa-p256/privkey.pem")" "ecdsa-p256: the next key is used"
az_assert_eq "$NEXT_RSA" "$(pin_of_key "$D/rsa-2048/privkey.pem")" "rsa-2048: the next key is used"
[[ $(pin_of_key "$D/next/ecdsa-p256.pem") != "$NEXT_EC" ]] || az_fail "no new next ecdsa-p256 key"
az_log "the announced next keys were used; new next keys made"

# (2) a preferred CN that no chain has: the default chain, and a log line.
CONF2=$AZ_TMP/issuer-plain.conf
az_issuer_conf "$CONF2" "$OTHER"
printf '%s\n' "preferred-chain = No Such Root" >>"$CONF2"
az_issuer "$CONF2" run
[[ $AZ_ISSUER_RC -eq 0 ]] || az_fail "run ($OTHER) exited $AZ_ISSUER_RC: $(tail -n 40 "$AZ_ISSUER_ERR")"
az_verify_cert "$OTHER"  # against /roots/0: the default chain
az_assert_contains "$(cat "$AZ_ISSUER_ERR")" "using the default chain" "no preferred chain: logged"
az_log "no matching chain: the default one, logged"

az_log "PASS"
