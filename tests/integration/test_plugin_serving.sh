#!/usr/bin/env bash
# The plugin inside a real named 9.18, written through its real control
# socket with nsupdate, read with dig:
#   - findzonedb claims only _acme-challenge names and challenge-zones; a
#     native zone in the same named is unaffected, and its
#     _acme-challenge name is answered by the plugin (longest match)
#   - two TXT values at one name; quoting of '"', '\' and spaces
#   - SOA/NS at the apex; NODATA vs NXDOMAIN exactly, with the SOA in the
#     authority section and a TTL no longer than `ttl`; empty non-terminals
#   - the serial grows with each change
#   - two views share one core (one control socket, the same records)
#   - a secondary named gets a challenge zone by AXFR, and again after NOTIFY;
#     allow-transfer still decides who may transfer
#   - restart, kill -9 and rndc reload keep acknowledged values, and the
#     control socket works after a reload
#   - values expire after `lifetime`
source "$(dirname "$0")/lib.sh"
az_setup

TTL=2
az_reserve_named_port sec
SEC_PORT=$(az_named_port sec)
AZ_PLUGIN_TTL=$TTL
AZ_PLUGIN_EXTRA="challenge-zone = acme.example.net
nameserver = ns2.example.com"
AZ_PLUGIN_CONTROL_EXTRA="grant = acme-key zonesub acme.example.net
notify = 127.0.0.1:$SEC_PORT"
az_plugin_setup example.com

# The native zone, with a decoy the plugin must shadow.
cat >"$AZ_TMP/example.com.zone" <<ZONE
\$TTL 300
@ IN SOA ns1.example.com. hostmaster.example.com. 7 3600 600 86400 300
@ IN NS ns1.example.com.
ns1 IN A 127.0.0.1
www IN A 192.0.2.80
_acme-challenge IN TXT "native-decoy"
ZONE

# Two views (127.0.0.1 and ::1), each with the plugin and the native zone.
cat >"$AZ_TMP/primary.conf" <<CONF
view "v4" {
    match-clients { 127.0.0.1; };
    allow-transfer { 127.0.0.1; };
    dlz "acmezone" { database "dlopen $ACMEZONE_PLUGIN $AZ_PLUGIN_CONF"; };
    zone "example.com" { type primary; file "$AZ_TMP/example.com.zone"; };
};
view "v6" {
    match-clients { ::1; };
    allow-transfer { none; };
    dlz "acmezone" { database "dlopen $ACMEZONE_PLUGIN $AZ_PLUGIN_CONF"; };
    zone "example.com" { type primary; file "$AZ_TMP/example.com.zone"; };
};
CONF
az_start_named "$AZ_TMP/primary.conf"
PORT=$AZ_NAMED_PORT

status() { az_dig "$@" | sed -n 's/.*status: \([A-Z]*\),.*/\1/p'; }
answer() { az_dig +short "$@" | sort | tr '\n' ' ' | sed 's/ $//'; }
answer6() {
    dig @::1 -p "$PORT" +norec +time=2 +tries=1 +short "$@" | sort | tr '\n' ' ' | sed 's/ $//'
}
ancount() { az_dig "$@" | sed -n 's/.*ANSWER: \([0-9]*\),.*/\1/p'; }
# "<owner> <ttl>" of the SOA in the authority section.
authority_soa() { az_dig +noall +authority "$@" | awk '$4 == "SOA" { print $1, $2 }'; }
serial() { az_dig +short "$1" SOA | awk '{ print $3 }'; }
update() { az_nsupdate "$@" || az_fail "nsupdate refused: $*"; }

CH=_acme-challenge.example.com

az_log "claims: only _acme-challenge names and the challenge-zone"
az_assert_eq "192.0.2.80" "$(answer www.example.com A)" "native www.example.com"
az_assert_eq "ns1.example.com. hostmaster.example.com. 7 3600 600 86400 300" \
    "$(answer example.com SOA)" "native example.com SOA"
az_assert_eq REFUSED "$(status _acme-challenge.example.org TXT)" "an unclaimed name"
az_assert_eq REFUSED "$(status acme.example.org SOA)" "an unclaimed zone"

az_log "escaped names: named's presentation format is parsed, a label holding '.' is one label"
# _acme-challenge.x\.example.com lies under com (its second label is "x.example"),
# not under example.com: not claimed, so named answers as for any name outside its zones.
for q in '_acme-challenge.x\.example.com' '_acme-challenge.x\046example.com'; do
    az_assert_eq REFUSED "$(status "$q" TXT)" "$q (a name under com) is not claimed"
done
# _acme-challenge.www\.x.example.com lies in the native example.com, and no
# _acme-challenge zone of the plugin holds it: the native zone says NXDOMAIN.
az_assert_eq NXDOMAIN "$(status '_acme-challenge.www\.x.example.com' TXT)" \
    "_acme-challenge.www\.x.example.com is answered by the native zone"
az_assert_eq "1" "$(az_dig '_acme-challenge.www\.x.example.com' TXT | grep -c 'flags:.* aa')" \
    "the native zone's answer is authoritative"
