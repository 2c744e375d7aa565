#!/usr/bin/env bash
# Standby certificates ([acme] standby-directory, issuer/pass/standby.h) with
# two real Pebbles: the live CA and a standby CA that requires External
# Account Binding (so the standby-eab-* options must reach it).
#   (1) run without standby-directory: both zones get their live set
#   (2) with standby-directory: run gives every zone a standby set from the
#       second Pebble (the `standby` link; its chain verifies to that Pebble's
#       root, not the first's); every file, link and name of the live sets is
#       byte for byte as before, and the deploy hook did not run; status
#       --json and the table show the standby CA and expiry
#   (3) run again: nothing is due, no standby order is placed; the standby
#       Pebble has no renewalInfo, so standby-renew-before decides (the ARI
#       window case is test_issuer_standby_ari.sh)
#   (4) a zone whose standby set is gone: status says "standby missing", and
#       the next run orders it again (and only it)
#   (5) the live CA stopped: switch --all makes every standby set live (no
#       request: the live files now verify to the standby Pebble's root), runs
#       the deploy hook for each zone (zones-example/hooks/nginx-deploy into a
#       real nginx on a loopback port: nginx then serves each zone the serial
#       its standby set had before the switch), and the set that was live is the
#       standby set; status says the live set is the standby CA's, renewed
#       from it, and the next standby set comes from the first CA
#   (6) the configuration unchanged and the first Pebble back: run orders a
#       new standby set for each zone from the first Pebble (the CA that was
#       live; its chain verifies to that Pebble's root, the zone state names
#       it) and leaves the live sets alone; issue ZONE --force renews the live
#       set from the second Pebble (the standby CA, with its EAB account);
#       switch ZONE switches one zone back, asking no CA
#   (7) switch of a zone without a standby set: exit 1, naming the zone
#   (8) the first CA down, run cannot make a switched zone's standby set: exit 1,
#       the notify hook gets "standby-missing" once (not again on the next
#       run); it got "switched" for each zone switched in (5), (6) and (7);
#       the metrics file says acmezone_standby_present 0 for it (1 in (2));
#       status exits 0 within standby-grace (1d) and 1 past it (grace 0)
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pebble.sh"
source "$(dirname "$0")/issuer_lib.sh"
source "$(dirname "$0")/nginx_lib.sh"
az_setup

ZONES=(sb1.example.com sb2.example.com)
az_plugin_setup "${ZONES[@]}"
az_start_named "$AZ_PLUGIN_FRAGMENT"

KEY=$(python3 -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("="))')
AZ_PEBBLE_EAB="kid-sb=$KEY" az_start_pebble "$AZ_NAMED_PORT" standby
SB_DIR=$AZ_PEBBLE_DIR
SB_TLS_CA=$AZ_PEBBLE_TLS_CA
SB_ROOT=$AZ_PEBBLE_ROOT
az_start_pebble "$AZ_NAMED_PORT" # the live CA: AZ_PEBBLE_* name it from here on
EAB_FILE=$AZ_TMP/standby-eab.key
(umask 077 && echo "$KEY" >"$EAB_FILE")

HOOK=$AZ_TMP/deploy-hook
HOOK_LOG=$AZ_TMP/deploy-hook.log
printf '#!/bin/sh\necho "$ACMEZONE_ZONE" >>%q\n' "$HOOK_LOG" >"$HOOK"
NOTIFY=$AZ_TMP/notify-hook
NOTIFY_LOG=$AZ_TMP/notify-hook.log
printf '#!/bin/sh\nprintf "%%s %%s " "$ACMEZONE_EVENT" "$ACMEZONE_ZONE" >>%q\ncat >>%q\n' \
    "$NOTIFY_LOG" "$NOTIFY_LOG" >"$NOTIFY"
touch "$NOTIFY_LOG"
chmod 0755 "$HOOK" "$NOTIFY"

