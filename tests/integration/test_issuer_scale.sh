#!/usr/bin/env bash
# acmezone-issuer at scale (issue 18): 200 zones in one `run`, real named
# (the plugin claiming all 200, BIND's default worker threads) and real
# Pebble (its default nonce rejection; no reused authorizations, so that
# every zone publishes and validates both of its dns-01 challenges).
#   (1) the run exits 0 and says no zone failed;
#   (2) every one of the 200 zones has its certificate: cert.pem for exactly
#       {Z, *.Z}, issued by Pebble's intermediate, privkey.pem 0600 and
#       matching (the first, a middle and the last zone also verified in full
#       with az_verify_cert);
#   (3) status --json lists all 200 valid, and no state file records an
#       order in flight;
#   (4) no challenge value is left: named's answers for a sample of names
#       (after a positive control: a value published by hand is served);
#   (5) a second `run` has nothing due and does not ask the CA.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pebble.sh"
source "$(dirname "$0")/issuer_lib.sh"
az_setup

N=${AZ_SCALE_ZONES:-200}
ZONES=()
for ((i = 1; i <= N; i++)); do ZONES+=("s$i.scale.test"); done
az_plugin_setup "${ZONES[@]}"
AZ_NAMED_WORKERS=default az_start_named "$AZ_PLUGIN_FRAGMENT"
PEBBLE_AUTHZREUSE=0 az_start_pebble "$AZ_NAMED_PORT"

CONF=$AZ_TMP/issuer.conf
{
    echo "[acme]"
    echo "directory = $AZ_PEBBLE_DIR"
    echo "ca-file = $AZ_PEBBLE_TLS_CA"
    echo "contact = mailto:hostmaster@scale.test"
    echo "state-dir = $AZ_TMP/issuer-state"
    echo "rate-limits = none"
    echo "[zones]"
    echo "zones-file = $AZ_TMP/zones"
    echo "[publish]"
    echo "control = 127.0.0.1:$AZ_CONTROL_PORT"
    echo "key = $AZ_KEY_NAME"
    echo "keys = $AZ_KEY_FILE"
    echo "[dns]"
    echo "resolver = 127.0.0.1:$AZ_NAMED_PORT"
    echo "check-server = 127.0.0.1:$AZ_NAMED_PORT"
    echo "[certs]"
    echo "dir = $AZ_TMP/certs"
    echo "parallel = 16"
} >"$CONF"
printf '%s\n' "${ZONES[@]}" >"$AZ_TMP/zones"
AZ_CERTS=$AZ_TMP/certs

start=$SECONDS
az_issuer "$CONF" run
az_log "run of $N zones: exit $AZ_ISSUER_RC in $((SECONDS - start)) s"
grep -E 'ERROR' "$AZ_ISSUER_ERR" | head -n 20 >&2 || true
az_assert_eq 0 "$AZ_ISSUER_RC" "run of $N zones: exit status"
az_assert_not_contains "$(cat "$AZ_ISSUER_ERR")" "zone(s) failed" "run of $N zones"

# (2) every zone's certificate: names, issuer, key, mode (one openssl per zone)
missing=()
inter_subject=$(openssl x509 -in "$AZ_PEBBLE_INTERMEDIATE" -noout -subject | sed 's/^subject=//')
for z in "${ZONES[@]}"; do
    d=$AZ_CERTS/$z
    if [[ ! -f $d/cert.pem ]]; then
        missing+=("$z")
        continue
    fi
    out=$(openssl x509 -in "$d/cert.pem" -noout -issuer -ext subjectAltName)
    sans=$(tail -n +3 <<<"$out" | tr ',' '\n' | sed 's/^ *//' | grep -v '^$' | sort | tr '\n' ' ')
    az_assert_eq "DNS:*.$z DNS:$z " "$sans" "$z: subjectAltName"
    az_assert_eq "issuer=$inter_subject" "$(head -n 1 <<<"$out")" "$z: issued by Pebble's intermediate"
    az_assert_eq 600 "$(stat -L -c %a "$d/privkey.pem")" "$z: privkey.pem mode"
done
((${#missing[@]} == 0)) ||
    az_fail "${#missing[@]} of $N zones have no certificate after one run: ${missing[*]:0:10}"
for z in "${ZONES[0]}" "${ZONES[$((N / 2))]}" "${ZONES[$((N - 1))]}"; do
    az_verify_cert "$z"
done

# (3) status: every zone valid; nothing in flight
az_issuer "$CONF" status --json
az_assert_eq 0 "$AZ_ISSUER_RC" "status after the run: every zone valid"
valid=$(grep -Ec '"state" *: *"valid"' "$AZ_ISSUER_OUT")
az_assert_eq "$N" "$valid" "status --json: zones valid"
if grep -l '"order"' "$AZ_TMP/issuer-state/zones/"*.json >/dev/null 2>&1; then
    az_fail "an order is still recorded in flight: $(grep -l '"order"' "$AZ_TMP/issuer-state/zones/"*.json | head -n 3)"
fi

# (4) no value left: named's answer for a sample (positive control first: a
# value published here is seen)
az_nsupdate "update add _acme-challenge.${ZONES[0]} 60 TXT control-value" ||
    az_fail "positive control: nsupdate to the control socket failed"
az_dig "_acme-challenge.${ZONES[0]}" TXT +short | grep -q control-value ||
    az_fail "positive control: a published value is not served"
az_nsupdate "update delete _acme-challenge.${ZONES[0]} TXT \"control-value\"" ||
    az_fail "positive control: nsupdate delete failed"
for z in "${ZONES[0]}" "${ZONES[1]}" "${ZONES[$((N / 2))]}" "${ZONES[$((N - 1))]}"; do
    az_assert_no_txt "_acme-challenge.$z"
done

# (5) nothing due: no CA contact, no new version
az_issuer "$CONF" run
az_assert_eq 0 "$AZ_ISSUER_RC" "second run: exit status"
az_assert_not_contains "$(cat "$AZ_ISSUER_ERR")" "ACME: " "second run (nothing due) ordered"
az_assert_not_contains "$(cat "$AZ_ISSUER_ERR")" "ACME account" "second run (nothing due) opened the CA"
az_assert_eq ".v-1" "$(readlink "$AZ_CERTS/${ZONES[0]}/current")" "second run stored nothing"
az_log "PASS: $N zones in one run, every one its certificate"
