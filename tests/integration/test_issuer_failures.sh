#!/usr/bin/env bash
# acmezone-issuer when things go wrong (real named with the plugin, real Pebble):
#   (4) zones the plugin does not serve fail alone, each with a message naming
#       it and the cause — one native in named (the control socket answers
#       NOTAUTH), one served nowhere (the resolver answers REFUSED, so no order
#       is even placed); the others in the same run are issued; exit code 1;
#       no TXT value is left anywhere
#   (5) an existing certificate survives a failed renewal: `issue --force` with
#       the control socket unreachable exits 1 naming the socket, and the
#       zone's files are unchanged byte for byte
#   (6) status --json shows the failed attempt next to the still-valid certificate
#   and: a successful forced renewal switches to a new version with a new key;
#   bad configuration and unknown zones exit 2 and change nothing.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pebble.sh"
source "$(dirname "$0")/issuer_lib.sh"
az_setup

GOOD=(good1.example.com good2.example.com good3.example.com)
BAD=unserved.example.com  # native zone in named, not in the plugin
NOWHERE=nowhere.example.com

az_plugin_setup "${GOOD[@]}"
cat >"$AZ_TMP/$BAD.zone" <<EOF
\$TTL 60
@ IN SOA ns1.$BAD. hostmaster.$BAD. 1 3600 600 86400 60
@ IN NS ns1.$BAD.
ns1 IN A 127.0.0.1
EOF
cat >>"$AZ_PLUGIN_FRAGMENT" <<EOF
zone "$BAD" { type primary; file "$AZ_TMP/$BAD.zone"; };
EOF
az_start_named "$AZ_PLUGIN_FRAGMENT"
# No authorization reuse: every case below must reach publishing.
PEBBLE_AUTHZREUSE=0 az_start_pebble "$AZ_NAMED_PORT"

CONF=$AZ_TMP/issuer.conf
az_issuer_conf "$CONF" "${GOOD[@]}" "$BAD" "$NOWHERE"

# (4)
az_issuer "$CONF" run
err=$(cat "$AZ_ISSUER_ERR")
az_assert_eq 1 "$AZ_ISSUER_RC" "run exit code with one failing zone; stderr: $err"
for z in "${GOOD[@]}"; do
    az_verify_cert "$z"
    az_assert_contains "$err" "$z: issued" "progress line for $z"
done
failure=$(grep "^$BAD: FAILED" <<<"$err") || az_fail "no FAILED line for $BAD: $err"
az_log "failure reported as: $failure"
az_assert_contains "$failure" "_acme-challenge.$BAD" "the failure names the challenge name"
az_assert_contains "$failure" "answered NOTAUTH" "the failure says what the control socket answered"
az_assert_contains "$failure" "127.0.0.1:$AZ_CONTROL_PORT" "the failure names the control socket"
failure=$(grep "^$NOWHERE: FAILED" <<<"$err") || az_fail "no FAILED line for $NOWHERE: $err"
az_log "failure reported as: $failure"
az_assert_contains "$failure" "checks before ordering failed: challenge name" "the failing check"
az_assert_contains "$failure" "resolver 127.0.0.1:$AZ_NAMED_PORT answered REFUSED" "the cause"
if grep -q "$NOWHERE: ordering" <<<"$err"; then
    az_fail "an order was placed for $NOWHERE"
fi
[[ ! -e $AZ_CERTS/$BAD/cert.pem ]] || az_fail "$BAD has a certificate"
[[ ! -e $AZ_CERTS/$NOWHERE/cert.pem ]] || az_fail "$NOWHERE has a certificate"
az_assert_contains "$err" "2 of 5 zone(s) failed" "summary line"
for z in "${GOOD[@]}" "$BAD"; do
    az_assert_no_txt "_acme-challenge.$z"
done

