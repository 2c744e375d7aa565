#!/usr/bin/env bash
# acmezone-issuer under faults (real named with the plugin, real Pebble, and
# acme_fault_proxy.py in front of Pebble for the CA's misbehaviour). One zone
# has a certificate; each case runs `issue --force` through one fault and
# asserts all four outcomes:
#   - the run ends within its bound (exit 1, in at most LIMIT seconds: the
#     small timeouts below plus slack for this loaded machine)
#   - a FAILED line for the zone naming the step and the cause
#   - the certificate files unchanged, byte for byte
#   - no TXT value left at _acme-challenge.<zone> (dig against named)
# and that the next run, the fault gone, issues a new certificate.
# Faults: named down; the control socket unreachable while named serves;
# Pebble killed (-9) and restarted mid-run; the CA answering 500 for good,
# 429 with Retry-After for good, malformed JSON, truncated bodies, slow
# bodies; the certificate and state disk full (a small tmpfs). Then a run
# with PEBBLE_WFE_NONCEREJECT=50 succeeds.
# Secrets, over every log of the whole test (issuer --verbose, named -d 99):
# no TSIG secret, no line of an account or certificate private key; key
# files 0600; a key file or account key readable by others is refused.
# Needs root (mount -t tmpfs).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pebble.sh"
source "$(dirname "$0")/issuer_lib.sh"
az_setup

[[ $(id -u) == 0 ]] || az_fail "needs root to mount a tmpfs for the certificates"
Z=faults.example.com
az_plugin_setup "$Z"
AZ_NAMED_ARGS="-d 99" az_start_named "$AZ_PLUGIN_FRAGMENT"
# No nonce rejected (PEBBLE_WFE_NONCEREJECT=0): the proxy's SKIP counts are exact.
PEBBLE_AUTHZREUSE=0 PEBBLE_WFE_NONCEREJECT=0 az_start_pebble "$AZ_NAMED_PORT"

# Certificates and issuer state on one small tmpfs, for the full-disk case.
DISK=$AZ_TMP/disk
mkdir -p "$DISK"
mount -t tmpfs -o size=512k,mode=0755 acmezone-test "$DISK" || az_fail "mount tmpfs on $DISK"
az_at_exit umount "$DISK"

CONF=$AZ_TMP/issuer.conf
az_issuer_conf "$CONF" "$Z"
AZ_CERTS=$DISK/certs
# Small timeouts keep every failing run short.
sed -i "s|^state-dir = .*|state-dir = $DISK/state|; s|^dir = .*|dir = $AZ_CERTS|
    s|^retry-deadline = .*|retry-deadline = 5\ntimeout = 3|
    s|^validation-timeout = .*|validation-timeout = 10|
    s|^propagation-timeout = .*|propagation-timeout = 5\ntimeout = 1|" "$CONF"
LIMIT=30 # retry-deadline + acme.timeout + validation-timeout + propagation-timeout + 7 s
use_directory() { sed -i "s|^directory = .*|directory = $1|" "$CONF"; }

az_issuer "$CONF" --verbose issue "$Z"
az_assert_eq 0 "$AZ_ISSUER_RC" "first issuance: $(tail -n 20 "$AZ_ISSUER_ERR")"
az_verify_cert "$Z"

: >"$AZ_TMP/cases"
# check_failed CASE RC SECONDS STDERR-FILE BEFORE-DIGEST TEXT...
check_failed() {
    local case=$1 rc=$2 took=$3 err before=$5 failure t
    err=$(cat "$4")
    shift 5
    az_assert_eq 1 "$rc" "$case: exit code; stderr: $(tail -n 20 <<<"$err")"
    ((took <= LIMIT)) || az_fail "$case: the run took $took s, more than $LIMIT s"
    failure=$(grep "^$Z: FAILED" <<<"$err") || az_fail "$case: no FAILED line for $Z: $err"
    for t in "$@"; do
        az_assert_contains "$failure" "$t" "$case: the error"
    done
    az_assert_eq "$before" "$(az_tree_digest "$AZ_CERTS/$Z")" "$case: certificate files"
    az_assert_no_txt "_acme-challenge.$Z"
    az_log "$case: exit 1 after $took s: $failure"
    printf '%s\t%s\t%s\n' "$case" "$took" "$failure" >>"$AZ_TMP/cases"
}
# fault_run CASE TEXT...: issue --force through the fault in place now.
fault_run() {
    local case=$1 before start
    shift
    before=$(az_tree_digest "$AZ_CERTS/$Z")
    start=$SECONDS
    az_issuer "$CONF" --verbose issue --force "$Z"
    check_failed "$case" "$AZ_ISSUER_RC" $((SECONDS - start)) "$AZ_ISSUER_ERR" "$before" "$@"
}
# next_run CASE: the fault gone, a forced renewal gets a new version.
next_run() {
    local old
    old=$(readlink "$AZ_CERTS/$Z/current")
    az_issuer "$CONF" --verbose issue --force "$Z"
    az_assert_eq 0 "$AZ_ISSUER_RC" "$1, fault gone: $(tail -n 20 "$AZ_ISSUER_ERR")"
    [[ $(readlink "$AZ_CERTS/$Z/current") != "$old" ]] || az_fail "$1, fault gone: no new version"
    az_verify_cert "$Z"
    az_assert_no_txt "_acme-challenge.$Z"
}

