#!/usr/bin/env bash
# Issue 21: the plugin and the issuer follow an RFC 9432 catalog zone that a
# real named serves as its primary (a dynamic zone, also-notify to the
# plugin's control socket, AXFR signed with xfr-key).
#   (1) 3 members: the plugin claims _acme-challenge.<member> for each; a
#       key granted `catalog` writes there; a non-member stays unclaimed
#   (2) a member added with nsupdate to named is served after named's
#       NOTIFY (the time logged);
#       the issuer's next `run` issues it ({Z, *.Z} from
#       Pebble), status marks its source (and member3.test's coo property)
#   (3) a member removed: its names answer as unclaimed, its value is gone;
#       the issuer does not renew it, status says "left the catalog" and
#       where its certificates stay
#   (4) bad catalogs (version "1", a duplicate member, a PTR outside zones.),
#       an AXFR refused, a NOTIFY from another address or for another zone:
#       each refused or ignored with its log line, the member set kept
#   (5) restart with the primary unreachable: the saved member set is claimed
#   (6) 1000 members: transferred and claimed (how long is logged; the
#       bench judges speed, a test does not)
#   (8) a catalog refreshed every second without a NOTIFY: the plugin asks
#       its SOA serial each time and transfers it only when that changed
#   (7) a real Knot secondary consumes the same catalog (catalog-role:
#       interpret): it makes the same 3 member zones, and the member added
#       and the one removed in (2) and (3) join and leave Knot too
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pebble.sh"
source "$(dirname "$0")/issuer_lib.sh"
az_setup

CAT=catalog.example
az_reserve_named_port main
PORT=$(az_named_port main)
XFR_KEY=$AZ_TMP/xfr.key
CAT_KEY=$AZ_TMP/cat.key
az_keygen xfr-key "$XFR_KEY"
az_keygen cat-key "$CAT_KEY"
AZ_PLUGIN_EXTRA="catalog = $CAT 127.0.0.1:$PORT key xfr-key
catalog = closed.example 127.0.0.1:$PORT
catalog = big.catalog 127.0.0.1:$PORT key xfr-key
catalog = steady.catalog 127.0.0.1:$PORT key xfr-key"
AZ_PLUGIN_CONTROL_EXTRA="grant = acme-key catalog $CAT"
az_plugin_setup listed.example
cat "$XFR_KEY" >>"$AZ_KEY_FILE"  # the plugin signs its AXFR with it

catalog_zone() {  # NAME MEMBERS...: a version-2 catalog listing MEMBERS
    local name=$1 i=0 m
    shift
    echo "\$TTL 0"
    echo "@ IN SOA invalid. invalid. 1 3600 600 86400 0"
    echo "@ IN NS invalid."
    echo "version IN TXT \"2\""
    for m in "$@"; do
        i=$((i + 1))
        echo "m$i.zones IN PTR $m."
    done
}
catalog_zone $CAT member1.test member2.test member3.test >"$AZ_TMP/$CAT.zone"
echo "group.m1.zones IN TXT \"web\"" >>"$AZ_TMP/$CAT.zone"
echo "coo.m3.zones IN PTR next.catalog." >>"$AZ_TMP/$CAT.zone"  # member3.test moves (RFC 9432 5.6)
catalog_zone closed.example >"$AZ_TMP/closed.example.zone"
BIG=()
for i in $(seq 1 1000); do BIG+=("z$i.big.test"); done
catalog_zone big.catalog "${BIG[@]}" >"$AZ_TMP/big.catalog.zone"
# (8) refreshed every second (SOA REFRESH 1), changed without a NOTIFY
catalog_zone steady.catalog steady1.test | sed 's/ 1 3600 600 / 1 1 1 /' >"$AZ_TMP/steady.catalog.zone"
# (7) Knot, a secondary of named for the catalog that makes its member zones
# from it (each from one template zone file of relative records), in its own
# directory, on its own port.
command -v knotd >/dev/null && command -v knotc >/dev/null && command -v kdig >/dev/null ||
    az_fail "knotd/knotc/kdig are not installed (scripts/bootstrap installs knot and knot-dnsutils)"
