#!/usr/bin/env bash
# The control socket, end to end: a real named loads acmezone_dlz.so; real
# nsupdate (-y and -k, UDP and TCP, IPv4 and IPv6) writes through the
# control socket and dig reads what named serves. Faults nsupdate cannot
# make (stale time signed, truncated MAC) come from send_update
# (send_update.cpp), which also reports the exact TSIG error.
#   - SOA queries to the control socket (how nsupdate/certbot find the zone)
#   - add two values at one name, see both; delete one; delete the set
#   - unknown key → NOTAUTH/BADKEY; wrong secret → NOTAUTH/BADSIG; stale
#     time → NOTAUTH/BADTIME, signed, with the server's time; truncated MAC
#     → BADTRUNC / FORMERR; unsigned → REFUSED; name outside the key's
#     grant → REFUSED; non-TXT → REFUSED; after each, dig shows the served
#     records and the SOA serial unchanged
#   - the refusal is logged naming key and name; no secret is ever logged
# NOTIFY → secondary AXFR is covered by test_plugin_serving.sh.
source "$(dirname "$0")/lib.sh"
az_setup

SEND_UPDATE=${ACMEZONE_SEND_UPDATE:-$ACMEZONE_BUILD_DIR/tests/integration/send_update}
[[ -x $SEND_UPDATE ]] || az_fail "send_update not built: $SEND_UPDATE"

CHPORT=$(az_free_port)
AZ_PLUGIN_CONTROL_EXTRA="listen = [::1]:$CHPORT
grant = lab-key name _acme-challenge.www.example.com
grant = k384 zonesub example.com"
az_plugin_setup example.com
# More keys in the plugin's keyring: lab-key (one name) and an HMAC-SHA384
# key used through nsupdate -k.
az_keygen lab-key "$AZ_TMP/lab.key"
az_keygen k384 "$AZ_TMP/k384.key" hmac-sha384
cat "$AZ_TMP/lab.key" "$AZ_TMP/k384.key" >>"$AZ_KEY_FILE"
LAB_SECRET=$(az_key_secret "$AZ_TMP/lab.key")
K384_SECRET=$(az_key_secret "$AZ_TMP/k384.key")
az_start_named "$AZ_PLUGIN_FRAGMENT"
CTL=127.0.0.1:$AZ_CONTROL_PORT
NAME=_acme-challenge.example.com

ctl_dig() { dig @127.0.0.1 -p "$AZ_CONTROL_PORT" +time=2 +tries=1 "$@"; }
az_wait_for 20 ctl_dig +norec "$NAME" SOA || az_fail "control socket does not answer on $CTL"

# Served TXT values at a name, sorted, on one line.
served() { az_dig +short "$1" TXT | sort | tr '\n' ' ' | sed 's/ $//'; }
# nsupdate reading its commands from stdin; output kept in $OUT.
nsup() {
    local rc=0
    OUT=$(nsupdate -t 5 "$@" 2>&1) || rc=$?
    return $rc
}
ACME_Y="hmac-sha256:acme-key:$AZ_KEY_SECRET"
SERVER="server 127.0.0.1 $AZ_CONTROL_PORT"

az_log "SOA queries to the control socket: authoritative, RD clear, UDP and TCP"
for tcp in +notcp +tcp; do
    soa=$(ctl_dig +norec $tcp "$NAME" SOA)
    az_assert_contains "$soa" "status: NOERROR" "SOA query ($tcp)"
    az_assert_contains "$soa" "flags: qr aa" "SOA answer has AA ($tcp)"
    az_assert_contains "$soa" "ns1.example.com. hostmaster.example.com." "SOA fields ($tcp)"
done
az_assert_contains "$(ctl_dig +norec example.org SOA)" "status: REFUSED" "SOA of a foreign name"
# certbot-dns-rfc2136 signs its SOA queries (TCP, RD clear) and checks the answer's TSIG.
soa=$(ctl_dig +norec +tcp -y "hmac-sha256:acme-key:$AZ_KEY_SECRET" "$NAME" SOA)
az_assert_contains "$soa" "flags: qr aa" "signed SOA query"
az_assert_contains "$soa" "TSIG	hmac-sha256." "signed SOA answer carries a TSIG"
az_assert_not_contains "$soa" "Couldn't verify" "dig verifies the signed SOA answer"
az_assert_not_contains "$soa" "WARNING" "dig verifies the signed SOA answer"

az_log "nsupdate -y, no zone line: two values at one name, both served, TTL from the config"
printf '%s\n' "$SERVER" "update add $NAME 3600 TXT \"apex-token\"" \
    "update add $NAME 3600 TXT \"wildcard-token\"" send >"$AZ_TMP/add.txt"
