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
# 2 MiB: room for the reload part's journal (at most WRITERS x MAX records of
# PER_NAME values or fewer, about 1 MiB), then filled up by the full-disk part.
STATE_KIB=2048
mount -t tmpfs -o size=${STATE_KIB}k,mode=0700 acmezone-test "$STATE" || az_fail "mount tmpfs on $STATE"
az_at_exit umount "$STATE"

az_plugin_setup example.com
az_start_named "$AZ_PLUGIN_FRAGMENT"

served() { az_dig +short "$1" TXT | tr -d '"' | LC_ALL=C sort; }

# Every value in the files acked-* must be served at its name
# (_acme-challenge.<file suffix>.example.com). Echoes the number checked.
check_acked() {
    local f n missing total=0
    for f in "$AZ_TMP"/acked-*; do
        n=${f##*/acked-}
        # Acknowledged values (first word of each line) not among those served.
        missing=$(LC_ALL=C comm -23 <(awk 'NF { print $1 }' "$f" | LC_ALL=C sort -u) \
            <(served "_acme-challenge.$n.example.com" | LC_ALL=C sort -u))
        [[ -z $missing ]] ||
            az_fail "acknowledged value(s) $(head -n 3 <<<"$missing" | tr '\n' ' ')at" \
                "_acme-challenge.$n.example.com lost ($1)"
        total=$((total + $(awk 'NF' "$f" | wc -l)))
    done
    echo "$total"
}

# ---- rndc reload while clients write ----------------------------------------
# The overlap is made by the test, not by the machine's speed: the writers
# keep writing until the reloads are done (the file reloads-done appears),
# bounded by MAX UPDATEs each and a deadline. The file phase holds the number
# of reloads finished ("0" .. "5"), or "reloadingN" while reload N runs. A
# writer reads it before sending and after the answer: an UPDATE acknowledged
# with the same number both times was answered wholly in that phase (0 =
# before the first reload, 1..4 = between two reloads, 5 = after the last),
# otherwise its phase is "across" (it overlapped a reload). The reloads start
# only once acknowledgements are seen in the phase before them.
WRITERS=8
RELOADS=5
MAX=500            # UPDATEs per writer at most
WRITE_SECONDS=240  # and for this long at most
PER_NAME=20        # values at one name (max-values-per-name is 64; each journal record holds them all)
PHASE=$AZ_TMP/phase
DONE=$AZ_TMP/reloads-done
set_phase() {
    echo "$1" >"$PHASE.new"
    mv -f "$PHASE.new" "$PHASE"
}
writer() {  # W: UPDATEs one after the other; "value phase" lines to acked-rW-G, failed to failed-rW
    local w=$1 i g before after deadline=$((SECONDS + WRITE_SECONDS))
    for ((i = 0; i < MAX && SECONDS < deadline; i++)); do
        [[ -e $DONE ]] && return 0
        g=r$w-$((i / PER_NAME))
        read -r before <"$PHASE"
        if printf 'server 127.0.0.1 %s\nupdate add _acme-challenge.%s.example.com 600 TXT "x%s"\nsend\n' \
            "$AZ_CONTROL_PORT" "$g" "$i" |
            nsupdate -v -t 5 -y "hmac-sha256:$AZ_KEY_NAME:$AZ_KEY_SECRET" >/dev/null 2>&1; then
            read -r after <"$PHASE"
            [[ $before == "$after" && $before != reloading* ]] || after=across
            echo "x$i $after" >>"$AZ_TMP/acked-$g"
        else
            echo "x$i" >>"$AZ_TMP/failed-r$w"
        fi
    done
    echo "writer $w stopped by its bound ($MAX UPDATEs or $WRITE_SECONDS s) before the reloads were done" \
        >"$AZ_TMP/bounded-r$w"
}
acks_in() { cat "$AZ_TMP"/acked-r* 2>/dev/null | awk -v p="$1" '$2 == p' | wc -l; }
acks_in_at_least() { (($(acks_in "$1") >= $2)); }
# wait_acks PHASE WHAT: until 3 UPDATEs were acknowledged in PHASE (60 s at most).
wait_acks() {
    az_wait_for 60 acks_in_at_least "$1" 3 ||
        az_fail "no 3 UPDATEs acknowledged $2 within 60 s ($(acks_in "$1") were;" \
            "$(cat "$AZ_TMP"/bounded-r* 2>/dev/null | head -n 1))"
}
az_log "rndc reload x$RELOADS while $WRITERS clients write (until the reloads are done)"
set_phase 0
declare -a wpids=()
for ((w = 0; w < WRITERS; w++)); do
    : >"$AZ_TMP/failed-r$w"
    writer "$w" &
    wpids+=($!)
    az_track_pid $!
done
wait_acks 0 "before the first reload"
for ((r = 1; r <= RELOADS; r++)); do
    set_phase "reloading$r"
    az_rndc_reload
    set_phase "$r"
    if ((r < RELOADS)); then
        wait_acks "$r" "between reload $r and reload $((r + 1))"
    else
        wait_acks "$r" "after the last reload"
    fi
done
touch "$DONE"
for p in "${wpids[@]}"; do
    wait "$p" || az_fail "a writer failed"
done
grep -q "reloading configuration succeeded" "$AZ_NAMED_LOG" || az_fail "no reload in named's log"
acked=$(cat "$AZ_TMP"/acked-r* | wc -l)
failed=$(cat "$AZ_TMP"/failed-r* | wc -l)
present=$(check_acked "rndc reload")
az_assert_eq "$acked" "$present" "acknowledged values checked"
az_log "rndc reload: $RELOADS reloads, $acked UPDATEs acknowledged (by phase:" \
    "$(for p in $(seq 0 "$RELOADS") across; do printf '%s=%s ' "$p" "$(acks_in "$p")"; done))," \
    "$present present, 0 lost ($failed not acknowledged)"
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
dd if=/dev/zero of="$STATE/fill" bs=4k count=$((STATE_KIB / 4 + 16)) 2>/dev/null &&
    az_fail "$STATE did not fill up"
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