# A real nginx (its own prefix, config and loopback port; stopped on exit by
# az_setup's trap), which the deploy hook renders each zone's server block
# into and reloads (zones-example/hooks/nginx-deploy).
NGX=$AZ_TMP/nginx
az_nginx_up "$NGX"
NGINX_PORT=$AZ_NGINX_PORT NGINX_ARGS=$AZ_NGINX_ARGS NGINX_PID=$AZ_NGINX_PID
# served_serial ZONE: the serial of the certificate nginx serves for ZONE.
served_serial() {
    timeout 10 openssl s_client -connect "127.0.0.1:$NGINX_PORT" -servername "$1" </dev/null 2>/dev/null |
        openssl x509 -noout -serial 2>/dev/null
}
az_wait_for 30 served_serial "${ZONES[0]}" ||
    az_fail "nginx does not answer TLS on 127.0.0.1:$NGINX_PORT: $(tail -n 20 "$AZ_TMP/nginx.log")"
# assert_serves ZONE SERIAL WHAT: waits (30 s at most) for a reload under way
# to be done, then asserts the serial nginx serves for ZONE.
assert_serves() {
    local end=$((SECONDS + 30))
    until [[ $(served_serial "$1") == "$2" ]] || ((SECONDS >= end)); do sleep 0.2; done
    az_assert_eq "$2" "$(served_serial "$1")" "$3"
}

CONF=$AZ_TMP/issuer.conf
az_issuer_conf "$CONF" "${ZONES[@]}"
printf '[hooks]\ndeploy-hook = %s\nnotify-hook = %s\n' \
    "$HOOK && NGINX_SITES_DIR=$NGX/sites NGINX_LISTEN=127.0.0.1:$NGINX_PORT NGINX_TEMPLATE=$ACMEZONE_SOURCE_DIR/zones-example/hooks/nginx-site.conf.template NGINX_TEST=\"nginx -t $NGINX_ARGS\" NGINX_RELOAD=\"nginx -s reload $NGINX_ARGS\" $ACMEZONE_SOURCE_DIR/zones-example/hooks/nginx-deploy" \
    "$NOTIFY" >>"$CONF"
METRICS=$AZ_TMP/acmezone.prom
printf '[status]\nmetrics-file = %s\n' "$METRICS" >>"$CONF"
standby_present() { sed -n "s/^acmezone_standby_present{zone=\"$1\"} //p" "$METRICS"; }

# (1)
az_issuer "$CONF" run
az_assert_eq 0 "$AZ_ISSUER_RC" "live sets; stderr: $(tail -n 20 "$AZ_ISSUER_ERR")"
for z in "${ZONES[@]}"; do
    az_verify_cert "$z"
    [[ ! -e $AZ_CERTS/$z/standby ]] || az_fail "$z: a standby set without standby-directory"
done
BEFORE=$(az_live_digest)
HOOK_BEFORE=$(cat "$HOOK_LOG")
az_assert_eq 2 "$(wc -l <<<"$HOOK_BEFORE")" "the deploy hook ran once per zone"
for z in "${ZONES[@]}"; do
    assert_serves "$z" "$(openssl x509 -in "$AZ_CERTS/$z/cert.pem" -noout -serial)" "$z: nginx serves the live set"
done
az_log "(1) live sets issued by $AZ_PEBBLE_DIR"

# (2)
sed -i "/^\[acme\]/a standby-directory = $SB_DIR\nstandby-ca-file = $SB_TLS_CA\nstandby-eab-kid = kid-sb\nstandby-eab-key-file = $EAB_FILE\nstandby-rate-limits = none" "$CONF"
az_issuer "$CONF" run
err=$(cat "$AZ_ISSUER_ERR")
az_assert_eq 0 "$AZ_ISSUER_RC" "run with standby-directory; stderr: $(tail -n 30 <<<"$err")"
[[ -f $AZ_TMP/issuer-state/account-standby.key ]] || az_fail "no account key for the standby CA"
for z in "${ZONES[@]}"; do
    az_assert_contains "$err" "$z: standby set missing; ordering from $SB_DIR" "$z: standby ordered"
    az_assert_contains "$err" "$z: standby set from $SB_DIR stored" "$z: standby stored"
    d=$AZ_CERTS/$z/standby
    [[ -L $AZ_CERTS/$z/standby && -f $d/ecdsa-p256/fullchain.pem ]] || az_fail "$z: no standby set in $d"
    out=$(openssl verify -CAfile "$SB_ROOT" -untrusted "$d/ecdsa-p256/chain.pem" "$d/ecdsa-p256/cert.pem" 2>&1) ||
        az_fail "$z: the standby chain does not verify to the standby Pebble's root: $out"
    if openssl verify -CAfile "$AZ_PEBBLE_ROOT" -untrusted "$d/ecdsa-p256/chain.pem" \
        "$d/ecdsa-p256/cert.pem" >/dev/null 2>&1; then
        az_fail "$z: the standby set verifies to the live CA's root"
    fi
    az_assert_eq "$(openssl pkey -in "$d/ecdsa-p256/privkey.pem" -pubout)" \
        "$(openssl x509 -in "$d/ecdsa-p256/cert.pem" -noout -pubkey)" "$z: standby key matches"
    az_verify_cert "$z" # the live set still verifies to the live CA