K=$AZ_TMP/knot
KNOT_PORT=$(az_free_port)
mkdir -p "$K/run" "$K/db"
printf '%s\n' "@ 0 IN SOA invalid. invalid. 1 3600 600 86400 0" "@ 0 IN NS invalid." >"$K/member.zone"
(umask 077 && cat >"$K/knot.conf") <<EOF
server:
    rundir: "$K/run"
    listen: 127.0.0.1@$KNOT_PORT
log:
  - target: stderr
    any: info
database:
    storage: "$K/db"
key:
  - id: xfr-key
    algorithm: hmac-sha256
    secret: $(az_key_secret "$XFR_KEY")
remote:
  - id: named
    address: 127.0.0.1@$PORT
    key: xfr-key
acl:
  - id: notify-from-named
    address: 127.0.0.1
    action: notify
template:
  - id: default
    storage: "$K/db"
  - id: member
    storage: "$K/db"
    file: "$K/member.zone"
    zonefile-sync: -1
    journal-content: none
zone:
  - domain: $CAT
    master: named
    acl: notify-from-named
    catalog-role: interpret
    catalog-template: member
EOF
# named resolves every member's challenge name through the plugin; member
# zones themselves are served elsewhere (by Knot, from its template).
cat >>"$AZ_PLUGIN_FRAGMENT" <<EOF
include "$XFR_KEY";
include "$CAT_KEY";
zone "$CAT" {
    type primary; file "$AZ_TMP/$CAT.zone";
    allow-update { key cat-key; };
    allow-transfer { key xfr-key; };
    notify explicit; notify-delay 0;
    also-notify { 127.0.0.1 port $AZ_CONTROL_PORT; 127.0.0.1 port $KNOT_PORT; };
};
zone "closed.example" { type primary; file "$AZ_TMP/closed.example.zone"; allow-transfer { none; }; };
zone "big.catalog" { type primary; file "$AZ_TMP/big.catalog.zone"; allow-transfer { key xfr-key; }; };
zone "steady.catalog" {
    type primary; file "$AZ_TMP/steady.catalog.zone"; notify no;
    allow-update { key cat-key; }; allow-transfer { key xfr-key; };
};
EOF
az_start_named "$AZ_PLUGIN_FRAGMENT"
az_start_bg knotd knotd -c "$K/knot.conf"
az_log "knotd on 127.0.0.1:$KNOT_PORT (pid $AZ_BG_PID), a secondary of named for $CAT"

# The member zones Knot made from the catalog, sorted, one line.
knot_members() {
    knotc -s "$K/run/knot.sock" zone-status |
        sed -n "s/^\[\([^]]*\)\.\] .*| catalog: $CAT\..*/\1/p" | sort | tr '\n' ' '
}
knot_has_members() { [[ $(knot_members) == "$* " ]]; }
knot_status() { kdig @127.0.0.1 -p "$KNOT_PORT" +norec +time=2 +retry=0 "$1" SOA | sed -n 's/.*status: \([A-Z]*\);.*/\1/p'; }
# Waits until Knot's members are exactly MEMBERS... (sorted), and it answers for each.
knot_wait_members() {
    local m
    az_wait_for 30 knot_has_members "$@" ||
        az_fail "Knot's members are [$(knot_members)], not [$* ] within 30 s; knotd.log: $(tail -n 15 "$AZ_TMP/knotd.log")"
    for m in "$@"; do
        az_assert_eq NOERROR "$(knot_status "$m")" "Knot answers for its member $m"
    done
}

