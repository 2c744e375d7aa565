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
#   (3) run again: nothing is due, no standby order is placed
#   (4) a zone whose standby set is gone: status says "standby missing", and
#       the next run orders it again (and only it)
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pebble.sh"
source "$(dirname "$0")/issuer_lib.sh"
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
chmod 0755 "$HOOK"

CONF=$AZ_TMP/issuer.conf
az_issuer_conf "$CONF" "${ZONES[@]}"
printf '[hooks]\ndeploy-hook = %s\n' "$HOOK" >>"$CONF"

# What the live sets are: for every zone, each path but the standby link and
# the version it names, with its type, link target, mode and content digest.
live_digest() {
    python3 - "$AZ_CERTS" <<'PY'
import hashlib, os, sys
root = sys.argv[1]
for zone in sorted(os.listdir(root)):
    zdir = os.path.join(root, zone)
    standby = os.readlink(os.path.join(zdir, "standby")) if os.path.islink(os.path.join(zdir, "standby")) else None
    for dirpath, dirs, files in os.walk(zdir):
        rel = os.path.relpath(dirpath, zdir)
        if standby and (rel == standby or rel.startswith(standby + "/")):
            continue
        for name in sorted(dirs + files):
            p = os.path.join(dirpath, name)
            r = os.path.relpath(p, root)
            if name == "standby" and dirpath == zdir or name == ".lock":
                continue
            if standby and dirpath == zdir and name == standby:
                continue
            st = os.lstat(p)
            if os.path.islink(p):
                print(r, "link", os.readlink(p))
            elif os.path.isdir(p):
                print(r, "dir", oct(st.st_mode & 0o777))
            else:
                print(r, "file", oct(st.st_mode & 0o777), hashlib.sha256(open(p, "rb").read()).hexdigest())
PY
}

# (1)
az_issuer "$CONF" run
az_assert_eq 0 "$AZ_ISSUER_RC" "live sets; stderr: $(tail -n 20 "$AZ_ISSUER_ERR")"
for z in "${ZONES[@]}"; do
    az_verify_cert "$z"
    [[ ! -e $AZ_CERTS/$z/standby ]] || az_fail "$z: a standby set without standby-directory"
done
BEFORE=$(live_digest)
HOOK_BEFORE=$(cat "$HOOK_LOG")
az_assert_eq 2 "$(wc -l <<<"$HOOK_BEFORE")" "the deploy hook ran once per zone"
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
AFTER=$(live_digest)
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
PY
az_issuer "$CONF" status
az_assert_contains "$(grep "^${ZONES[0]}" "$AZ_ISSUER_OUT")" "standby: $SB_DIR until" "status table"
az_log "(2) standby sets from $SB_DIR; live sets byte for byte as before; no deploy hook"

# (3)
az_issuer "$CONF" run
err=$(cat "$AZ_ISSUER_ERR")
az_assert_eq 0 "$AZ_ISSUER_RC" "third run; stderr: $(tail -n 20 <<<"$err")"
az_assert_not_contains "$err" "ordering from $SB_DIR" "nothing due: no standby order"
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
az_log "PASS"