done
AFTER=$(az_live_digest)
[[ $BEFORE == "$AFTER" ]] || az_fail "the live sets changed: $(diff <(echo "$BEFORE") <(echo "$AFTER"))"
az_assert_eq "$HOOK_BEFORE" "$(cat "$HOOK_LOG")" "the deploy hook did not run for a standby set"
az_issuer "$CONF" status --json
python3 - "$AZ_ISSUER_OUT" "$SB_DIR" "${ZONES[@]}" <<'PY' || az_fail "status --json: $(cat "$AZ_ISSUER_OUT")"
import json, sys
rows = {z["zone"]: z for z in json.load(open(sys.argv[1]))}
for zone in sys.argv[3:]:
    sb = rows[zone]["standby"]
    assert sb["present"] and sb["problem"] == "", sb
    assert sb["ca"] == sys.argv[2], sb
    assert sb["not_after"] and sb["renew_at"] and sb["key_types"] == ["ecdsa-p256"], sb
    assert sb["renew_basis"] == "renew-before", sb  # ARI is asked on the next pass
PY
az_issuer "$CONF" status
az_assert_contains "$(grep "^${ZONES[0]}" "$AZ_ISSUER_OUT")" "standby: $SB_DIR until" "status table"
for z in "${ZONES[@]}"; do
    az_assert_eq 1 "$(standby_present "$z")" "$z: metric acmezone_standby_present after the pass"
    grep -q "^acmezone_standby_not_after_seconds{zone=\"$z\",key_type=\"ecdsa-p256\"} " "$METRICS" ||
        az_fail "$z: no acmezone_standby_not_after_seconds: $(grep standby "$METRICS")"
done
az_log "(2) standby sets from $SB_DIR; live sets byte for byte as before; no deploy hook"

# (3)
az_issuer "$CONF" run
err=$(cat "$AZ_ISSUER_ERR")
az_assert_eq 0 "$AZ_ISSUER_RC" "third run; stderr: $(tail -n 20 <<<"$err")"
az_assert_not_contains "$err" "ordering from $SB_DIR" "nothing due: no standby order"
az_issuer "$CONF" status --json
python3 - "$AZ_ISSUER_OUT" "$SB_DIR" "$AZ_TMP/issuer-state/zones" "${ZONES[@]}" <<'PY' ||
import json, sys
rows = {z["zone"]: z for z in json.load(open(sys.argv[1]))}
for zone in sys.argv[4:]:
    sb = rows[zone]["standby"]
    assert sb["renew_basis"] == "renew-before", sb
    ari = json.load(open(sys.argv[3] + "/" + zone + ".json"))["standby"]["ari"]
    assert len(ari) == 1 and ari[0]["directory"] == sys.argv[2] and "renew_at" not in ari[0], ari
PY
    az_fail "the standby sets without ARI: $(cat "$AZ_ISSUER_OUT")"
az_log "(3) nothing due"

