#!/usr/bin/env bash
# acmezone-issuer publishing through gdnsd (Debian's gdnsd 3.8) instead of the
# plugin: a real gdnsd on loopback serves example.com from a zone file, with
# its control socket on a loopback TCP port that allows challenge commands;
# the issuer's [publish] gdnsdctl runs /usr/bin/gdnsdctl -s against it; Pebble
# validates against gdnsd. Covers:
#   (1) `check` passes: the test value is published with gdnsdctl and seen by
#       gdnsd (the same propagation check as with the plugin)
#   (2) `run` issues {Z, *.Z}, the certificate verifies, and the values were
#       served by gdnsd (they stay until gdnsd's acme_challenge_ttl ends:
#       gdnsd cannot delete single values)
#   (3) gdnsd unreachable: `check` and `issue --force` fail naming gdnsdctl
#       and what it said (the checks before ordering catch it, whether or not
#       the CA would reuse valid authorizations), and the stored certificate
#       is untouched
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pebble.sh"
source "$(dirname "$0")/issuer_lib.sh"
az_setup
command -v gdnsd >/dev/null && command -v gdnsdctl >/dev/null ||
    az_fail "gdnsd is not installed (Debian package gdnsd; scripts/bootstrap installs it)"

ZONE=example.com
G=$AZ_TMP/gdnsd
mkdir -p "$G/etc/zones" "$G/run" "$G/state"
GDNSD_PORT=$(az_free_port)
GDNSD_CTL=$(az_free_port)
cat >"$G/etc/config" <<EOF
options => {
    listen => [ 127.0.0.1:$GDNSD_PORT ]
    tcp_control => { 127.0.0.1:$GDNSD_CTL => { chal_ok => true, ctl_ok => true } }
    run_dir => $G/run
    state_dir => $G/state
    acme_challenge_ttl => 60
}
EOF
cat >"$G/etc/zones/$ZONE" <<EOF
\$TTL 60
@ SOA ns1 hostmaster 1 3600 600 86400 60
@ NS ns1
ns1 A 127.0.0.1
EOF
az_start_bg gdnsd gdnsd -c "$G/etc" start
GDNSD_PID=$AZ_BG_PID
gdnsd_answers() { dig @127.0.0.1 -p "$GDNSD_PORT" +time=1 +tries=1 +norec "$ZONE" SOA | grep -q "status: NOERROR"; }
az_wait_for 30 gdnsd_answers || {
    tail -n 20 "$AZ_TMP/gdnsd.log" >&2
    az_fail "gdnsd did not answer on 127.0.0.1:$GDNSD_PORT within 30 s"
}
az_log "gdnsd up on port $GDNSD_PORT (control 127.0.0.1:$GDNSD_CTL), pid $GDNSD_PID"
az_start_pebble "$GDNSD_PORT"

# An issuer.conf like issuer_lib.sh's, with gdnsd for DNS and publishing.
write_conf() {
    local file=$1 ctl=$2
    cat >"$file" <<EOF
[acme]
directory = $AZ_PEBBLE_DIR
ca-file = $AZ_PEBBLE_TLS_CA
state-dir = $AZ_TMP/issuer-state
retry-deadline = 30
validation-timeout = 60
[zones]
zone = $ZONE
[publish]
gdnsdctl = $(command -v gdnsdctl) -s 127.0.0.1:$ctl -t 10
gdnsdctl-timeout = 20
[dns]
resolver = 127.0.0.1:$GDNSD_PORT
check-server = 127.0.0.1:$GDNSD_PORT
propagation-timeout = 20
[certs]
dir = $AZ_TMP/certs
EOF
}
AZ_CERTS=$AZ_TMP/certs
CONF=$AZ_TMP/issuer.conf
write_conf "$CONF" "$GDNSD_CTL"

gdnsd_txt() { dig @127.0.0.1 -p "$GDNSD_PORT" +time=2 +tries=1 +norec +short "_acme-challenge.$ZONE" TXT; }

# (1)
az_issuer "$CONF" check
out=$(cat "$AZ_ISSUER_OUT")
az_assert_eq 0 "$AZ_ISSUER_RC" "check through gdnsd; stdout: $out; stderr: $(cat "$AZ_ISSUER_ERR")"
az_assert_contains "$out" "$ZONE: ok" "verdict"
az_assert_contains "$out" "gdnsdctl -s 127.0.0.1:$GDNSD_CTL -t 10 took a test value at _acme-challenge.$ZONE" "publish finding"
az_assert_contains "$out" "every authoritative server serves the test value" "propagation finding"
az_assert_contains "$(gdnsd_txt)" '"acmezone-precheck-' "gdnsd serves the test value (it expires there on its own)"
az_log "check passes through gdnsd"

# (2)
az_issuer "$CONF" run
az_assert_eq 0 "$AZ_ISSUER_RC" "run through gdnsd; stderr: $(cat "$AZ_ISSUER_ERR")"
az_verify_cert "$ZONE"
values=$(gdnsd_txt | grep -vc '"acmezone-precheck-' || true)
((values >= 2)) || az_fail "gdnsd does not serve the two challenge values: $(gdnsd_txt)"
az_log "issued through gdnsd"

# (3) nothing listens at the control address.
dead=$(az_free_port)
BROKEN=$AZ_TMP/issuer-broken.conf
write_conf "$BROKEN" "$dead"
before=$(az_tree_digest "$AZ_CERTS/$ZONE")
az_issuer "$BROKEN" check
out=$(cat "$AZ_ISSUER_OUT")
az_assert_eq 1 "$AZ_ISSUER_RC" "check with gdnsd unreachable; stdout: $out"
az_assert_contains "$out" "FAILED   publish         gdnsdctl -s 127.0.0.1:$dead -t 10: exited with status" "the failing command"
az_assert_contains "$out" "fix: check that gdnsd runs" "the fix"
az_issuer "$BROKEN" issue --force "$ZONE"
err=$(cat "$AZ_ISSUER_ERR")
az_assert_eq 1 "$AZ_ISSUER_RC" "issue --force with gdnsd unreachable; stderr: $err"
az_assert_contains "$err" "$ZONE: FAILED" "failure line"
az_assert_contains "$err" "checks before ordering failed: publish: gdnsdctl -s 127.0.0.1:$dead" "the failure names the command"
az_assert_eq "$before" "$(az_tree_digest "$AZ_CERTS/$ZONE")" "certificate after the failed renewal"
az_log "PASS"
