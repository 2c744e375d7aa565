#!/usr/bin/env bash
# acmezone-issuer against a CA that misbehaves (real named with the plugin,
# real Pebble, behind acme_fault_proxy.py which answers chosen requests with
# ACME errors):
#   - Pebble rejects 30 % of all nonces (PEBBLE_WFE_NONCEREJECT=30): every
#     badNonce is retried transparently
#   - newOrder answers serverInternal twice and finalize rateLimited once,
#     each with Retry-After: 1 — the issuer waits and retries, and all zones
#     are issued (the proxy's log proves the errors were sent)
#   - newOrder rateLimited for good, with retry-deadline = 3: the zone fails
#     after retrying, and the message carries the problem's type and detail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pebble.sh"
source "$(dirname "$0")/issuer_lib.sh"
az_setup

ZONES=(r1.example.com r2.example.com r3.example.com)
FRESH=r4.example.com  # configured, but not issued before the SIGTERM case
az_plugin_setup "${ZONES[@]}" "$FRESH"
az_start_named "$AZ_PLUGIN_FRAGMENT"
PEBBLE_WFE_NONCEREJECT=30 PEBBLE_AUTHZREUSE=100 az_start_pebble "$AZ_NAMED_PORT"
grep -q "reject 30% of good nonces" "$AZ_PEBBLE_LOG" || az_fail "pebble ignored PEBBLE_WFE_NONCEREJECT"

start_proxy() {  # RULE...
    local r args=()
    for r in "$@"; do args+=(--rule "$r"); done
    az_start_fault_proxy "${args[@]}"
    PROXY_DIR=$AZ_PROXY_DIR
}

# Transient errors: retried, everything issued.
start_proxy "POST:/order-plz:2:500:serverInternal:1" "POST:/finalize-order:1:429:rateLimited:1"
grep -q "serverInternal" "$AZ_TMP/faults.log" && az_fail "faults before the run"
CONF=$AZ_TMP/issuer.conf
az_issuer_conf "$CONF" "${ZONES[@]}" "$FRESH"
sed -i "s|^directory = .*|directory = $PROXY_DIR|" "$CONF"
start=$SECONDS
az_issuer "$CONF" --verbose issue "${ZONES[@]}"
err=$(cat "$AZ_ISSUER_ERR")
az_assert_eq 0 "$AZ_ISSUER_RC" "run through transient errors; stderr: $(tail -n 30 <<<"$err")"
for z in "${ZONES[@]}"; do
    az_verify_cert "$z"
done
az_assert_eq 2 "$(grep -c 'POST /order-plz -> 500 serverInternal' "$AZ_TMP/faults.log")" \
    "serverInternal answers sent"
az_assert_eq 1 "$(grep -c 'POST /finalize-order.* -> 429 rateLimited' "$AZ_TMP/faults.log")" \
    "rateLimited answers sent"
az_assert_contains "$err" "serverInternal: injected by the test" "the retried error is logged"
az_assert_contains "$err" "retrying in 1000 ms" "Retry-After honoured"
bad_nonces=$(grep -c "badNonce, retrying" <<<"$err" || true)
((bad_nonces > 0)) || az_fail "no badNonce was retried with 30 % of nonces rejected"
az_log "issued through 3 injected errors and $bad_nonces badNonce answers in $((SECONDS - start)) s"
az_stop_fault_proxy

# Rate limited for good: reported with type and detail after the deadline.
start_proxy "POST:/order-plz:-1:429:rateLimited:1"
sed -i "s|^directory = .*|directory = $PROXY_DIR|; s|^retry-deadline = .*|retry-deadline = 3|" "$CONF"
az_issuer "$CONF" issue --force r1.example.com
err=$(cat "$AZ_ISSUER_ERR")
az_assert_eq 1 "$AZ_ISSUER_RC" "run against a CA that stays rate limited"
failure=$(grep "^r1.example.com: FAILED" <<<"$err") || az_fail "no FAILED line: $err"
az_log "failure reported as: $failure"
az_assert_contains "$failure" "newOrder (gave up after" "the failure says it retried"
az_assert_contains "$failure" "Retry-After of 1 s goes past the retry deadline" "why it stopped"
az_assert_contains "$failure" "rateLimited: injected by the test (HTTP 429)" "type and detail"
tries=$(grep -c 'POST /order-plz -> 429 rateLimited' "$AZ_TMP/faults.log")
((tries >= 2 && tries <= 6)) || az_fail "expected 2..6 newOrder attempts in 3 s, saw $tries"
az_verify_cert r1.example.com
az_stop_fault_proxy

# SIGTERM during validation: the values (published, as dig shows) are removed.
# The CA answers every challenge response with serverInternal (Retry-After 1),
# so the issuer keeps retrying with both values published.
start_proxy "POST:/chalZ/:-1:500:serverInternal:1"
sed -i "s|^directory = .*|directory = $PROXY_DIR|; s|^retry-deadline = .*|retry-deadline = 120|" "$CONF"
# (Not under timeout(1): it would signal the whole process group a second
# time, and a second signal kills at once, by design. The cleanup trap stops it.)
"$ACMEZONE_ISSUER" --config "$CONF" issue --force "$FRESH" >"$AZ_TMP/int.out" 2>"$AZ_TMP/int.err" &
issuer_pid=$!
az_track_pid "$issuer_pid"
az_wait_for 30 grep -q "$FRESH: validating" "$AZ_TMP/int.err" ||
    az_fail "never reached validation: $(cat "$AZ_TMP/int.err")"
az_wait_for 10 grep -q "POST /chalZ/.* -> 500" "$AZ_TMP/faults.log" || az_fail "no response failed"
values=$(az_dig "_acme-challenge.$FRESH" TXT +noall +answer | awk '$4 == "TXT"' | wc -l)
az_assert_eq 2 "$values" "TXT values published while validating"
kill -TERM "$issuer_pid"
for ((i = 0; i < 50; i++)); do
    kill -0 "$issuer_pid" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$issuer_pid" 2>/dev/null; then
    kill -KILL "$issuer_pid"
    az_fail "still running 5 s after SIGTERM: $(tail -n 5 "$AZ_TMP/int.err")"
fi
rc=0
wait "$issuer_pid" || rc=$?
az_assert_eq 1 "$rc" "exit code after SIGTERM; stderr: $(tail -n 5 "$AZ_TMP/int.err")"
az_assert_contains "$(cat "$AZ_TMP/int.err")" "interrupted by a signal" "the failure says why"
az_assert_no_txt "_acme-challenge.$FRESH"
az_log "SIGTERM during validation: stopped, values removed"
az_stop_fault_proxy

# Authorizations the CA still holds valid are not validated again.
sed -i "s|^directory = .*|directory = $AZ_PEBBLE_DIR|; s|^retry-deadline = .*|retry-deadline = 30|" "$CONF"
az_issuer "$CONF" --verbose issue --force r2.example.com
err=$(cat "$AZ_ISSUER_ERR")
az_assert_eq 0 "$AZ_ISSUER_RC" "renewal with reused authorizations; stderr: $(tail -n 20 <<<"$err")"
az_assert_eq 2 "$(grep -c "r2.example.com: authorization for .* already valid" <<<"$err")" \
    "both authorizations reused"
az_assert_not_contains "$err" "r2.example.com: publishing" "nothing published for reused authorizations"
az_assert_eq ".v-2" "$(readlink "$AZ_CERTS/r2.example.com/current")" "renewed version"
az_verify_cert r2.example.com
az_log "PASS"