status() { az_dig "$@" | sed -n 's/.*status: \([A-Z]*\),.*/\1/p'; }
claimed() { [[ $(status "_acme-challenge.$1" SOA) == NOERROR ]]; }
unclaimed() { [[ $(status "_acme-challenge.$1" SOA) == REFUSED ]]; }
log_has() { grep -qF -- "$1" "$AZ_NAMED_LOG"; }
log_count() { grep -cF -- "$1" "$AZ_NAMED_LOG" || true; }
cat_update() { # nsupdate to named (the catalog's primary), signed with cat-key
    local line
    NOTIFIES=$(($(log_count "acmezone: NOTIFY for catalog $CAT from 127.0.0.1") + 1))
    {
        echo "server 127.0.0.1 $PORT"
        echo "zone $CAT"
        for line in "$@"; do echo "$line"; done
        echo "send"
    } | nsupdate -t 5 -k "$CAT_KEY" || az_fail "nsupdate to the catalog refused: $*"
}
# Waits for the NOTIFY that named sends for the last cat_update's change.
NOTIFIES=0
notified() { (($(log_count "acmezone: NOTIFY for catalog $CAT from 127.0.0.1") >= NOTIFIES)); }
wait_notify() {
    az_wait_for 30 notified || az_fail "no NOTIFY for $CAT reached the plugin within 30 s of the change"
}

az_log "(1) three members claimed, a non-member not; the catalog grant writes"
az_wait_for 30 log_has "acmezone: catalog $CAT: 3 member(s) (3 joined, 0 left)" ||
    az_fail "the plugin did not read the catalog's 3 members"
for m in member1.test member2.test member3.test; do
    claimed $m || az_fail "_acme-challenge.$m is not claimed"
done
claimed listed.example || az_fail "the listed zone is not claimed"
az_assert_eq REFUSED "$(status _acme-challenge.member9.test SOA)" "a non-member is not claimed"
az_nsupdate "update add _acme-challenge.member2.test 60 TXT \"m2-value\"" ||
    az_fail "the catalog grant does not let acme-key write at a member"
az_assert_eq '"m2-value"' "$(az_dig +short _acme-challenge.member2.test TXT)" "member value served"

az_log "(7) Knot, consuming the same catalog, makes the same 3 member zones"
knot_wait_members member1.test member2.test member3.test
az_assert_eq REFUSED "$(knot_status member9.test)" "Knot does not serve a non-member"

az_log "(4) an AXFR refused is logged, nothing claimed from it"
az_wait_for 30 log_has "acmezone: catalog closed.example: AXFR of closed.example from 127.0.0.1:$PORT: the server answered" ||
    az_fail "no log line for the refused AXFR of closed.example"
az_assert_contains "$(grep -F 'catalog closed.example: AXFR' "$AZ_NAMED_LOG" | head -n 1)" \
    "; keeping the previous 0 member(s)" "the refused catalog claims nothing"

az_log "(6) 1000 members transferred and claimed (the time is reported, not asserted)"
az_wait_for 30 log_has "acmezone: catalog big.catalog: 1000 member(s) (1000 joined, 0 left)" ||
    az_fail "the 1000-member catalog was not read"
ms=$(sed -n 's/.*catalog big.catalog: 1000 member(s).*claimed in \([0-9]*\) ms.*/\1/p' "$AZ_NAMED_LOG" | head -n 1)
[[ $ms =~ ^[0-9]+$ ]] || az_fail "the plugin did not say how long the 1000 members took"
az_log "1000 members: transferred and claimed in $ms ms"
claimed z777.big.test || az_fail "a member of the big catalog is not claimed"

az_log "(8) a refresh asks the SOA serial first: no transfer while it stays, one when it changes"
az_wait_for 30 log_has "acmezone: catalog steady.catalog: 1 member(s) (1 joined, 0 left)" ||
    az_fail "the plugin did not read steady.catalog"
az_rndc querylog on
steady_soas() { log_count "query: steady.catalog IN SOA"; }
steady_axfrs() { log_count "transfer of 'steady.catalog/IN': AXFR started"; }
axfrs=$(steady_axfrs)
soas=$(steady_soas)
az_wait_for 15 eval '(($(steady_soas) >= soas + 3))' ||
    az_fail "no 3 SOA queries for steady.catalog (REFRESH 1 s) within 15 s: $(($(steady_soas) - soas))"