# Below a claimed apex, an escaped label is a name the plugin does not hold.
az_assert_eq NXDOMAIN "$(status 'a\.b._acme-challenge.example.com' TXT)" \
    "a\\.b._acme-challenge.example.com: NXDOMAIN from the plugin's zone"
az_assert_eq "_acme-challenge.example.com." \
    "$(az_dig +noall +authority 'a\.b._acme-challenge.example.com' TXT | awk '$4 == "SOA" { print $1 }')" \
    "its SOA is the plugin zone's"

az_log "SOA and NS at the apex"
soa=$(answer $CH SOA)
read -r mname rname s0 refresh retry expire minimum <<<"$soa"
az_assert_eq "ns1.example.com. hostmaster.example.com." "$mname $rname" "SOA MNAME/RNAME"
az_assert_eq "$TTL" "$minimum" "SOA MINIMUM is the configured ttl"
[[ $refresh -gt 0 && $retry -gt 0 && $expire -gt $refresh ]] || az_fail "SOA timers: $soa"
az_assert_eq "ns1.example.com. ns2.example.com." "$(answer $CH NS)" "NS set at the apex"
az_assert_eq "ns1.example.com. ns2.example.com." "$(answer acme.example.net NS)" \
    "NS set of the challenge-zone"
az_assert_contains "$(az_dig $CH SOA)" "flags: qr aa" "the plugin answers authoritatively"

az_log "the plugin shadows the native zone's _acme-challenge (longest match)"
az_assert_eq NOERROR "$(status $CH TXT)" "empty apex TXT"
az_assert_eq 0 "$(ancount $CH TXT)" "no values yet, and not the native decoy"

az_log "two values at one name, written through the control socket"
update "update add $CH 60 TXT \"apex-token-1\"" "update add $CH 60 TXT \"wildcard-token-2\""
az_assert_eq '"apex-token-1" "wildcard-token-2"' "$(answer $CH TXT)" "both values served"
s1=$(serial $CH)
[[ $s1 -gt $s0 ]] || az_fail "serial did not grow on a change: $s0 -> $s1"
az_assert_eq "$TTL" "$(az_dig +noall +answer $CH TXT | awk 'NR == 1 { print $2 }')" "TXT TTL"

az_log "master-file quoting: quote, backslash, space, control and 8-bit octets"
update 'update add _acme-challenge.www.example.com 60 TXT "say \"hi\" \\ there"'
az_assert_eq '"say \"hi\" \\ there"' "$(answer _acme-challenge.www.example.com TXT)" \
    "escaped value"
update 'update add _acme-challenge.a.www.example.com 60 TXT "tab\009x\200;(y)" "second"'
az_assert_eq '"tab\009x\200;(y)" "second"' "$(answer _acme-challenge.a.www.example.com TXT)" \
    "octets as \\DDD, two strings in one record"

az_log "NODATA vs NXDOMAIN"
az_assert_eq NOERROR "$(status $CH A)" "other type at an existing name"
az_assert_eq 0 "$(ancount $CH A)" "NODATA has no answer"
read -r owner ttl <<<"$(authority_soa $CH A)"
az_assert_eq "$CH." "$owner" "NODATA carries the zone's SOA"
[[ $ttl -le $TTL ]] || az_fail "negative TTL $ttl exceeds ttl $TTL"
az_assert_eq NXDOMAIN "$(status x.$CH TXT)" "a name below a one-name zone"
read -r owner ttl <<<"$(authority_soa x.$CH TXT)"
az_assert_eq "$CH." "$owner" "NXDOMAIN carries the zone's SOA"
[[ $ttl -le $TTL ]] || az_fail "negative TTL $ttl exceeds ttl $TTL"
az_assert_eq NOERROR "$(status _acme-challenge.nothing.example.com TXT)" \
    "an apex without values exists (NODATA)"
update "update add a.b.acme.example.net 60 TXT \"deep\""
az_assert_eq '"deep"' "$(answer a.b.acme.example.net TXT)" "value in the challenge-zone"
az_assert_eq NOERROR "$(status b.acme.example.net TXT)" "empty non-terminal"
az_assert_eq 0 "$(ancount b.acme.example.net TXT)" "empty non-terminal has no answer"
az_assert_eq NXDOMAIN "$(status zz.acme.example.net TXT)" "a name in the challenge-zone"
read -r owner ttl <<<"$(authority_soa zz.acme.example.net TXT)"
az_assert_eq "acme.example.net." "$owner" "challenge-zone SOA in NXDOMAIN"

az_log "two views share one core"
az_assert_eq '"apex-token-1" "wildcard-token-2"' "$(answer6 $CH TXT)" "view v6 sees the values"
az_assert_contains "$(cat "$AZ_NAMED_LOG")" "2 instance(s) share the core" "shared core log line"

