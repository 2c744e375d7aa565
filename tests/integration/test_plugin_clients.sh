#!/usr/bin/env bash
# The RFC 2136 clients the README names, each writing through the control
# socket of a real named with the plugin:
#   test_plugin_clients.sh knsupdate
#       knsupdate (Knot) -y hmac-sha256:KEY:SECRET, `zone` set before every
#       `send`: two values added at one name (two sends) are both served by
#       named; one deleted (over TCP), the other stays; a wrong secret and an
#       unknown key are refused (knsupdate exits non-zero; BADSIG, BADKEY) and change
#       neither the served values nor the SOA serial.
#   test_plugin_clients.sh certbot
#       certbot certonly --dns-rfc2136 against Pebble, {Z, *.Z}.
#   test_plugin_clients.sh lego
#       lego --dns rfc2136 against Pebble, {Z, *.Z} (--dns.disable-cp: lego's
#       own propagation check asks the zone's NS host by name on port 53).
# For certbot and lego: the certificate verifies against Pebble's root with
# exactly the names {Z, *.Z}; Pebble reuses no authorization, so it validated
# both, reading both values from named; the plugin's journal (printed by
# journal_dump, the plugin's own decoder) shows the two values the client
# held at _acme-challenge.Z, and that the client deleted them; afterwards
# named serves no TXT there. The probe that finds "no TXT" is first shown to
# see a value at that name (a marker added and deleted with nsupdate).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pebble.sh"
source "$(dirname "$0")/issuer_lib.sh"
az_setup

CLIENT=${1:-}
JOURNAL_DUMP=${ACMEZONE_JOURNAL_DUMP:-$ACMEZONE_BUILD_DIR/tests/integration/journal_dump}
# A client gets this long to finish (it waits on Pebble and named, both under load).
CLIENT_LIMIT=${AZ_CLIENT_LIMIT:-300}

case $CLIENT in
    knsupdate) need=knsupdate ZONE=example.com ;;
    certbot) need=certbot ZONE=certbot.example.org ;;
    lego) need=lego ZONE=lego.example.org ;;
    *) az_fail "usage: test_plugin_clients.sh knsupdate|certbot|lego (got '$CLIENT')" ;;
esac
command -v "$need" >/dev/null ||
    az_fail "$need is not installed (scripts/bootstrap installs knot-dnsutils, certbot, python3-certbot-dns-rfc2136, lego)"
NAME=_acme-challenge.$ZONE

az_plugin_setup "$ZONE"
az_start_named "$AZ_PLUGIN_FRAGMENT"
az_wait_for 30 dig @127.0.0.1 -p "$AZ_CONTROL_PORT" +time=2 +tries=1 +norec "$NAME" SOA ||
    az_fail "control socket does not answer on 127.0.0.1:$AZ_CONTROL_PORT"

# Served TXT values at a name, sorted, on one line.
served() { az_dig +short "$1" TXT | sort | tr '\n' ' ' | sed 's/ $//'; }
serial() { az_dig +short "$NAME" SOA | awk '{print $3}'; }

# ---- knsupdate -------------------------------------------------------------------
# knsup ARGS... < commands: knsupdate (bounded), its output in $OUT
knsup() {
    local rc=0
    OUT=$(timeout 60 knsupdate -t 10 "$@" 2>&1) || rc=$?
    return $rc
}

