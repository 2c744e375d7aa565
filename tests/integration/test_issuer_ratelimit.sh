#!/usr/bin/env bash
# acmezone-issuer keeps within its own rate-limit budget (real named with the
# plugin, real Pebble; Pebble's log counts the newOrder requests it got):
#   (1) orders-per-3h = 2 and 4 zones due: exactly 2 newOrder requests reach
#       the CA, for the 2 most urgent zones (missing certificates before the
#       due renewal, in configuration order); the other 2 are logged
#       "deferred until T: orders-per-3h (2 of 2 used in 3 h)" with T three
#       hours after the first order, and status shows them deferred until T;
#       the run exits 0 (a deferral is not a failure)
#   (2) a second run sends no newOrder at all: the deferred zones wait for T
#   (3) the budget survives in state-dir/rate-budget.json, for this CA
#   (4) a rateLimited answer with Retry-After (from acme_fault_proxy.py) past
#       the retry deadline defers the zone until then, in the state, without
#       retrying in a loop: one newOrder, and the next run sends none
#   (5) two key types: each zone's renewal is two orders; with
#       orders-per-3h = 3 and two zones missing, the first zone's two orders
#       reach the CA and the second is deferred (its second order would be
#       the fourth); the metrics file shows 1 order left of 3
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pebble.sh"
source "$(dirname "$0")/issuer_lib.sh"
az_setup

ZONES=(rl1.example.com rl2.example.com rl3.example.com rl4.example.com)
RL=rl5.example.com # for (4)
TWO=(rl6.example.com rl7.example.com) # for (5)
az_plugin_setup "${ZONES[@]}" "$RL" "${TWO[@]}"
az_start_named "$AZ_PLUGIN_FRAGMENT"
# No nonce rejection: a badNonce retry would be a second POST /order-plz for
# one order, and the test counts those requests.
PEBBLE_WFE_NONCEREJECT=0 az_start_pebble "$AZ_NAMED_PORT"

orders() { grep -c "POST /order-plz -> calling handler" "$AZ_PEBBLE_LOG" || true; }
CONF=$AZ_TMP/issuer.conf
az_issuer_conf "$CONF" "${ZONES[@]}"

sed -i "/^\[acme\]/a orders-per-3h = 2" "$CONF"

# (1) Two orders allowed, four zones without a certificate.
before=$(orders)
start_epoch=$(date +%s)
az_issuer "$CONF" run
err=$(cat "$AZ_ISSUER_ERR")
az_assert_eq 0 "$AZ_ISSUER_RC" "run with a short budget; stderr: $(tail -n 30 <<<"$err")"
az_assert_eq 2 "$((  $(orders) - before ))" "newOrder requests that reached the CA"
issued=() deferred=()
for z in "${ZONES[@]}"; do
    if [[ -e $AZ_CERTS/$z/cert.pem ]]; then
        az_verify_cert "$z"
        issued+=("$z")
    else
        grep -q "^acmezone: info: $z: deferred until " <<<"$err" || az_fail "$z neither issued nor deferred: $err"
        deferred+=("$z")
    fi
done
az_assert_eq 2 "${#issued[@]}" "zones issued (${issued[*]})"
az_assert_eq 2 "${#deferred[@]}" "zones deferred (${deferred[*]})"
DZ=${deferred[0]}
line=$(grep "^acmezone: info: $DZ: deferred until " <<<"$err" | sed "s/^acmezone: info: //")
az_assert_contains "$line" "orders-per-3h (2 of 2 used in 3 h)" "the limit is named"
until=$(sed -E "s/^$DZ: deferred until ([^ ]+): .*/\\1/" <<<"$line")
until_epoch=$(date -d "$until" +%s) || az_fail "not a time: $until"
# The first of the two orders plus 3 h (allowing for the run's own duration).
((until_epoch >= start_epoch + 10800 && until_epoch <= $(date +%s) + 10800)) ||
    az_fail "deferred until $until, not 3 h after the first order"
az_log "(1) 2 orders sent: ${issued[*]}; $line"

az_issuer "$CONF" status --json
python3 - "$AZ_ISSUER_OUT" "$until" "$DZ" <<'PY' || az_fail "status does not show the deferral: $(cat "$AZ_ISSUER_OUT")"
import json, sys
doc = json.load(open(sys.argv[1]))
zones = doc["zones"] if isinstance(doc, dict) else doc
z = {x["zone"]: x for x in zones}[sys.argv[3]]
assert z.get("deferred_until") == sys.argv[2], z
assert "orders-per-3h" in z.get("deferred_by", ""), z
PY
az_issuer "$CONF" status
az_assert_contains "$(cat "$AZ_ISSUER_OUT")" "deferred until $until: orders-per-3h" "status table"

# (2) The next run sends nothing: the deferred zone waits.
before=$(orders)
az_issuer "$CONF" run
az_assert_eq 0 "$AZ_ISSUER_RC" "second run; stderr: $(tail -n 20 "$AZ_ISSUER_ERR")"
az_assert_eq 0 "$(($(orders) - before))" "newOrder requests in the second run"
for z in "${deferred[@]}"; do
    [[ ! -e $AZ_CERTS/$z/cert.pem ]] || az_fail "$z issued in the second run"
done