az_log "AXFR: allow-transfer decides; a secondary gets the zone and follows NOTIFY"
axfr4=$(az_dig acme.example.net AXFR)
az_assert_contains "$axfr4" '"deep"' "AXFR from 127.0.0.1 (allowed)"
axfr6=$(dig @::1 -p "$PORT" +time=2 +tries=1 acme.example.net AXFR 2>&1 || true)
az_assert_not_contains "$axfr6" '"deep"' "AXFR from ::1 (allow-transfer none)"
az_assert_contains "$axfr6" "Transfer failed" "AXFR from ::1 (allow-transfer none)"
cat >"$AZ_TMP/secondary.conf" <<CONF
zone "acme.example.net" {
    type secondary;
    primaries { 127.0.0.1 port $PORT; };
    file "$AZ_TMP/sec-acme.example.net.db";
};
zone "$CH" {
    type secondary;
    primaries { 127.0.0.1 port $PORT; };
    file "$AZ_TMP/sec-challenge.db";
};
CONF
az_start_named "$AZ_TMP/secondary.conf" sec
az_use_named main
sec_txt() { az_dig sec -- +short "$@" | sort | tr '\n' ' ' | sed 's/ $//'; }
sec_serves() { [[ $(sec_txt "$1" TXT) == "$2" ]]; }
az_wait_for 20 sec_serves a.b.acme.example.net '"deep"' ||
    az_fail "secondary did not transfer acme.example.net: [$(sec_txt a.b.acme.example.net TXT)]"
az_wait_for 20 sec_serves $CH '"apex-token-1" "wildcard-token-2"' ||
    az_fail "secondary did not transfer $CH: [$(sec_txt $CH TXT)]"
update "update add $CH 60 TXT \"after-notify\""
# SOA refresh is 300 s: only the NOTIFY makes the secondary transfer this soon.
want_sec='"after-notify" "apex-token-1" "wildcard-token-2"'
az_wait_for 15 sec_serves $CH "$want_sec" || true
az_assert_eq "$want_sec" "$(sec_txt $CH TXT)" "secondary after NOTIFY"
az_assert_eq "$(serial $CH)" "$(az_dig sec -- +short $CH SOA | awk '{ print $3 }')" \
    "secondary serial equals the primary's"
az_stop_named sec

az_log "restart keeps values"
update "update delete $CH TXT \"after-notify\""
WANT='"apex-token-1" "wildcard-token-2"'
s_before=$(serial $CH)
az_restart_named
PORT=$AZ_NAMED_PORT
az_assert_eq "$WANT" "$(answer $CH TXT)" "values after restart"
az_assert_eq '"deep"' "$(answer a.b.acme.example.net TXT)" "challenge-zone value after restart"
[[ $(serial $CH) -gt $s_before ]] || az_fail "serial after restart not above $s_before"

az_log "kill -9 keeps every acknowledged value"
for i in 1 2 3 4 5; do
    update "update add _acme-challenge.k$i.example.com 60 TXT \"ack-$i\""
done
az_kill9_named
az_start_named "$AZ_TMP/primary.conf"
for i in 1 2 3 4 5; do
    az_assert_eq "\"ack-$i\"" "$(answer _acme-challenge.k$i.example.com TXT)" \
        "acknowledged value $i after kill -9"
done

az_log "rndc reload keeps values and the control socket"
az_rndc_reload
az_assert_eq "$WANT" "$(answer $CH TXT)" "values after rndc reload"
update "update add $CH 60 TXT \"after-reload\""
az_assert_eq '"after-reload" "apex-token-1" "wildcard-token-2"' "$(answer $CH TXT)" \
    "control socket works after rndc reload"
az_assert_eq '"after-reload" "apex-token-1" "wildcard-token-2"' "$(answer6 $CH TXT)" \
    "both views after rndc reload"
az_assert_not_contains "$(cat "$AZ_NAMED_LOG")" "Address already in use" "socket rebound"

az_log "values expire after lifetime, on the primary and (after NOTIFY) the secondary"
az_stop_named
sed -i 's/^lifetime = .*/lifetime = 3/' "$AZ_PLUGIN_CONF"
az_start_named "$AZ_TMP/primary.conf"
az_start_named "$AZ_TMP/secondary.conf" sec
az_use_named main
update "update add short.acme.example.net 60 TXT \"short-lived\""
az_wait_for 10 sec_serves short.acme.example.net '"short-lived"' ||
    az_fail "secondary did not get short.acme.example.net"
az_wait_for 10 sec_serves short.acme.example.net '' ||
    az_fail "secondary still serves an expired value: the purge was not NOTIFYed"
az_assert_eq '"after-reload" "apex-token-1" "wildcard-token-2"' "$(answer $CH TXT)" \
    "values keep the expiry they were given"
update "update add _acme-challenge.short.example.com 60 TXT \"short-lived\""
az_assert_eq '"short-lived"' "$(answer _acme-challenge.short.example.com TXT)" "fresh value"
gone() { [[ $(ancount _acme-challenge.short.example.com TXT) == 0 ]]; }
az_wait_for 8 gone || az_fail "value still served 8 s after it was added with a 3 s lifetime"
az_assert_eq NOERROR "$(status _acme-challenge.short.example.com TXT)" "expired: NODATA at apex"

az_log "PASS"
