#!/usr/bin/env bash
# Issue 20 item 2, end to end: a real named with the plugin and a small
# per-zone quota (max-values-per-zone = 20). One key floods distinct
# _acme-challenge names under example.com with nsupdate until it is REFUSED
# at the quota (named's log names the key, the zone and the quota); another
# key, granted example.org, still writes; named's resident memory stays
# under a generous bound.
source "$(dirname "$0")/lib.sh"
az_setup

QUOTA=20
AZ_PLUGIN_EXTRA="max-values-per-name = 4
max-values-per-zone = $QUOTA"
AZ_PLUGIN_CONTROL_EXTRA="grant = other-key zonesub example.org"
az_plugin_setup example.com example.org
az_keygen other-key "$AZ_TMP/other.key"
cat "$AZ_TMP/other.key" >>"$AZ_KEY_FILE"
OTHER_SECRET=$(az_key_secret "$AZ_TMP/other.key")
az_start_named "$AZ_PLUGIN_FRAGMENT"
ctl_dig() { dig @127.0.0.1 -p "$AZ_CONTROL_PORT" +time=2 +tries=1 "$@"; }
az_wait_for 20 ctl_dig +norec _acme-challenge.example.com SOA ||
    az_fail "control socket does not answer"

az_log "acme-key floods example.com with distinct names, over TCP (bounded: quota + 5)"
refused_at=
for ((i = 0; i < QUOTA + 5; i++)); do
    out=$({
        echo "server 127.0.0.1 $AZ_CONTROL_PORT"
        echo "update add _acme-challenge.n$i.example.com 60 TXT \"flood-$i\""
        echo "send"
    } | nsupdate -v -t 5 -y "hmac-sha256:$AZ_KEY_NAME:$AZ_KEY_SECRET" 2>&1) || true
    if [[ $out == *REFUSED* ]]; then
        refused_at=$i
        break
    fi
    [[ -z $out ]] || az_fail "update $i failed otherwise: $out"
done
az_assert_eq "$QUOTA" "$refused_at" "the flooding key is refused exactly at its zone's quota"
az_wait_for 10 grep -q "key acme-key: zone _acme-challenge.n$QUOTA.example.com: REFUSED: zone example.com would hold $((QUOTA + 1)) TXT values (max-values-per-zone is $QUOTA)" "$AZ_NAMED_LOG" ||
    az_fail "named's log does not name the key, the zone and the quota"
az_assert_eq "" "$(az_dig +short _acme-challenge.n$QUOTA.example.com TXT)" "the refused value is not served"
az_assert_eq '"flood-0"' "$(az_dig +short _acme-challenge.n0.example.com TXT)" "values within the quota are served"

az_log "other-key still writes example.org"
out=$({
    echo "server 127.0.0.1 $AZ_CONTROL_PORT"
    echo "update add _acme-challenge.www.example.org 60 TXT \"other\""
    echo "send"
} | nsupdate -v -t 5 -y "hmac-sha256:other-key:$OTHER_SECRET" 2>&1) || az_fail "other-key: $out"
az_assert_eq '"other"' "$(az_dig +short _acme-challenge.www.example.org TXT)" "other-key's value is served"

rss_kib=$(awk '/^VmRSS:/ { print $2 }' "/proc/$AZ_NAMED_PID/status")
az_log "named VmRSS after the flood: $rss_kib KiB"
((rss_kib < 512 * 1024)) || az_fail "named holds $rss_kib KiB after the flood (bound 512 MiB)"
az_log "PASS"
