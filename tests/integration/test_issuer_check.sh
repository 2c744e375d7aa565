#!/usr/bin/env bash
# The checks before ordering (issuer/dns/precheck.h), against real named with the
# plugin and real Pebble:
#   (1) `check` passes (exit 0) on a plugin zone and on a zone whose
#       _acme-challenge is a CNAME into the plugin's challenge zone
#   (2) a zone without CNAME that the plugin does not serve: exit 1, naming
#       the missing CNAME, the control socket and its NOTAUTH, with the fix
#   (3) a zone the plugin serves but the key is not granted: names the grant
#       (REFUSED) and the plugin.conf line to add
#   (4) a CAA record allowing another CA only: names CAA, exit 1; --json
#       carries the same findings
#   (5) no test value is left published after any check (dig)
#   (6) `run` places no order for the zones failing their checks (Pebble's
#       log counts the orders it adds) while the good zones are issued
#   (7) daemon: the CA's CAA identities are not kept past a SIGHUP that
#       changes caa-identity: the CAA zone fails its checks, then after the
#       SIGHUP naming the identity its CAA allows, it is issued
#   and: `check` of an unconfigured zone exits 2.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pebble.sh"
source "$(dirname "$0")/issuer_lib.sh"
az_setup

GOOD=good.example.com         # a plugin zone, granted
CNAMED=cnamed.example.org     # native; _acme-challenge CNAME into the challenge zone
CHAL=chal.example.net         # the plugin's challenge zone
NOCNAME=nocname.example.org   # native, no CNAME, not in the plugin
NOGRANT=nogrant.example.com   # a plugin zone without a grant
CAA=caa.example.com           # a plugin zone, native apex with CAA for another CA

AZ_PLUGIN_EXTRA="challenge-zone = $CHAL"
AZ_PLUGIN_CONTROL_EXTRA="grant = acme-key zonesub $CHAL"
az_plugin_setup "$GOOD" "$NOGRANT" "$CAA"
sed -i "/^grant = acme-key zonesub $NOGRANT\$/d" "$AZ_PLUGIN_CONF"
grep -q "zonesub $NOGRANT" "$AZ_PLUGIN_CONF" && az_fail "the grant for $NOGRANT is still there"

az_native_zone "$CNAMED" "_acme-challenge IN CNAME _acme-challenge.$CNAMED.$CHAL."
az_native_zone "$NOCNAME" ""
az_native_zone "$CAA" "@ IN CAA 0 issue \"other-ca.example\""
az_start_named "$AZ_PLUGIN_FRAGMENT"
az_start_pebble "$AZ_NAMED_PORT"

CONF=$AZ_TMP/issuer.conf
az_issuer_conf "$CONF" "$GOOD" "$CNAMED" "$NOCNAME" "$NOGRANT" "$CAA"
# Pebble 2.4's directory lists no caaIdentities: name the one CAA will be
# matched against.
sed -i "s/^\[zones\]\$/caa-identity = pebble.test\n[zones]/" "$CONF"
sed -i "s/^propagation-timeout = 20\$/propagation-timeout = 5/" "$CONF"

assert_no_test_values() {
    local name
    for name in "_acme-challenge.$GOOD" "_acme-challenge.$CNAMED.$CHAL" \
        "_acme-challenge.$NOGRANT" "_acme-challenge.$CAA"; do
        az_assert_no_txt "$name"
    done
}

# (1)
az_issuer "$CONF" check "$GOOD" "$CNAMED"
out=$(cat "$AZ_ISSUER_OUT")
az_assert_eq 0 "$AZ_ISSUER_RC" "check of good zones; stdout: $out; stderr: $(cat "$AZ_ISSUER_ERR")"
az_assert_contains "$out" "$GOOD: ok" "verdict for $GOOD"
az_assert_contains "$out" "$CNAMED: ok" "verdict for $CNAMED"
az_assert_contains "$out" "is a CNAME to _acme-challenge.$CNAMED.$CHAL" "the CNAME is followed"
az_assert_contains "$out" "every authoritative server serves the test value" "propagation"
az_assert_not_contains "$out" "FAILED" "no failed finding"
assert_no_test_values
az_log "good zones pass"

# (2)
az_issuer "$CONF" check "$NOCNAME"
out=$(cat "$AZ_ISSUER_OUT")
az_assert_eq 1 "$AZ_ISSUER_RC" "check of $NOCNAME; stdout: $out"
az_assert_contains "$out" "$NOCNAME: FAILED" "verdict"
az_assert_contains "$out" "_acme-challenge.$NOCNAME has no CNAME and $NOCNAME is not a zone of the control socket at 127.0.0.1:$AZ_CONTROL_PORT (answered NOTAUTH)" "the missing CNAME"
az_assert_contains "$out" "fix: add \`zone = $NOCNAME\` to plugin.conf's zones" "the fix"
az_log "missing CNAME named"