# (4)
rm "$AZ_CERTS/${ZONES[1]}/standby"
az_issuer "$CONF" status
az_assert_contains "$(grep "^${ZONES[1]}" "$AZ_ISSUER_OUT")" "standby missing" "status: missing"
az_issuer "$CONF" run
err=$(cat "$AZ_ISSUER_ERR")
az_assert_eq 0 "$AZ_ISSUER_RC" "run after the loss; stderr: $(tail -n 20 <<<"$err")"
az_assert_contains "$err" "${ZONES[1]}: standby set missing; ordering from $SB_DIR" "re-ordered"
az_assert_not_contains "$err" "${ZONES[0]}: standby set" "the other zone's standby is left alone"
[[ -L $AZ_CERTS/${ZONES[1]}/standby ]] || az_fail "${ZONES[1]}: no standby set again"
az_log "(4) a missing standby set is shown and ordered again"

# (5)
FIRST_DIR=$AZ_PEBBLE_DIR
FIRST_TLS_CA=$AZ_PEBBLE_TLS_CA
FIRST_ROOT=$AZ_TMP/first-root.pem # a restarted Pebble has a new root, in the same file
cp "$AZ_PEBBLE_ROOT" "$FIRST_ROOT"
declare -A WAS_LIVE STANDBY_SERIAL
for z in "${ZONES[@]}"; do
    WAS_LIVE[$z]=$(readlink "$AZ_CERTS/$z/current")
    STANDBY_SERIAL[$z]=$(openssl x509 -in "$AZ_CERTS/$z/standby/ecdsa-p256/cert.pem" -noout -serial)
    [[ ${STANDBY_SERIAL[$z]} != "$(served_serial "$z")" ]] || az_fail "$z: nginx serves the standby set before the switch"
done
az_stop_pebble
az_issuer "$CONF" switch --all
err=$(cat "$AZ_ISSUER_ERR")
az_assert_eq 0 "$AZ_ISSUER_RC" "switch --all with the live CA down; stderr: $(tail -n 20 <<<"$err")"
az_assert_contains "$err" "switch: 2 of 2 zone(s) switched in" "the switch says what it did"
for z in "${ZONES[@]}"; do
    az_assert_contains "$err" "$z: switched: the standby set" "$z switched"
    d=$AZ_CERTS/$z
    out=$(openssl verify -CAfile "$SB_ROOT" -untrusted "$d/chain.pem" "$d/cert.pem" 2>&1) ||
        az_fail "$z: the live set is not the standby CA's after the switch: $out"
    az_assert_eq "$(openssl pkey -in "$d/privkey.pem" -pubout)" \
        "$(openssl x509 -in "$d/cert.pem" -noout -pubkey)" "$z: live key matches after the switch"
    az_assert_eq "${WAS_LIVE[$z]}" "$(readlink "$d/standby")" "$z: the set that was live is the standby"
    out=$(openssl verify -CAfile "$FIRST_ROOT" -untrusted "$d/standby/chain.pem" "$d/standby/cert.pem" 2>&1) ||
        az_fail "$z: the standby set is not the first CA's after the switch: $out"
done
for z in "${ZONES[@]}"; do
    assert_serves "$z" "${STANDBY_SERIAL[$z]}" "$z: nginx serves the standby set's serial after the switch"
done
kill -0 "$NGINX_PID" 2>/dev/null || az_fail "nginx died: $(tail -n 20 "$AZ_TMP/nginx.log")"
az_assert_eq 4 "$(wc -l <"$HOOK_LOG")" "the deploy hook ran once more per zone"
az_assert_contains "$(tail -n 2 "$HOOK_LOG")" "${ZONES[1]}" "the hook ran for the second zone"
az_issuer "$CONF" status
az_assert_contains "$(grep "^${ZONES[0]}" "$AZ_ISSUER_OUT")" "live set switched to the standby CA $SB_DIR" \
    "status says the live set is the standby CA's"
az_issuer "$CONF" status --json
python3 - "$AZ_ISSUER_OUT" "$SB_DIR" "$FIRST_DIR" "${ZONES[@]}" <<'PY' || az_fail "status --json: $(cat "$AZ_ISSUER_OUT")"
import json, sys
rows = {z["zone"]: z for z in json.load(open(sys.argv[1]))}
for zone in sys.argv[4:]:
    z = rows[zone]
    assert z["ca"] == sys.argv[2] and z["ca_standby"] and not z["ca_fallback"], z
    assert z["renews_from"] == sys.argv[2], z
    assert z["standby"]["present"] and z["standby"]["ca"] == sys.argv[3], z["standby"]
    assert z["standby"]["next_from"] == sys.argv[3], z["standby"]