nsup -y "$ACME_Y" <"$AZ_TMP/add.txt" || az_fail "nsupdate add failed: $OUT"
# nsupdate verifies the answer's TSIG and says so when it is wrong.
az_assert_not_contains "$OUT" "TSIG" "nsupdate -y accepts the signed answer"
az_assert_eq '"apex-token" "wildcard-token"' "$(served $NAME)" "both values after add"
ttl=$(az_dig +noall +answer "$NAME" TXT | awk '{print $2}' | sort -u)
az_assert_eq "0" "$ttl" "served TTL is the config's, not nsupdate's"

az_log "nsupdate -k (HMAC-SHA384 key file) over TCP: delete one value"
printf '%s\n' "$SERVER" "update delete $NAME TXT \"apex-token\"" send >"$AZ_TMP/del1.txt"
nsup -v -k "$AZ_TMP/k384.key" <"$AZ_TMP/del1.txt" || az_fail "nsupdate -k delete failed: $OUT"
az_assert_not_contains "$OUT" "TSIG" "nsupdate -k accepts the signed answer"
az_assert_eq '"wildcard-token"' "$(served $NAME)" "one value left after delete"

az_log "nsupdate over IPv6: delete the TXT set"
printf '%s\n' "server ::1 $CHPORT" "zone example.com" "update delete $NAME TXT" send \
    >"$AZ_TMP/delset.txt"
nsup -y "$ACME_Y" <"$AZ_TMP/delset.txt" || az_fail "nsupdate over ::1 failed: $OUT"
az_assert_eq "" "$(served $NAME)" "no value after deleting the set"

printf '%s\n' "$SERVER" "update add $NAME 60 TXT \"baseline\"" send >"$AZ_TMP/base.txt"
nsup -y "$ACME_Y" <"$AZ_TMP/base.txt" || az_fail "baseline add failed: $OUT"
BASE='"baseline"'
az_assert_eq "$BASE" "$(served $NAME)" "baseline"
serial() { az_dig +short "$NAME" SOA | awk '{print $3}'; }
SERIAL=$(serial)
[[ $SERIAL =~ ^[0-9]+$ ]] || az_fail "no SOA serial from named: [$SERIAL]"
unchanged() {
    az_assert_eq "$BASE" "$(served $NAME)" "$1: served values unchanged"
    az_assert_eq "$SERIAL" "$(serial)" "$1: serial unchanged"
}
printf '%s\n' "$SERVER" "update add $NAME 60 TXT \"intruder\"" send >"$AZ_TMP/intrude.txt"

az_log "unknown key → NOTAUTH (BADKEY), nothing changes"
if nsup -y "hmac-sha256:no-such-key:$AZ_KEY_SECRET" <"$AZ_TMP/intrude.txt"; then
    az_fail "unknown key accepted: $OUT"
fi
az_assert_contains "$OUT" "NOTAUTH" "nsupdate with an unknown key"
unchanged "unknown key"
got=$("$SEND_UPDATE" "$CTL" no-such-key hmac-sha256 "$AZ_KEY_SECRET" example.com "$NAME" x)
az_assert_eq "rcode=NOTAUTH tsig_error=BADKEY answer_mac=none" "$got" "send_update, unknown key"
got=$("$SEND_UPDATE" "$CTL" acme-key hmac-sha512 "$AZ_KEY_SECRET" example.com "$NAME" x)
az_assert_eq "rcode=NOTAUTH tsig_error=BADKEY answer_mac=none" "$got" "send_update, wrong algorithm"

az_log "wrong secret → NOTAUTH (BADSIG), nothing changes"
WRONG=$(head -c 32 /dev/urandom | base64)
if nsup -y "hmac-sha256:acme-key:$WRONG" <"$AZ_TMP/intrude.txt"; then
    az_fail "wrong secret accepted: $OUT"
fi
az_assert_contains "$OUT" "NOTAUTH" "nsupdate with a wrong secret"
unchanged "wrong secret"
got=$("$SEND_UPDATE" "$CTL" acme-key hmac-sha256 "$WRONG" example.com "$NAME" x)
az_assert_eq "rcode=NOTAUTH tsig_error=BADSIG answer_mac=none" "$got" "send_update, wrong secret"

az_log "stale time signed → NOTAUTH (BADTIME), signed, server time in Other Data"
got=$("$SEND_UPDATE" "$CTL" acme-key hmac-sha256 "$AZ_KEY_SECRET" example.com "$NAME" stale \
    --time-offset -400)
[[ $got =~ ^rcode=NOTAUTH\ tsig_error=BADTIME\ answer_mac=valid\ other_time_delta=40[0-9]$ ]] ||
    az_fail "send_update, time signed 400 s ago: got [$got]"