# (3) The ledger.
python3 - "$AZ_TMP/issuer-state/rate-budget.json" "$AZ_PEBBLE_DIR" <<'PY' || az_fail "rate-budget.json: $(cat "$AZ_TMP/issuer-state/rate-budget.json")"
import json, sys
ca = json.load(open(sys.argv[1]))["cas"][sys.argv[2]]
assert len(ca["orders"]) == 2, ca["orders"]
assert len(ca["certificates"]) == 2, ca["certificates"]
PY
az_log "(2, 3) second run sent no order; the ledger holds 2 orders"

# (4) rateLimited with a Retry-After of an hour, past the retry deadline.
PROXY_PORT=$(az_free_port)
az_start_bg proxy python3 "$(dirname "$0")/acme_fault_proxy.py" --listen "$PROXY_PORT" \
    --upstream "${AZ_PEBBLE_DIR%/dir}" --cert "$AZ_TMP/pebble/tls.pem" \
    --key "$AZ_TMP/pebble/tls.key" --ca "$AZ_PEBBLE_TLS_CA" --log "$AZ_TMP/faults.log" \
    --rule "POST:/order-plz:-1:429:rateLimited:3600"
PROXY_DIR=https://127.0.0.1:$PROXY_PORT/dir
az_wait_for 10 curl -sS --fail --max-time 2 --cacert "$AZ_PEBBLE_TLS_CA" "$PROXY_DIR" ||
    az_fail "fault proxy did not answer: $(cat "$AZ_TMP/proxy.log")"
refused() { grep -c "POST /order-plz -> 429 rateLimited" "$AZ_TMP/faults.log" || true; }
CONF2=$AZ_TMP/issuer-rl.conf
az_issuer_conf "$CONF2" "$RL"
sed -i "s|^directory = .*|directory = $PROXY_DIR|; s|^retry-deadline = .*|retry-deadline = 5|" "$CONF2"
t0=$(date +%s)
az_issuer "$CONF2" run
err=$(cat "$AZ_ISSUER_ERR")
az_assert_eq 1 "$AZ_ISSUER_RC" "run answered rateLimited; stderr: $(tail -n 20 <<<"$err")"
az_assert_contains "$err" "rateLimited: injected by the test (HTTP 429)" "the CA's answer is reported"
az_assert_eq 1 "$(refused)" "newOrder requests answered rateLimited (no retry loop)"
python3 - "$AZ_TMP/issuer-state/zones/$RL.json" "$t0" <<'PY' || az_fail "the zone is not deferred for the Retry-After: $(cat "$AZ_TMP/issuer-state/zones/$RL.json")"
import datetime, json, sys
st = json.load(open(sys.argv[1]))
t = datetime.datetime.strptime(st["retry_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
assert t.timestamp() >= int(sys.argv[2]) + 3600, st
PY
az_issuer "$CONF2" run
az_assert_eq 1 "$(refused)" "newOrder requests after the next run"
az_issuer "$CONF2" issue "$RL"
az_assert_eq 1 "$(refused)" "newOrder requests after issue (the CA's refusal is in the budget)"
az_assert_contains "$(cat "$AZ_ISSUER_ERR")" "$RL: deferred until" "issue says it deferred"
az_assert_contains "$(cat "$AZ_ISSUER_ERR")" "the CA answered rateLimited" "and why"
az_log "(4) rateLimited honoured: one request, deferred for its Retry-After"

# (5) Two key types: two orders per zone, each counted.
CONF3=$AZ_TMP/issuer-two.conf
az_issuer_conf "$CONF3" "${TWO[@]}"
sed -i "s|^state-dir = .*|state-dir = $AZ_TMP/issuer-state-two|" "$CONF3"
sed -i "/^\[acme\]/a orders-per-3h = 3" "$CONF3"
sed -i 's/^\[certs\]$/[certs]\nkey-type = ecdsa-p256 rsa-2048/' "$CONF3"
printf '[status]\nmetrics-file = %s\n' "$AZ_TMP/two.prom" >>"$CONF3"
before=$(orders)
az_issuer "$CONF3" run
err=$(cat "$AZ_ISSUER_ERR")
az_assert_eq 0 "$AZ_ISSUER_RC" "run with two key types; stderr: $(tail -n 20 <<<"$err")"
az_assert_eq 2 "$(($(orders) - before))" "newOrder requests (one zone, two key types)"
az_verify_cert "${TWO[0]}"
[[ -f $AZ_CERTS/${TWO[0]}/rsa-2048/cert.pem ]] || az_fail "${TWO[0]}: no RSA certificate"
[[ ! -e $AZ_CERTS/${TWO[1]}/cert.pem ]] || az_fail "${TWO[1]} issued beyond the budget"
az_assert_contains "$err" "${TWO[1]}: deferred until" "the second zone is deferred"
az_assert_contains "$err" "orders-per-3h (3 of 3 used in 3 h)" "by its second order"
m=$(cat "$AZ_TMP/two.prom")
az_assert_contains "$m" \
    "acmezone_rate_budget_remaining{ca=\"$AZ_PEBBLE_DIR\",limit=\"orders-per-3h\",scope=\"account\"} 1" \
    "metrics: one order left"
az_assert_contains "$m" \
    "acmezone_rate_budget_limit{ca=\"$AZ_PEBBLE_DIR\",limit=\"orders-per-3h\",scope=\"account\"} 3" \
    "metrics: the limit"
az_log "(5) two key types: 2 orders for one zone, the other deferred; metrics: 1 of 3 left"
az_log "PASS"