# (3)
az_issuer "$CONF" check "$NOGRANT"
out=$(cat "$AZ_ISSUER_OUT")
az_assert_eq 1 "$AZ_ISSUER_RC" "check of $NOGRANT; stdout: $out"
az_assert_contains "$out" "answered REFUSED for _acme-challenge.$NOGRANT: key acme-key is not granted" "the grant"
az_assert_contains "$out" "fix: add \`grant = acme-key zonesub $NOGRANT\` to the [control] section of plugin.conf" "the fix"
az_log "wrong grant named"

# (4)
az_issuer "$CONF" check "$CAA" --json
az_assert_eq 1 "$AZ_ISSUER_RC" "check --json of $CAA; stdout: $(cat "$AZ_ISSUER_OUT")"
python3 - "$AZ_ISSUER_OUT" "$CAA" <<'EOF' || az_fail "check --json: $(cat "$AZ_ISSUER_OUT")"
import json, sys
zones = json.load(open(sys.argv[1]))
assert [z["zone"] for z in zones] == [sys.argv[2]], zones
z = zones[0]
assert z["ok"] is False, z
by = {f["check"]: f for f in z["findings"]}
assert by["publish"]["result"] == "ok", by
assert by["propagation"]["result"] == "ok", by
caa = by["CAA"]
assert caa["result"] == "failed", caa
assert "allows only other-ca.example" in caa["what"] and "pebble.test" in caa["what"], caa
assert "CAA 0 issue \"pebble.test\"" in caa["fix"], caa
EOF
az_log "CAA named"

# (5) after the failing checks too
assert_no_test_values

az_issuer "$CONF" check other.example.com
az_assert_eq 2 "$AZ_ISSUER_RC" "check of an unconfigured zone"
az_assert_contains "$(cat "$AZ_ISSUER_ERR")" "other.example.com is not a configured zone" "message"

# (6) run: only the zones passing their checks are ordered.
orders_before=$(grep -c 'Added order' "$AZ_PEBBLE_LOG" || true)
az_issuer "$CONF" run
err=$(cat "$AZ_ISSUER_ERR")
az_assert_eq 1 "$AZ_ISSUER_RC" "run with failing zones; stderr: $err"
az_verify_cert "$GOOD"
az_verify_cert "$CNAMED"
for z in "$NOCNAME" "$NOGRANT" "$CAA"; do
    failure=$(grep "^$z: FAILED" <<<"$err") || az_fail "no FAILED line for $z: $err"
    az_assert_contains "$failure" "checks before ordering failed" "$z fails its checks"
    [[ ! -e $AZ_CERTS/$z/cert.pem ]] || az_fail "$z has a certificate"
done
az_assert_contains "$(grep "^$NOGRANT: FAILED" <<<"$err")" "grant = acme-key zonesub $NOGRANT" "the grant"
az_assert_contains "$(grep "^$CAA: FAILED" <<<"$err")" "CAA: " "CAA"
orders=$(($(grep -c 'Added order' "$AZ_PEBBLE_LOG" || true) - orders_before))
az_assert_eq 2 "$orders" "orders Pebble added (only $GOOD and $CNAMED)"
assert_no_test_values

# (7) daemon + SIGHUP with another caa-identity. A state dir of its own, so
# that (6)'s backoff of $CAA does not apply; retries within 2 s. (Pebble
# itself checks no CAA: the checks before ordering are all that stop it.)
DCONF=$AZ_TMP/daemon.conf
write_daemon_conf() { # CAA-IDENTITY
    az_issuer_conf "$DCONF" "$CAA"
    sed -i -e "s/^\[zones\]\$/caa-identity = $1\n[zones]/" \
        -e "s|^state-dir = .*|state-dir = $AZ_TMP/daemon-state|" \
        -e 's/^\[certs\]$/[certs]\nretry-min = 1\nretry-max = 2/' "$DCONF"
}
write_daemon_conf pebble.test
DLOG=$AZ_TMP/daemon.err
"$ACMEZONE_ISSUER" --config "$DCONF" daemon >"$AZ_TMP/daemon.out" 2>"$DLOG" &
daemon_pid=$!
az_track_pid "$daemon_pid"
az_wait_for 60 grep -q "checks before ordering failed" "$DLOG" ||
    az_fail "daemon: $CAA did not fail its checks: $(cat "$DLOG")"
[[ ! -e $AZ_CERTS/$CAA/cert.pem ]] || az_fail "$CAA has a certificate before the SIGHUP"
write_daemon_conf other-ca.example
kill -HUP "$daemon_pid"
az_wait_for 60 grep -q "$CAA: issued" "$DLOG" ||
    az_fail "daemon: $CAA not issued after the SIGHUP that names other-ca.example: $(tail -n 20 "$DLOG")"
az_verify_cert "$CAA"
kill -TERM "$daemon_pid"
az_wait_for 30 bash -c "! kill -0 $daemon_pid 2>/dev/null" || az_fail "daemon still running 30 s after SIGTERM"
az_log "(7) daemon: a SIGHUP's caa-identity is used at once"
az_log "PASS"