got=$("$SEND_UPDATE" "$CTL" acme-key hmac-sha256 "$AZ_KEY_SECRET" example.com "$NAME" future \
    --time-offset 400)
[[ $got =~ ^rcode=NOTAUTH\ tsig_error=BADTIME\ answer_mac=valid\ other_time_delta=-(39[0-9]|400)$ ]] ||
    az_fail "send_update, time signed 400 s ahead: got [$got]"
unchanged "stale time"

az_log "truncated MAC → BADTRUNC (allowed length) or FORMERR (too short)"
got=$("$SEND_UPDATE" "$CTL" acme-key hmac-sha256 "$AZ_KEY_SECRET" example.com "$NAME" trunc \
    --mac-length 16)
az_assert_eq "rcode=NOTAUTH tsig_error=BADTRUNC answer_mac=valid" "$got" "MAC of 16 octets"
got=$("$SEND_UPDATE" "$CTL" acme-key hmac-sha256 "$AZ_KEY_SECRET" example.com "$NAME" short \
    --mac-length 8)
az_assert_eq "rcode=FORMERR tsig_error=none answer_mac=none" "$got" "MAC of 8 octets"
unchanged "truncated MACs"

# The same tool with nothing wrong succeeds: the faults above are the only difference.
got=$("$SEND_UPDATE" "$CTL" acme-key hmac-sha256 "$AZ_KEY_SECRET" example.com "$NAME" fine)
az_assert_eq "rcode=NOERROR tsig_error=NOERROR answer_mac=valid" "$got" "send_update, good request"
az_assert_eq '"baseline" "fine"' "$(served $NAME)" "send_update's good request is served"
printf '%s\n' "$SERVER" "update delete $NAME TXT \"fine\"" send >"$AZ_TMP/fine.txt"
nsup -y "$ACME_Y" <"$AZ_TMP/fine.txt" || az_fail "removing 'fine' failed: $OUT"
SERIAL=$(serial)
unchanged "after removing 'fine'"

az_log "unsigned UPDATE → REFUSED"
printf '%s\n' "$SERVER" "zone example.com" "update add $NAME 60 TXT \"unsigned\"" send \
    >"$AZ_TMP/unsigned.txt"
if nsup <"$AZ_TMP/unsigned.txt"; then az_fail "unsigned update accepted: $OUT"; fi
az_assert_contains "$OUT" "REFUSED" "nsupdate without a key"
unchanged "unsigned"

az_log "name outside the key's grant → REFUSED, logged with key and name"
printf '%s\n' "$SERVER" "update add $NAME 60 TXT \"not-yours\"" send >"$AZ_TMP/scope.txt"
if nsup -y "hmac-sha256:lab-key:$LAB_SECRET" <"$AZ_TMP/scope.txt"; then
    az_fail "out-of-scope update accepted: $OUT"
fi
az_assert_contains "$OUT" "REFUSED" "lab-key writing $NAME"
unchanged "out of scope"
az_wait_for 5 grep -q "key lab-key is not granted $NAME" "$AZ_NAMED_LOG" ||
    az_fail "no log line naming lab-key and $NAME in $AZ_NAMED_LOG"
printf '%s\n' "$SERVER" "update add _acme-challenge.www.example.com 60 TXT \"lab\"" send \
    >"$AZ_TMP/lab.txt"
nsup -y "hmac-sha256:lab-key:$LAB_SECRET" <"$AZ_TMP/lab.txt" || az_fail "lab-key, own name: $OUT"
az_assert_eq '"lab"' "$(served _acme-challenge.www.example.com)" "lab-key's own name"
SERIAL=$(serial)

az_log "non-TXT → REFUSED"
# (check-names off: nsupdate itself refuses an A record at an _ name otherwise)
printf '%s\n' "$SERVER" "check-names off" "update add $NAME 60 A 192.0.2.1" send >"$AZ_TMP/a.txt"
if nsup -y "$ACME_Y" <"$AZ_TMP/a.txt"; then az_fail "A record accepted: $OUT"; fi
az_assert_contains "$OUT" "REFUSED" "adding an A record"
unchanged "non-TXT"
az_assert_eq "" "$(az_dig +short "$NAME" A)" "no A record served"

az_log "no secret in named's log"
for s in "$AZ_KEY_SECRET" "$LAB_SECRET" "$K384_SECRET" "$WRONG"; do
    if grep -qF -- "$s" "$AZ_NAMED_LOG"; then
        az_fail "a TSIG secret appears in $AZ_NAMED_LOG"
    fi
done
az_named_alive || az_fail "named died during the test"
az_log "PASS"