az_assert_eq "$axfrs" "$(steady_axfrs)" "AXFRs of steady.catalog while its serial stayed (after $(($(steady_soas) - soas)) SOA queries)"
nsupdate -t 5 -k "$CAT_KEY" <<EOF || az_fail "nsupdate to steady.catalog refused"
server 127.0.0.1 $PORT
zone steady.catalog
update add m2.zones.steady.catalog 0 IN PTR steady2.test.
send
EOF
az_wait_for 10 log_has "acmezone: catalog steady.catalog: 2 member(s) (1 joined, 0 left)" ||
    az_fail "the new serial of steady.catalog was not transferred at its next refresh"
az_assert_eq $((axfrs + 1)) "$(steady_axfrs)" "AXFRs of steady.catalog after its serial changed"
claimed steady2.test || az_fail "steady2.test, added without a NOTIFY, is not claimed"
az_rndc querylog off

az_log "(1) the issuer issues for its listed zone and the 3 members"
PEBBLE_AUTHZREUSE=0 az_start_pebble "$AZ_NAMED_PORT"
CONF=$AZ_TMP/issuer.conf
az_issuer_conf "$CONF" listed.example
sed -i "s|^\[zones\]\$|[zones]\ncatalog = $CAT 127.0.0.1:$PORT key xfr-key|" "$CONF"
az_issuer "$CONF" run
az_assert_eq 0 "$AZ_ISSUER_RC" "first run: $(tail -n 5 "$AZ_ISSUER_ERR")"
for z in listed.example member1.test member2.test member3.test; do az_verify_cert $z; done

az_log "(2) a member added with nsupdate: served after the NOTIFY (how long is logged), issued by the next run"
cat_update "update add m4.zones.$CAT 0 IN PTR member4.test."
wait_notify
t0=$(date +%s%N)
# A deadline against a hang, not a speed limit: the time is logged.
az_wait_for 30 claimed member4.test || az_fail "member4.test not served within 30 s of the NOTIFY"
az_log "member4.test served $((($(date +%s%N) - t0) / 1000000)) ms after the NOTIFY line was seen"
knot_wait_members member1.test member2.test member3.test member4.test
az_issuer "$CONF" run
az_assert_eq 0 "$AZ_ISSUER_RC" "run after the join: $(tail -n 5 "$AZ_ISSUER_ERR")"
az_verify_cert member4.test
az_issuer "$CONF" status
az_assert_contains "$(cat "$AZ_ISSUER_OUT")" "(from catalog $CAT)" "status marks a member's source"
az_assert_contains "$(grep '^member3\.test ' "$AZ_ISSUER_OUT")" \
    "(from catalog $CAT; coo: moving to catalog next.catalog)" "status shows a member's coo property"
az_issuer "$CONF" status --json
az_assert_eq next.catalog "$(python3 -c 'import json, sys
print(*[z["coo"] for z in json.load(sys.stdin) if "coo" in z])' <"$AZ_ISSUER_OUT")" "status --json: the coo of member3.test only"

az_log "(3) a member removed: unclaimed, its value gone, not renewed, 'left the catalog'"
cat_update "update delete m2.zones.$CAT PTR"
wait_notify
az_wait_for 2 unclaimed member2.test || az_fail "member2.test still claimed after it left"
knot_wait_members member1.test member3.test member4.test
az_assert_eq REFUSED "$(knot_status member2.test)" "Knot no longer serves member2.test"
az_wait_for 5 log_has "deleted the values of 1 name(s) under zones that left it" ||
    az_fail "the left member's value is not deleted"
az_issuer "$CONF" status
az_assert_eq 0 "$AZ_ISSUER_RC" "status exits 0: a zone that left does not count against it"
az_assert_contains "$(cat "$AZ_ISSUER_OUT")" \
    "left the catalog $CAT: not renewed; its certificates stay in $AZ_CERTS/member2.test" \
    "status shows the zone that left"
[[ -f $AZ_CERTS/member2.test/cert.pem ]] || az_fail "member2.test's certificate was removed"
# Not renewed: a pass works on the members and listed zones only.
az_issuer "$CONF" issue member2.test --force
[[ $AZ_ISSUER_RC -ne 0 ]] || az_fail "issue --force renewed member2.test after it left"
az_assert_contains "$(cat "$AZ_ISSUER_ERR")" "member2.test is not a configured zone" \
    "a zone that left is not among the issuer's zones"

