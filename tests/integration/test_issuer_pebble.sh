#!/usr/bin/env bash
# acmezone-issuer end to end: real named 9.18 with the plugin, real Pebble.
#   (1) 20 zones issued in one `run`: every certificate verifies with openssl
#       against Pebble's root (chain.pem untrusted), names exactly {Z, *.Z},
#       privkey.pem matches and is 0600
#   (2) a zone whose _acme-challenge is a CNAME (in a native zone of the same
#       named) into the plugin's challenge-zone gets its certificate too
#   (3) afterwards no challenge TXT value is left, at any of those names
#   (6) status --json lists every zone valid with its names and not-after
#   and the zones share a few reused HTTPS connections (at most one per
#   request in flight)
#   and a second `run` issues nothing (nothing is due): no new version stored.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pebble.sh"
source "$(dirname "$0")/issuer_lib.sh"
az_setup

ZONES=()
for i in $(seq -w 1 20); do
    ZONES+=("z$i.example.org")
done
DELEGATED=delegated.example.com
CHALLENGE_ZONE=acme.example.net
TARGET=delegated-example-com.$CHALLENGE_ZONE

AZ_PLUGIN_EXTRA="challenge-zone = $CHALLENGE_ZONE"
AZ_PLUGIN_CONTROL_EXTRA="grant = acme-key zonesub $CHALLENGE_ZONE"
az_plugin_setup "${ZONES[@]}"

# The delegated zone is native; its _acme-challenge points into the challenge zone.
cat >"$AZ_TMP/$DELEGATED.zone" <<EOF
\$TTL 60
@ IN SOA ns1.$DELEGATED. hostmaster.$DELEGATED. 1 3600 600 86400 60
@ IN NS ns1.$DELEGATED.
ns1 IN A 127.0.0.1
_acme-challenge IN CNAME $TARGET.
EOF
cat >>"$AZ_PLUGIN_FRAGMENT" <<EOF
zone "$DELEGATED" { type primary; file "$AZ_TMP/$DELEGATED.zone"; };
EOF
az_start_named "$AZ_PLUGIN_FRAGMENT"
# Without authorization reuse: once (CI, 2026-11-25), with 21 zones in flight
# and reuse at Pebble's default 50 %, Pebble 2.4 stopped answering every
# request (challenge POSTs, then newOrder) for good. Reuse's lookup over all
# authorizations under Pebble's store lock is the suspect, not confirmed.
# Reuse stays on in the demo and the other tests.
PEBBLE_AUTHZREUSE=0 az_start_pebble "$AZ_NAMED_PORT"

# named follows the CNAME into the plugin's zone (what Pebble relies on): the
# answer has the CNAME, the authority the challenge zone's SOA (the target has
# no value yet).
out=$(az_dig "_acme-challenge.$DELEGATED" TXT)
grep -Eq "IN[[:space:]]+CNAME[[:space:]]+$TARGET\.\$" <<<"$out" ||
    az_fail "no CNAME to $TARGET at _acme-challenge.$DELEGATED: $out"
grep -Eq "^$CHALLENGE_ZONE\.[[:space:]].*IN[[:space:]]+SOA" <<<"$out" ||
    az_fail "named did not follow the CNAME into the plugin's $CHALLENGE_ZONE: $out"

ALL=("${ZONES[@]}" "$DELEGATED")
CONF=$AZ_TMP/issuer.conf
az_issuer_conf "$CONF" "${ALL[@]}"

az_log "run: ${#ALL[@]} zones"
start=$SECONDS
az_issuer "$CONF" run
[[ $AZ_ISSUER_RC -eq 0 ]] || az_fail "run exited $AZ_ISSUER_RC: $(tail -n 40 "$AZ_ISSUER_ERR")"
az_log "run took $((SECONDS - start)) s"

# One pool of HTTPS connections for all zones: at most one per request in
# flight (parallel = 8 zones, each up to 2 concurrent validations).
line=$(grep -E "ACME: [0-9]+ HTTPS request\(s\) over [0-9]+ connection\(s\)" "$AZ_ISSUER_ERR") ||
    az_fail "no connection summary in: $(tail -n 5 "$AZ_ISSUER_ERR")"
requests=$(sed -E 's/.*ACME: ([0-9]+) HTTPS.*/\1/' <<<"$line")
connections=$(sed -E 's/.* over ([0-9]+) connection.*/\1/' <<<"$line")
az_log "$requests HTTPS requests over $connections connections"
((connections >= 1 && connections <= 16)) || az_fail "connections not reused: $line"
((requests >= 10 * connections)) || az_fail "too few requests per connection: $line"

# (1), (2)
for z in "${ALL[@]}"; do
    az_verify_cert "$z"
    az_assert_contains "$(cat "$AZ_ISSUER_ERR")" "$z: issued" "progress line for $z"
done
az_log "all ${#ALL[@]} certificates verify"

# (2) the values went to the CNAME target (the plugin logs each accepted UPDATE
# only at debug level, so check the issuer's own progress line).
az_assert_contains "$(cat "$AZ_ISSUER_ERR")" "at $TARGET" "values published at the CNAME target"

# (3)
for z in "${ZONES[@]}"; do
    az_assert_no_txt "_acme-challenge.$z"
done
az_assert_no_txt "$TARGET"
az_assert_no_txt "_acme-challenge.$DELEGATED"
az_log "no challenge TXT left"

# (6)
az_issuer "$CONF" status --json
az_assert_eq 0 "$AZ_ISSUER_RC" "status exit code with every zone valid"
python3 - "$AZ_ISSUER_OUT" "${ALL[@]}" <<'EOF' || az_fail "status --json: $(cat "$AZ_ISSUER_OUT")"
import json, sys
rows = json.load(open(sys.argv[1]))
zones = sys.argv[2:]
assert [r["zone"] for r in rows] == zones, [r["zone"] for r in rows]
for r in rows:
    z = r["zone"]
    assert r["state"] == "valid", r
    assert r["names"] == sorted([z, "*." + z]), r
    assert r["days_left"] > 1, r
    assert r["not_after"].endswith("Z"), r
    assert r["last_result"] == "ok", r
EOF
az_issuer "$CONF" status
az_assert_contains "$(cat "$AZ_ISSUER_OUT")" "z07.example.org" "status table"
az_log "status --json shows every zone valid"

# Nothing is due: a second run stores no new version.
az_issuer "$CONF" run
az_assert_eq 0 "$AZ_ISSUER_RC" "second run exit code"
for z in "${ALL[@]}"; do
    az_assert_eq ".v-1" "$(readlink "$AZ_CERTS/$z/current")" "$z: no new version on a second run"
done
az_assert_contains "$(cat "$AZ_ISSUER_ERR")" "not due" "second run says why nothing was issued"
az_log "PASS"