# ---- named down -------------------------------------------------------------
az_stop_named
before=$(az_tree_digest "$AZ_CERTS/$Z")
start=$SECONDS
az_issuer "$CONF" --verbose issue --force "$Z"
took=$((SECONDS - start))
AZ_NAMED_ARGS="-d 99" az_start_named "$AZ_PLUGIN_FRAGMENT"
check_failed "named down" "$AZ_ISSUER_RC" "$took" "$AZ_ISSUER_ERR" "$before" \
    "checks before ordering failed: challenge name" "127.0.0.1:$AZ_NAMED_PORT"
next_run "named down"

# ---- the control socket unreachable, named serving --------------------------
dead=$(az_free_port)
sed -i "s|^control = .*|control = 127.0.0.1:$dead|" "$CONF"
fault_run "control socket down" "checks before ordering failed: publish" "127.0.0.1:$dead"
sed -i "s|^control = .*|control = 127.0.0.1:$AZ_CONTROL_PORT|" "$CONF"
next_run "control socket down"

# ---- Pebble killed and restarted while the values are published -------------
# The first two challenge responses get serverInternal with Retry-After: 2;
# Pebble is killed and restarted (same ports, new state) during that wait.
az_start_fault_proxy --rule "POST:/chalZ/:2:500:serverInternal:2"
use_directory "$AZ_PROXY_DIR"
before=$(az_tree_digest "$AZ_CERTS/$Z")
start=$SECONDS
timeout 120 "$ACMEZONE_ISSUER" --config "$CONF" --verbose issue --force "$Z" \
    >"$AZ_TMP/kill.out" 2>"$AZ_TMP/kill.err" &
issuer_pid=$!
az_track_pid "$issuer_pid"
az_wait_for 30 grep -q "POST /chalZ/.* -> 500" "$AZ_FAULTS_LOG" ||
    az_fail "no challenge response reached the proxy: $(tail -n 5 "$AZ_TMP/kill.err")"
# Every value the issuer published is served while Pebble dies: usually 2
# (Z and *.Z), 1 when the CA already holds one valid authorization (CI at
# 9964cd0 saw 1 value, with PEBBLE_AUTHZREUSE=0; the issuer's log was not
# kept then, and is printed now if it happens again).
published=$(sed -n 's/.*: publishing \([0-9]*\) value(s) at .*/\1/p' "$AZ_TMP/kill.err" | head -n 1)
[[ $published =~ ^[12]$ ]] ||
    az_fail "the issuer did not say it published 1 or 2 values: $(tail -n 20 "$AZ_TMP/kill.err")"
((published == 2)) || az_log "1 value published: $(grep -i "authoriz" "$AZ_TMP/kill.err")"
values=$(az_dig "_acme-challenge.$Z" TXT +noall +answer | awk '$4 == "TXT"' | wc -l)
az_assert_eq "$published" "$values" "TXT values served when Pebble is killed"
az_kill9_pebble
PEBBLE_AUTHZREUSE=0 PEBBLE_WFE_NONCEREJECT=0 az_restart_pebble
rc=0
wait "$issuer_pid" || rc=$?
cat "$AZ_TMP/kill.err" >>"$AZ_TMP/issuer.log"
check_failed "Pebble killed mid-run" "$rc" $((SECONDS - start)) "$AZ_TMP/kill.err" "$before" \
    "validating" "the CA did not validate"
az_stop_fault_proxy
use_directory "$AZ_PEBBLE_DIR"
next_run "Pebble killed mid-run"

# ---- the CA misbehaving (through the proxy) ---------------------------------
# proxy_case CASE PROXY-ARGS -- TEXT...
proxy_case() {
    local case=$1 args=()
    shift
    while [[ $1 != -- ]]; do
        args+=("$1")
        shift
    done
    shift
    : >"$AZ_FAULTS_LOG"
    az_start_fault_proxy "${args[@]}"
    use_directory "$AZ_PROXY_DIR"
    fault_run "$case" "$@"
    grep -q . "$AZ_FAULTS_LOG" || az_fail "$case: the proxy injected nothing"
    az_log "$case: $(wc -l <"$AZ_FAULTS_LOG") answer(s) spoiled: $(head -n 1 "$AZ_FAULTS_LOG")"
    az_stop_fault_proxy
    use_directory "$AZ_PEBBLE_DIR"
    next_run "$case"
}
proxy_case "500 for good" --rule "POST:/chalZ/:-1:500:serverInternal:0" -- \
    "validating" "serverInternal: injected by the test (HTTP 500)" "gave up after"
proxy_case "429 with Retry-After for good" --rule "POST:/my-order/:-1:429:rateLimited:1" -- \
    "validating" "rateLimited: injected by the test (HTTP 429)" "Retry-After of 1 s"