run_knsupdate() {
    local y="hmac-sha256:$AZ_KEY_NAME:$AZ_KEY_SECRET" srv="server 127.0.0.1 $AZ_CONTROL_PORT"
    az_assert_eq "" "$(served "$NAME")" "no value before the first UPDATE"

    az_log "knsupdate -y (UDP): two values at $NAME, one send each, zone set before each"
    printf '%s\n' "$srv" "zone $ZONE." "update add $NAME. 60 TXT \"value-one\"" send \
        "zone $ZONE." "update add $NAME. 60 TXT \"value-two\"" send >"$AZ_TMP/kn-add.txt"
    knsup -y "$y" "$AZ_TMP/kn-add.txt" || az_fail "knsupdate add failed (exit $?): $OUT"
    az_assert_eq '"value-one" "value-two"' "$(served "$NAME")" "named serves both values after knsupdate add"

    az_log "knsupdate -y -v (TCP): delete one value, the other stays"
    printf '%s\n' "$srv" "zone $ZONE." "update delete $NAME. TXT \"value-one\"" send \
        >"$AZ_TMP/kn-del.txt"
    knsup -v -y "$y" "$AZ_TMP/kn-del.txt" || az_fail "knsupdate delete failed (exit $?): $OUT"
    az_assert_eq '"value-two"' "$(served "$NAME")" "one value left after knsupdate delete"

    local before wrong
    before=$(serial)
    [[ $before =~ ^[0-9]+$ ]] || az_fail "no SOA serial from named: [$before]"
    printf '%s\n' "$srv" "zone $ZONE." "update add $NAME. 60 TXT \"intruder\"" \
        "update delete $NAME. TXT \"value-two\"" send answer >"$AZ_TMP/kn-bad.txt"
    wrong=$(head -c 32 /dev/urandom | base64)
    az_log "knsupdate with a wrong secret: refused (NOTAUTH), nothing changes"
    if knsup -y "hmac-sha256:$AZ_KEY_NAME:$wrong" "$AZ_TMP/kn-bad.txt"; then
        az_fail "knsupdate with a wrong secret succeeded: $OUT"
    fi
    # The answer is NOTAUTH with the TSIG error BADSIG (unsigned: the client's
    # key is not trusted), which knsupdate shows as the status.
    az_assert_contains "$OUT" "status: BADSIG" "knsupdate's answer for a wrong secret"
    az_assert_eq '"value-two"' "$(served "$NAME")" "served values after the wrong secret"
    az_assert_eq "$before" "$(serial)" "SOA serial after the wrong secret"
    az_log "knsupdate with an unknown key: refused (NOTAUTH), nothing changes"
    if knsup -y "hmac-sha256:no-such-key:$AZ_KEY_SECRET" "$AZ_TMP/kn-bad.txt"; then
        az_fail "knsupdate with an unknown key succeeded: $OUT"
    fi
    az_assert_contains "$OUT" "status: BADKEY" "knsupdate's answer for an unknown key"
    az_assert_eq '"value-two"' "$(served "$NAME")" "served values after the unknown key"
    az_assert_eq "$before" "$(serial)" "SOA serial after the unknown key"
    az_assert_contains "$(grep 'acmezone: control socket' "$AZ_NAMED_LOG")" \
        "NOTAUTH: unknown key no-such-key" "named's log names the refused key"
}

# ---- certbot and lego against Pebble -------------------------------------------------
run_certbot() {
    local ini=$AZ_TMP/certbot-rfc2136.ini cb=$AZ_TMP/certbot rc=0
    (
        umask 077
        printf '%s\n' "dns_rfc2136_server = 127.0.0.1" "dns_rfc2136_port = $AZ_CONTROL_PORT" \
            "dns_rfc2136_name = $AZ_KEY_NAME" "dns_rfc2136_secret = $AZ_KEY_SECRET" \
            "dns_rfc2136_algorithm = HMAC-SHA256" >"$ini"
    )
    az_log "certbot certonly --dns-rfc2136 for {$ZONE, *.$ZONE}"
    # propagation-seconds 0: certbot's default waits 60 s before asking the CA;
    # the plugin serves a value once it answered the UPDATE.
    REQUESTS_CA_BUNDLE=$AZ_PEBBLE_TLS_CA timeout -k 5 "$CLIENT_LIMIT" certbot certonly -n \
        --agree-tos --no-eff-email -m hostmaster@example.org --server "$AZ_PEBBLE_DIR" \
        --config-dir "$cb/config" --work-dir "$cb/work" --logs-dir "$cb/logs" \
        --dns-rfc2136 --dns-rfc2136-credentials "$ini" --dns-rfc2136-propagation-seconds 0 \
        --key-type ecdsa --elliptic-curve secp256r1 --cert-name "$ZONE" -d "$ZONE" -d "*.$ZONE" \
        >"$AZ_TMP/certbot.log" 2>&1 </dev/null || rc=$?
    ((rc == 0)) || az_fail "certbot exited $rc: $(tail -n 20 "$AZ_TMP/certbot.log")
-- last lines of certbot's own log:
$(tail -n 20 "$cb/logs/letsencrypt.log" 2>/dev/null)"
    AZ_CERTS=$cb/config/live
}