# (5) the control socket unreachable: a port nobody listens on.
dead_port=$(az_free_port)
BROKEN=$AZ_TMP/issuer-broken.conf
AZ_ISSUER_CONTROL=127.0.0.1:$dead_port az_issuer_conf "$BROKEN" "${GOOD[@]}" "$BAD" "$NOWHERE"
before=$(az_tree_digest "$AZ_CERTS/good1.example.com")
az_issuer "$BROKEN" issue --force good1.example.com
err=$(cat "$AZ_ISSUER_ERR")
az_assert_eq 1 "$AZ_ISSUER_RC" "forced renewal with the control socket down; stderr: $err"
az_assert_contains "$err" "good1.example.com: FAILED" "the renewal failure is reported"
az_assert_contains "$err" "127.0.0.1:$dead_port" "the failure names the unreachable socket"
after=$(az_tree_digest "$AZ_CERTS/good1.example.com")
az_assert_eq "$before" "$after" "good1.example.com files after a failed renewal"
az_verify_cert good1.example.com
az_log "existing certificate unchanged after the failed renewal"

# (6)
az_issuer "$CONF" status --json
az_assert_eq 1 "$AZ_ISSUER_RC" "status exit code with a zone missing"
python3 - "$AZ_ISSUER_OUT" "$dead_port" <<'EOF' || az_fail "status --json: $(cat "$AZ_ISSUER_OUT")"
import json, sys
rows = {r["zone"]: r for r in json.load(open(sys.argv[1]))}
assert set(rows) == {"good1.example.com", "good2.example.com", "good3.example.com",
                     "unserved.example.com", "nowhere.example.com"}, rows.keys()
g1 = rows["good1.example.com"]
assert g1["state"] == "valid", g1
assert g1["names"] == ["*.good1.example.com", "good1.example.com"], g1
assert g1["last_result"] == "failed", g1
assert "127.0.0.1:" + sys.argv[2] in g1["last_error"], g1
for z in ("good2.example.com", "good3.example.com"):
    assert rows[z]["state"] == "valid" and rows[z]["last_result"] == "ok", rows[z]
bad = rows["unserved.example.com"]
assert bad["state"] == "missing" and bad["names"] == [] and bad["not_after"] is None, bad
assert bad["last_result"] == "failed" and "NOTAUTH" in bad["last_error"], bad
assert rows["nowhere.example.com"]["state"] == "missing", rows["nowhere.example.com"]
EOF
az_log "status --json shows the failures"

# A successful forced renewal: new version, new key, old version kept.
old_key=$(cat "$AZ_CERTS/good2.example.com/privkey.pem")
az_issuer "$CONF" issue --force good2.example.com
az_assert_eq 0 "$AZ_ISSUER_RC" "forced renewal exit code: $(cat "$AZ_ISSUER_ERR")"
az_assert_eq ".v-2" "$(readlink "$AZ_CERTS/good2.example.com/current")" "renewed version"
az_verify_cert good2.example.com
[[ $old_key != "$(cat "$AZ_CERTS/good2.example.com/privkey.pem")" ]] ||
    az_fail "renewal reused the private key"
[[ -f $AZ_CERTS/good2.example.com/.v-1/privkey.pem ]] || az_fail "previous version removed"
# Without --force a valid certificate is left alone.
az_issuer "$CONF" issue good3.example.com
az_assert_eq 0 "$AZ_ISSUER_RC" "issue of a zone that is not due"
az_assert_eq ".v-1" "$(readlink "$AZ_CERTS/good3.example.com/current")" "not due: no new version"

# Bad input exits 2 and changes nothing.
before=$(az_tree_digest "$AZ_CERTS")
az_issuer "$CONF" issue --force other.example.com
az_assert_eq 2 "$AZ_ISSUER_RC" "issue of an unconfigured zone"
az_assert_contains "$(cat "$AZ_ISSUER_ERR")" "other.example.com is not a configured zone" "message"
sed 's/^parallel = 8$/parallel = 0/' "$CONF" >"$AZ_TMP/bad.conf"
az_issuer "$AZ_TMP/bad.conf" run
az_assert_eq 2 "$AZ_ISSUER_RC" "run with a bad config"
az_assert_contains "$(cat "$AZ_ISSUER_ERR")" "bad.conf:" "bad config message names the file"
az_assert_contains "$(cat "$AZ_ISSUER_ERR")" "certs.parallel" "bad config message names the key"
az_issuer "$CONF" frobnicate
az_assert_eq 2 "$AZ_ISSUER_RC" "unknown command"
az_assert_eq "$before" "$(az_tree_digest "$AZ_CERTS")" "certificates after bad input"
az_log "PASS"