proxy_case "malformed JSON" --fault "POST:/my-order/:-1:malformed" -- \
    "validating" "not JSON"
proxy_case "truncated bodies" --fault "POST:/my-order/:-1:truncated" -- \
    "validating" "gave up after"
proxy_case "slow bodies" --slow-seconds 15 --fault "POST:/certZ/:-1:slow" -- \
    "downloading" "gave up after" "timed out"

# ---- the certificate and state disk full ------------------------------------
dd if=/dev/zero of="$DISK/fill" bs=4k count=1000 2>/dev/null && az_fail "$DISK did not fill up"
# Seen before ordering (no room to store what an order would bring): nothing
# is ordered or published. (The zone's state is rewritten through its spare
# file, in place: that write alone would not fail on a full disk.)
fault_run "disk full" "no room to store a certificate" "the file system of $DISK" "nothing ordered"
grep -q "ACME POST .*/order-plz" "$AZ_ISSUER_ERR" && az_fail "disk full: an order was placed"
rm -f "$DISK/fill"
next_run "disk full"

# ---- 50 % of nonces rejected: retried, issued --------------------------------
az_stop_pebble
PEBBLE_WFE_NONCEREJECT=50 PEBBLE_AUTHZREUSE=0 az_restart_pebble
grep -q "reject 50% of good nonces" "$AZ_PEBBLE_LOG" || az_fail "pebble ignored PEBBLE_WFE_NONCEREJECT"
start=$SECONDS
next_run "PEBBLE_WFE_NONCEREJECT=50"
took=$((SECONDS - start))
bad=$(grep -c "badNonce, retrying" "$AZ_ISSUER_ERR" || true)
((bad > 0)) || az_fail "no badNonce retried with 50 % of nonces rejected"
((took <= LIMIT)) || az_fail "PEBBLE_WFE_NONCEREJECT=50: the run took $took s"
az_log "PEBBLE_WFE_NONCEREJECT=50: issued in $took s through $bad badNonce answers"
printf '%s\t%s\t%s\n' "PEBBLE_WFE_NONCEREJECT=50" "$took" "issued ($bad badNonce retried)" \
    >>"$AZ_TMP/cases"

# ---- secrets ----------------------------------------------------------------
logs=("$AZ_TMP/issuer.log" "$AZ_NAMED_LOG" "$AZ_TMP/proxy.log" "$AZ_TMP/pebble.log")
grep -q "acmezone: UPDATE from" "$AZ_NAMED_LOG" || az_fail "named's log lacks the plugin's lines"
grep -q "ACME POST" "$AZ_TMP/issuer.log" || az_fail "the issuer's log is not verbose"
for f in "${logs[@]}"; do
    if grep -qF -- "$AZ_KEY_SECRET" "$f"; then
        az_fail "the TSIG secret is in $f"
    fi
done
keys=("$DISK/state/account.key" "$AZ_CERTS/$Z/privkey.pem")
for k in "$AZ_CERTS/$Z"/.v-*/privkey.pem; do keys+=("$k"); done
checked=0
for k in "${keys[@]}"; do
    az_assert_eq 600 "$(stat -L -c %a "$k")" "mode of $k"
    while read -r line; do
        [[ $line == -----* || ${#line} -lt 16 ]] && continue
        for f in "${logs[@]}"; do
            if grep -qF -- "$line" "$f"; then
                az_fail "a line of $k is in $f"
            fi
        done
        checked=$((checked + 1))
    done <"$k"
done
az_log "secrets: no TSIG secret and none of $checked private-key lines in ${#logs[@]} logs" \
    "($(cat "${logs[@]}" | wc -c) octets); ${#keys[@]} key files 0600"
chmod 0644 "$AZ_KEY_FILE"
az_issuer "$CONF" issue --force "$Z"
az_assert_eq 2 "$AZ_ISSUER_RC" "run with a TSIG key file readable by others"
az_assert_contains "$(cat "$AZ_ISSUER_ERR")" "key file $AZ_KEY_FILE has mode 0644" \
    "the refusal names the file"
az_assert_contains "$(cat "$AZ_ISSUER_ERR")" "others may read" "the refusal says why"
chmod 0600 "$AZ_KEY_FILE"
chmod 0644 "$DISK/state/account.key"
before=$(az_tree_digest "$AZ_CERTS/$Z")
az_issuer "$CONF" issue --force "$Z"
az_assert_contains "$(cat "$AZ_ISSUER_ERR")" \
    "account key $DISK/state/account.key has mode 0644: group or others may read or write this private key; fix with: chmod 600 $DISK/state/account.key" \
    "refusal of an account key readable by others"
[[ $AZ_ISSUER_RC != 0 ]] || az_fail "a run with an account key readable by others succeeded"
az_assert_eq "$before" "$(az_tree_digest "$AZ_CERTS/$Z")" "certificate after the refused run"
chmod 0600 "$DISK/state/account.key"

az_log "cases (name, seconds, outcome):"
cat "$AZ_TMP/cases" >&2
az_log "PASS"