run_lego() {
    local lg=$AZ_TMP/lego rc=0 d
    az_log "lego --dns rfc2136 for {$ZONE, *.$ZONE}"
    # --dns.resolvers: lego finds the zone by an SOA query there (named);
    # --dns.disable-cp: its propagation check asks the zone's NS host by name
    # on port 53, which a loopback test cannot offer.
    LEGO_CA_CERTIFICATES=$AZ_PEBBLE_TLS_CA RFC2136_NAMESERVER=127.0.0.1:$AZ_CONTROL_PORT \
        RFC2136_TSIG_ALGORITHM=hmac-sha256. RFC2136_TSIG_KEY=$AZ_KEY_NAME \
        RFC2136_TSIG_SECRET=$AZ_KEY_SECRET RFC2136_SEQUENCE_INTERVAL=0 RFC2136_TTL=0 \
        timeout -k 5 "$CLIENT_LIMIT" lego --accept-tos --email hostmaster@example.org \
        --server "$AZ_PEBBLE_DIR" --path "$lg" --key-type ec256 --dns rfc2136 \
        --dns.resolvers "127.0.0.1:$AZ_NAMED_PORT" --dns.disable-cp -d "$ZONE" -d "*.$ZONE" run \
        >"$AZ_TMP/lego.log" 2>&1 </dev/null || rc=$?
    ((rc == 0)) || az_fail "lego exited $rc: $(tail -n 20 "$AZ_TMP/lego.log")"
    # lego's files, laid out as az_verify_cert reads them: NAME.crt is the
    # certificate and its issuer, NAME.issuer.crt the issuer, NAME.key the key.
    AZ_CERTS=$AZ_TMP/lego-certs
    d=$AZ_CERTS/$ZONE
    mkdir -p "$d"
    [[ -f $lg/certificates/$ZONE.crt ]] || az_fail "lego wrote no $lg/certificates/$ZONE.crt"
    openssl x509 -in "$lg/certificates/$ZONE.crt" -out "$d/cert.pem"
    ln -s "$lg/certificates/$ZONE.issuer.crt" "$d/chain.pem"
    ln -s "$lg/certificates/$ZONE.crt" "$d/fullchain.pem"
    ln -s "$lg/certificates/$ZONE.key" "$d/privkey.pem"
}

run_acme_client() {
    [[ -x $JOURNAL_DUMP ]] || az_fail "journal_dump not built: $JOURNAL_DUMP"
    # Every order validates both authorizations (no reuse); no badNonce
    # retries (this test is about the DNS side, not the client's retries).
    PEBBLE_AUTHZREUSE=0 PEBBLE_WFE_NONCEREJECT=0 az_start_pebble "$AZ_NAMED_PORT"

    # The probe below must be able to see a value at $NAME: a marker, added
    # and deleted (nsupdate), is seen and then gone.
    az_nsupdate "update add $NAME 60 TXT \"marker\"" || az_fail "nsupdate could not add the marker"
    az_assert_eq '"marker"' "$(served "$NAME")" "the marker is served at $NAME"
    az_nsupdate "update delete $NAME TXT" || az_fail "nsupdate could not delete the marker"
    az_assert_eq "" "$(served "$NAME")" "no value at $NAME before $CLIENT runs"
    local marker_serial
    "$JOURNAL_DUMP" "$AZ_TMP/plugin-state/journal" >"$AZ_TMP/journal-before.txt" ||
        az_fail "journal_dump failed on $AZ_TMP/plugin-state/journal"
    marker_serial=$(awk 'END { print $1 }' "$AZ_TMP/journal-before.txt")
    [[ $marker_serial =~ ^[0-9]+$ ]] || az_fail "no journal record of the marker: [$marker_serial]"

    "run_$CLIENT"

    # Pebble validated both names (no authorization reused): the certificate
    # names them, and chains to Pebble's root.
    az_verify_cert "$ZONE"
    # The values the client held at $NAME, after the marker's records.
    local values last
    "$JOURNAL_DUMP" "$AZ_TMP/plugin-state/journal" >"$AZ_TMP/journal-all.txt" ||
        az_fail "journal_dump failed on $AZ_TMP/plugin-state/journal"
    awk -v s="$marker_serial" '$1 + 0 > s + 0' "$AZ_TMP/journal-all.txt" >"$AZ_TMP/journal.txt"
    values=$(awk -v n="$NAME" '$2 == n { for (i = 3; i <= NF; i++) print $i }' \
        "$AZ_TMP/journal.txt" | sort -u)
    az_log "values $CLIENT held at $NAME (plugin journal): $(tr '\n' ' ' <<<"$values")"
    az_assert_eq 2 "$(grep -cE '^"[A-Za-z0-9_-]{43}"$' <<<"$values")" \
        "$CLIENT's two dns-01 values (43 base64url characters each) in the plugin's journal at $NAME; journal: $(cat "$AZ_TMP/journal.txt")"
    az_assert_eq 2 "$(grep -c . <<<"$values")" "values at $NAME in the journal, all of them: $values"
    last=$(awk -v n="$NAME" '$2 == n { last = $0 } END { print last }' "$AZ_TMP/journal.txt")
    [[ $last =~ ^[0-9]+\ $NAME$ ]] ||
        az_fail "$CLIENT did not delete its values: the journal's last record of $NAME is [$last]"
    az_assert_no_txt "$NAME"
    az_assert_eq "" "$(served "$NAME")" "no TXT value left at $NAME after $CLIENT"
}

if [[ $CLIENT == knsupdate ]]; then
    run_knsupdate
else
    run_acme_client
fi
az_named_alive || az_fail "named died"
az_log "PASS: $CLIENT"
