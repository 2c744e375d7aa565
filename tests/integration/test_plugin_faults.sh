#!/usr/bin/env bash
# The plugin under faults, with a real named and real nsupdate clients:
#   - rndc reload (5 times) while 8 clients write: every value whose UPDATE was
#     acknowledged is served afterwards, and after a restart (acknowledged vs
#     present: none lost)
#   - a full state disk (the state-dir is a small tmpfs, filled with dd):
#     UPDATEs that do not fit are answered SERVFAIL and change nothing (a
#     write cut short is truncated away, so a smaller one may fit later); dig
#     still serves every value acknowledged before; once space returns,
#     UPDATEs succeed again; after a restart of named the served values are
#     exactly the acknowledged ones and the journal had no torn record to
#     drop (a write cut short by ENOSPC left no trace)
# Needs root (mount -t tmpfs).
source "$(dirname "$0")/lib.sh"
az_setup

[[ $(id -u) == 0 ]] || az_fail "needs root to mount a tmpfs as the state directory"
STATE=$AZ_TMP/plugin-state
mkdir -p "$STATE"
mount -t tmpfs -o size=256k,mode=0700 acmezone-test "$STATE" || az_fail "mount tmpfs on $STATE"
az_at_exit umount "$STATE"

az_plugin_setup example.com
az_start_named "$AZ_PLUGIN_FRAGMENT"

served() { az_dig +short "$1" TXT | tr -d '"' | LC_ALL=C sort; }