PY
az_log "(5) $(grep -m1 'switch: 2 of 2' <<<"$err"), live CA down; hooks ran; nginx serves ${STANDBY_SERIAL[${ZONES[0]}]} for ${ZONES[0]}"

# (6)
az_restart_pebble # the first CA is back, with a new root (in $AZ_PEBBLE_ROOT)
declare -A SB_LIVE
for z in "${ZONES[@]}"; do SB_LIVE[$z]=$(readlink "$AZ_CERTS/$z/current"); done
az_issuer "$CONF" run
err=$(cat "$AZ_ISSUER_ERR")
az_assert_eq 0 "$AZ_ISSUER_RC" "run after the switch; stderr: $(tail -n 20 <<<"$err")"
for z in "${ZONES[@]}"; do
    az_assert_contains "$err" "$z: standby set to be replaced (it was the live set until the switch" \
        "$z: a new standby set is due after the switch"
    az_assert_contains "$err" "$z: standby set from $FIRST_DIR stored" "$z: the new standby from the first CA"
    az_assert_eq "${SB_LIVE[$z]}" "$(readlink "$AZ_CERTS/$z/current")" "$z: the live set is left alone"
    d=$AZ_CERTS/$z/standby
    out=$(openssl verify -CAfile "$AZ_PEBBLE_ROOT" -untrusted "$d/chain.pem" "$d/cert.pem" 2>&1) ||
        az_fail "$z: the new standby set is not the restarted first Pebble's: $out"
    python3 - "$AZ_TMP/issuer-state/zones/$z.json" "$FIRST_DIR" "$SB_DIR" <<'PY' ||
import json, sys
s = json.load(open(sys.argv[1]))
assert s["standby"]["ca"] == sys.argv[2] and "switched_at" not in s["standby"], s
assert s["ca"] == sys.argv[3], s
PY
        az_fail "$z: zone state after the new standby: $(cat "$AZ_TMP/issuer-state/zones/$z.json")"
done
az_assert_not_contains "$err" "ordering from $SB_DIR" "no standby order from the CA now live"
az_issuer "$CONF" status
az_assert_contains "$(grep "^${ZONES[0]}" "$AZ_ISSUER_OUT")" \
    "live set switched to the standby CA $SB_DIR, renewed from it; next standby set from $FIRST_DIR" \
    "status: which CA renews what"
az_assert_contains "$(grep "^${ZONES[0]}" "$AZ_ISSUER_OUT")" "standby: $FIRST_DIR until" "standby: the first CA"
az_issuer "$CONF" issue "${ZONES[0]}" --force
err=$(cat "$AZ_ISSUER_ERR")
az_assert_eq 0 "$AZ_ISSUER_RC" "issue --force of a switched zone; stderr: $(tail -n 20 <<<"$err")"
d=$AZ_CERTS/${ZONES[0]}
[[ $(readlink "$d/current") != "${SB_LIVE[${ZONES[0]}]}" ]] || az_fail "issue --force stored no new live set"
out=$(openssl verify -CAfile "$SB_ROOT" -untrusted "$d/chain.pem" "$d/cert.pem" 2>&1) ||
    az_fail "${ZONES[0]}: the live set was not renewed from the standby CA: $out"
python3 - "$AZ_TMP/issuer-state/zones/${ZONES[0]}.json" "$SB_DIR" <<'PY' ||
import json, sys
s = json.load(open(sys.argv[1]))
assert s["ca"] == sys.argv[2], s
PY
    az_fail "the live set's CA after issue --force: $(cat "$AZ_TMP/issuer-state/zones/${ZONES[0]}.json")"
az_stop_pebble
az_issuer "$CONF" switch "${ZONES[0]}"
az_assert_eq 0 "$AZ_ISSUER_RC" "switch back one zone; stderr: $(tail -n 5 "$AZ_ISSUER_ERR")"
az_assert_contains "$(cat "$AZ_ISSUER_ERR")" "switch: 1 of 1 zone(s) switched in" "one zone switched"
openssl verify -CAfile "$AZ_PEBBLE_ROOT" -untrusted "$AZ_CERTS/${ZONES[0]}/chain.pem" \
    "$AZ_CERTS/${ZONES[0]}/cert.pem" >/dev/null 2>&1 || az_fail "${ZONES[0]} did not switch back"