az_log "(4) bad catalogs: refused with a log line, the member set kept"
# bad WHAT EXPECTED-LOG UPDATE-LINE... -- UNDO-LINE...
bad() {
    local what=$1 expect=$2 line into=do
    shift 2
    local change=() undo=()
    for line in "$@"; do
        if [[ $line == -- ]]; then
            into=undo
        elif [[ $into == do ]]; then
            change+=("$line")
        else
            undo+=("$line")
        fi
    done
    cat_update "${change[@]}"
    wait_notify
    az_wait_for 10 log_has "$expect" || az_fail "$what: no log line \"$expect\""
    az_assert_contains "$(grep -F -- "$expect" "$AZ_NAMED_LOG" | tail -n 1)" \
        "; keeping the previous 3 member(s)" "$what: the previous set is kept"
    claimed member4.test || az_fail "$what: member4.test lost"
    unclaimed member2.test || az_fail "$what: member2.test claimed again"
    cat_update "${undo[@]}"
    wait_notify
}
# Knot (7) refuses version "1" too, but drops a member listed twice (its own
# reading of RFC 9432): its member set is not checked past this point.
bad "version 1" "refused: catalog $CAT: unsupported catalog version \"1\"" \
    "update delete version.$CAT TXT" "update add version.$CAT 0 TXT \"1\"" -- \
    "update delete version.$CAT TXT" "update add version.$CAT 0 TXT \"2\""
bad "duplicate member" "refused: catalog $CAT: the zone member1.test. is listed twice" \
    "update add dup.zones.$CAT 0 PTR member1.test." -- "update delete dup.zones.$CAT PTR"
bad "PTR outside zones." "refused: catalog $CAT: the PTR at x.elsewhere.$CAT. is outside zones.$CAT." \
    "update add x.elsewhere.$CAT 0 PTR member7.test." -- "update delete x.elsewhere.$CAT PTR"

az_log "(4) NOTIFY from another address, and for a zone that is not a followed catalog"
notify() { dig @127.0.0.1 -p "$AZ_CONTROL_PORT" +opcode=notify +norec +time=2 +tries=1 "$@"; }
az_assert_contains "$(notify -b 127.0.0.2 $CAT SOA)" "status: REFUSED" "NOTIFY from 127.0.0.2"
az_wait_for 5 log_has "acmezone: REFUSED NOTIFY for catalog $CAT from 127.0.0.2" ||
    az_fail "no log line for the NOTIFY from 127.0.0.2"
az_assert_contains "$(notify other.example SOA)" "status: REFUSED" "NOTIFY for another zone"
az_wait_for 5 log_has "acmezone: REFUSED NOTIFY for other.example. from 127.0.0.1" ||
    az_fail "no log line for the NOTIFY for another zone"
out=$(notify $CAT SOA)
az_assert_contains "$out" "status: NOERROR" "NOTIFY for the catalog from its server"
az_assert_contains "$out" "flags: qr aa" "... answered authoritatively"

az_log "(5) restart with the primary unreachable: the saved member set stays"
az_stop_named
CLOSED=$(az_free_port)
sed -i "s|^catalog = $CAT 127.0.0.1:$PORT key xfr-key\$|catalog = $CAT 127.0.0.1:$CLOSED key xfr-key|" "$AZ_PLUGIN_CONF"
az_start_named "$AZ_PLUGIN_FRAGMENT"
az_wait_for 30 log_has "acmezone: catalog $CAT: AXFR of $CAT from 127.0.0.1:$CLOSED: connection refused" ||
    az_fail "the unreachable primary is not logged"
for m in member1.test member3.test member4.test; do
    claimed $m || az_fail "$m not claimed after a restart with the primary unreachable"
done
unclaimed member2.test || az_fail "member2.test claimed after the restart"
az_log "ok"