# Every value in the files acked-* must be served at its name
# (_acme-challenge.<file suffix>.example.com). Echoes the number checked.
check_acked() {
    local f n v total=0 have
    for f in "$AZ_TMP"/acked-*; do
        n=${f##*/acked-}
        have=$(served "_acme-challenge.$n.example.com")
        while read -r v; do
            [[ -z $v ]] && continue
            grep -qx "$v" <<<"$have" ||
                az_fail "acknowledged value $v at _acme-challenge.$n.example.com is lost ($1)"
            total=$((total + 1))
        done <"$f"
    done
    echo "$total"
}

# ---- rndc reload while clients write ----------------------------------------
WRITERS=8
EACH=25
writer() {  # W: EACH UPDATEs one after the other; acknowledged values to acked-rW
    local w=$1 i
    for ((i = 0; i < EACH; i++)); do
        if printf 'server 127.0.0.1 %s\nupdate add _acme-challenge.r%s.example.com 600 TXT "x%s"\nsend\n' \
            "$AZ_CONTROL_PORT" "$w" "$i" |
            nsupdate -v -t 5 -y "hmac-sha256:$AZ_KEY_NAME:$AZ_KEY_SECRET" >/dev/null 2>&1; then
            echo "x$i" >>"$AZ_TMP/acked-r$w"
        else
            echo "x$i" >>"$AZ_TMP/failed-r$w"
        fi
    done
}
az_log "rndc reload x5 while $WRITERS clients write $EACH UPDATEs each"
declare -a wpids=()
for ((w = 0; w < WRITERS; w++)); do
    : >"$AZ_TMP/acked-r$w"
    : >"$AZ_TMP/failed-r$w"
    writer "$w" &
    wpids+=($!)
    az_track_pid $!
done
reloads=0
for ((r = 0; r < 5; r++)); do
    sleep 0.5
    az_rndc_reload
    reloads=$((reloads + 1))
    if ((r == 2)); then
        alive=0
        for p in "${wpids[@]}"; do
            kill -0 "$p" 2>/dev/null && alive=$((alive + 1))
        done
        ((alive > 0)) || az_fail "the writers finished before the third reload: nothing overlapped"
    fi
done
for p in "${wpids[@]}"; do
    wait "$p" || az_fail "a writer failed"
done
grep -q "reloading configuration succeeded" "$AZ_NAMED_LOG" || az_fail "no reload in named's log"
acked=$(cat "$AZ_TMP"/acked-r* | wc -l)
failed=$(cat "$AZ_TMP"/failed-r* | wc -l)
((acked > 0)) || az_fail "no UPDATE was acknowledged during the reloads: nothing was tested"
present=$(check_acked "rndc reload")
az_assert_eq "$acked" "$present" "acknowledged values checked"
az_log "rndc reload: $reloads reloads, $acked UPDATEs acknowledged, $present present, 0 lost" \
    "($failed not acknowledged)"
# Once more after a restart (the journal written across the reloads).
az_restart_named
present=$(check_acked "rndc reload, then restart")
az_assert_eq "$acked" "$present" "acknowledged values after a restart"

# ---- a full state disk ------------------------------------------------------
az_log "state disk: $(df -k --output=size,used "$STATE" | tail -n 1) (KiB size, used)"
for i in 1 2 3; do
    az_nsupdate "update add _acme-challenge.full.example.com 600 TXT before$i" ||
        az_fail "UPDATE before the disk is full"
    echo "before$i" >>"$AZ_TMP/acked-full"
done
# Fill what is left (tmpfs counts pages: 4 KiB blocks fill it exactly).
dd if=/dev/zero of="$STATE/fill" bs=4k count=1000 2>/dev/null && az_fail "$STATE did not fill up"
az_log "state disk full: $(df -k --output=avail "$STATE" | tail -n 1) KiB left"
# The journal's last page may still hold a frame or two: write until the
# first SERVFAIL (bounded), then every further UPDATE must fail alike.
: >"$AZ_TMP/refused-full"
servfail=""
for ((i = 0; i < 200; i++)); do
    if out=$(az_nsupdate "update add _acme-challenge.full.example.com 600 TXT during$i" 2>&1); then
        echo "during$i" >>"$AZ_TMP/acked-full"
    else
        servfail=$out
        echo "during$i" >>"$AZ_TMP/refused-full"
        break
    fi
done
[[ -n $servfail ]] || az_fail "200 UPDATEs acknowledged on a full disk"
az_assert_contains "$servfail" "SERVFAIL" "the answer to an UPDATE on a full disk"
# The same name with a value at least as long: a frame at least as large as
# the one that did not fit (a record carries every value of the name).
for ((i = 0; i < 5; i++)); do
    if out=$(az_nsupdate "update add _acme-challenge.full.example.com 600 TXT refusedxx$i" 2>&1); then
        az_fail "UPDATE $i acknowledged on a full disk"
    fi
    az_assert_contains "$out" "SERVFAIL" "answer $i on a full disk"
    echo "refusedxx$i" >>"$AZ_TMP/refused-full"
done
grep -q "cannot make 1 update(s) durable, answering SERVFAIL: .*No space left on device" \
    "$AZ_NAMED_LOG" || az_fail "named's log does not say why the UPDATEs failed"
present=$(check_acked "full disk")
az_assert_eq "$(cat "$AZ_TMP"/acked-* | wc -l)" "$present" "values served while the disk is full"
refused_served() {
    local have v
    have=$(served _acme-challenge.full.example.com)
    while read -r v; do
        grep -qx "$v" <<<"$have" && return 0
    done <"$AZ_TMP/refused-full"
    return 1
}
refused_served && az_fail "a value refused with SERVFAIL is served"
full_acked=$(($(wc -l <"$AZ_TMP/acked-full") - 3))
az_log "full disk: $full_acked UPDATE(s) fitted in the journal's last page, then SERVFAIL x6;" \
    "all $present acknowledged values still served"

# Space returns: UPDATEs succeed again, the journal goes on where it stopped.
rm -f "$STATE/fill"
for i in 1 2 3; do
    az_nsupdate "update add _acme-challenge.full.example.com 600 TXT after$i" ||
        az_fail "UPDATE $i after space returned"
    echo "after$i" >>"$AZ_TMP/acked-full"
done
present=$(check_acked "space returned")
total=$(cat "$AZ_TMP"/acked-* | wc -l)
az_assert_eq "$total" "$present" "values served after space returned"

# A restart reads the journal written across the episode: the same values,
# nothing refused, and no torn record dropped.
az_restart_named
present=$(check_acked "restart after the full disk")
az_assert_eq "$total" "$present" "values served after the restart"
refused_served && az_fail "after the restart, a value refused with SERVFAIL is served"
az_assert_eq "$(LC_ALL=C sort "$AZ_TMP/acked-full")" "$(served _acme-challenge.full.example.com)" \
    "values at _acme-challenge.full.example.com after the restart"
if grep -q "dropping .* octets after offset" "$AZ_NAMED_LOG"; then
    az_fail "the journal held a torn record after the full disk: $(grep dropping "$AZ_NAMED_LOG")"
fi
az_log "restart after the full disk: all $present acknowledged values served, none refused, journal intact"
az_stop_named
az_log "PASS"