openssl verify -CAfile "$SB_ROOT" -untrusted "$AZ_CERTS/${ZONES[1]}/chain.pem" \
    "$AZ_CERTS/${ZONES[1]}/cert.pem" >/dev/null 2>&1 || az_fail "${ZONES[1]} was switched too"
az_log "(6) new standby sets from the first CA, the live set renewed from the standby CA; one zone switched back without a CA"

# (7)
rm "$AZ_CERTS/${ZONES[1]}/standby"
az_issuer "$CONF" switch --all
az_assert_eq 1 "$AZ_ISSUER_RC" "switch with a zone lacking its standby set"
az_assert_contains "$(cat "$AZ_ISSUER_ERR")" "${ZONES[1]}: not switched: ${ZONES[1]}: no standby set in" \
    "the zone without a standby set is named"
az_log "(7) a zone without a standby set is not switched, exit 1"

# (8) Both zones are live from the standby CA, so their standby sets come from
# the first Pebble, which is stopped.
az_issuer "$CONF" run
err=$(cat "$AZ_ISSUER_ERR")
az_assert_eq 1 "$AZ_ISSUER_RC" "run with the first CA down; stderr: $(tail -n 20 <<<"$err")"
az_assert_contains "$err" "${ZONES[1]}: standby set missing; ordering from $FIRST_DIR" "ordered"
az_assert_contains "$err" "standby: ${ZONES[1]}: CA $FIRST_DIR" "the failure names the CA"
az_assert_eq 1 "$(grep -c "^standby-missing ${ZONES[1]} " "$NOTIFY_LOG")" "standby-missing notified"
az_assert_eq 0 "$(standby_present "${ZONES[1]}")" "metric: ${ZONES[1]} has no standby set"
az_assert_eq 1 "$(standby_present "${ZONES[0]}")" "metric: ${ZONES[0]} has its standby set"
python3 - "$(grep "^standby-missing " "$NOTIFY_LOG")" "${ZONES[1]}" "$FIRST_DIR" <<'PY' ||
import json, sys
doc = json.loads(sys.argv[1].split(" ", 2)[2])
assert doc["event"] == "standby-missing" and doc["zone"] == sys.argv[2], doc
assert sys.argv[3] in doc["error"] and doc["not_after"], doc
PY
    az_fail "the standby-missing document: $(cat "$NOTIFY_LOG")"
az_issuer "$CONF" status
az_assert_eq 0 "$AZ_ISSUER_RC" "status within standby-grace (1d): $(cat "$AZ_ISSUER_OUT")"
az_assert_contains "$(grep "^${ZONES[1]}" "$AZ_ISSUER_OUT")" "standby missing since" "status: since when"
sed -i "/^\[acme\]/a standby-grace = 0" "$CONF"
az_issuer "$CONF" status
az_assert_eq 1 "$AZ_ISSUER_RC" "status past standby-grace: $(cat "$AZ_ISSUER_OUT")"
az_issuer "$CONF" status --json
python3 - "$AZ_ISSUER_OUT" "${ZONES[1]}" <<'PY' || az_fail "status --json: $(cat "$AZ_ISSUER_OUT")"
import json, sys
rows = {z["zone"]: z for z in json.load(open(sys.argv[1]))}
assert rows[sys.argv[2]]["standby"]["missing_since"], rows[sys.argv[2]]
PY
az_issuer "$CONF" run
az_assert_eq 1 "$(grep -c "^standby-missing " "$NOTIFY_LOG")" "standby-missing is sent once"
az_assert_eq 4 "$(grep -c "^switched " "$NOTIFY_LOG")" "switched: each zone switched in (5), (6) and (7)"
az_assert_eq 0 "$(grep -c "^standby-missing ${ZONES[0]} " "$NOTIFY_LOG")" "not for a zone with its set"
az_log "(8) standby-missing notified once; switched notified per zone"
az_log "PASS"
