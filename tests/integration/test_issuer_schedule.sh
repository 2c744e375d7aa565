#!/usr/bin/env bash
# acmezone-issuer's schedule (real named with the plugin, real Pebble; ARI
# through acme_fault_proxy.py --ari, since Pebble 2.4 has no renewalInfo):
#   (1) a renewal pass renews only the due certificates: three zones issued;
#       the proxy's renewalInfo offers one of them a window already open and
#       the others one a month ahead; `run` renews only that one (new serial,
#       its order carries "replaces": its certID), leaves the others alone,
#       and status shows their ARI windows
#   (2) two concurrent passes: while one holds the lock, `run` exits 3 at
#       once naming the holder's pid
#   (3) kill -9 in the middle of validation (the TXT values visible): the
#       old certificate is still in place and valid; the state records the
#       order; the next `run` removes exactly the values left behind, resumes
#       (or abandons) the order and completes: a new valid certificate, no TXT
#       left, the other zones untouched
#   (4) backoff: a zone that fails gets a retry time; the next `run` does not
#       attempt it before then (and the other zones are not held up)
#   (5) daemon: starts and issues what is missing; SIGHUP with a zone added
#       issues it; SIGHUP with a broken configuration keeps the old one;
#       SIGTERM while a zone is in flight lets it finish (stop-grace), then
#       the daemon exits 0 within a bound, leaving no TXT value
#   (6) two key types: renewalInfo is asked for each certificate; a window
#       open for the RSA certificate alone makes the zone due, and each key
#       type's order replaces that type's own certificate
#   (7) a key type added to the configuration later: the zone is due at
#       once (status says which type is lacking), and the next `run` makes
#       the pair, not the renewal months later
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pebble.sh"
source "$(dirname "$0")/issuer_lib.sh"
az_setup

Z=(s1.example.com s2.example.com s3.example.com)
LATE=(s4.example.com s5.example.com)  # served by the plugin; configured later (daemon)
BAD=nowhere.example.com              # served nowhere: fails before any order
TWO=s6.example.com                    # two key types (6)
az_plugin_setup "${Z[@]}" "${LATE[@]}" "$TWO"
az_start_named "$AZ_PLUGIN_FRAGMENT"
# No authorization reuse: every order has challenges to publish (so (3) and
# (5) always find values to wait for). No nonce rejected: a badNonce retry is
# a second POST to the same challenge, and the proxy's fault counts in (3)
# and (5) count POSTs (retries are issuer_faults' and issuer_retries' part).
PEBBLE_AUTHZREUSE=0 PEBBLE_WFE_NONCEREJECT=0 az_start_pebble "$AZ_NAMED_PORT"

serial() { openssl x509 -in "$AZ_CERTS/$1/cert.pem" -noout -serial | cut -d= -f2; }

# certID (RFC 9773) of a zone's certificate, from openssl's own output:
# base64url(AKI keyIdentifier) "." base64url(serial as DER INTEGER content).
cert_id() {
    local aki ser
    aki=$(openssl x509 -in "$AZ_CERTS/$1/cert.pem" -noout -ext authorityKeyIdentifier |
        tail -n +2 | sed -e 's/^ *//' -e 's/^keyid://' | head -n 1)
    ser=$(serial "$1")
    python3 - "$aki" "$ser" <<'PY'
import base64, sys
b64 = lambda b: base64.urlsafe_b64encode(b).decode().rstrip("=")
aki = bytes.fromhex(sys.argv[1].replace(":", ""))
n = int(sys.argv[2], 16)
der = n.to_bytes((n.bit_length() + 8) // 8, "big")  # DER: a leading 0 when the top bit is set
print(b64(aki) + "." + b64(der))
PY
}

# A config through the proxy, with [certs]/[daemon] extras.
conf_via_proxy() {
    local file=$1
    shift
    az_issuer_conf "$file" "$@"
    sed -i "s|^directory = .*|directory = $AZ_PROXY_DIR|" "$file"
}

txt_count() { az_dig "_acme-challenge.$1" TXT +noall +answer | awk '$4 == "TXT"' | wc -l; }

state_json() { cat "$AZ_TMP/issuer-state/zones/$1.json"; }

# ---- (1) only the due certificate is renewed -------------------------------
CONF=$AZ_TMP/direct.conf
az_issuer_conf "$CONF" "${Z[@]}"
az_issuer "$CONF" run
az_assert_eq 0 "$AZ_ISSUER_RC" "first run: $(cat "$AZ_ISSUER_ERR")"
declare -A before
for z in "${Z[@]}"; do
    az_verify_cert "$z"
    before[$z]=$(serial "$z")
done
due=${Z[1]}
due_id=$(cert_id "$due")
az_log "$due certID (from openssl): $due_id"
# Pebble 2.4: no renewalInfo, so renew-before decides and nothing is due.
az_issuer "$CONF" run
az_assert_eq 0 "$AZ_ISSUER_RC" "second run: $(cat "$AZ_ISSUER_ERR")"
az_assert_contains "$(cat "$AZ_ISSUER_ERR")" "not due: renewal at" "nothing due without ARI"

az_start_fault_proxy --ari --ari-window "$due_id=-7200:-60" --ari-default 2592000:2678400 \
    --ari-retry-after 3600
ARI=$AZ_TMP/ari.conf
conf_via_proxy "$ARI" "${Z[@]}"
az_issuer "$ARI" run
err=$(cat "$AZ_ISSUER_ERR")
az_assert_eq 0 "$AZ_ISSUER_RC" "ARI run: $err"
for z in "${Z[@]}"; do
    az_verify_cert "$z"
    if [[ $z == "$due" ]]; then
        [[ $(serial "$z") != "${before[$z]}" ]] || az_fail "$z (due by ARI) was not renewed: $err"
        az_assert_eq ".v-2" "$(readlink "$AZ_CERTS/$z/current")" "$z renewed once"
    else
        az_assert_eq "${before[$z]}" "$(serial "$z")" "$z (not due) kept its certificate"
        az_assert_eq ".v-1" "$(readlink "$AZ_CERTS/$z/current")" "$z: no new version"
    fi
done
faults=$(cat "$AZ_FAULTS_LOG")
az_assert_contains "$faults" "GET /renewalInfo/$due_id -> window -7200 -60" "renewalInfo asked for $due"
az_assert_eq 3 "$(grep -c '^GET /renewalInfo/' <<<"$faults")" "renewalInfo asked once per zone"
# Only orders for the due zone, each replacing its certificate (a newOrder
# POST may be sent twice: Pebble rejects 5 % of nonces as badNonce).
az_assert_eq "newOrder replaces=$due_id" "$(grep '^newOrder ' <<<"$faults" | sort -u)" \
    "the ARI pass ordered only for $due, with replaces: $faults"
az_issuer "$ARI" status --json
python3 - "$AZ_ISSUER_OUT" "$due" <<'PY' || az_fail "status --json: $(cat "$AZ_ISSUER_OUT")"
import json, sys, datetime
rows = {r["zone"]: r for r in json.load(open(sys.argv[1]))}
now = datetime.datetime.now(datetime.timezone.utc)
for z, r in rows.items():
    assert r["state"] == "valid" and r["last_result"] == "ok" and r["failures"] == 0, r
    assert r["next_action"] == "renew", r
    if z == sys.argv[2]:
        continue  # a new certificate: its window is asked for on the next pass
    assert r["renew_basis"] == "ARI window", r
    start = datetime.datetime.strptime(r["ari_window"]["start"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc)
    assert 29 <= (start - now).days <= 30, r
    at = datetime.datetime.strptime(r["renew_at"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc)
    assert 29 <= (at - now).days <= 31, r
PY
# Retry-After (3600 s) not passed: the next run asks the CA nothing for the
# two old certificates, only for the new one.
: >"$AZ_FAULTS_LOG"
az_issuer "$ARI" run
az_assert_eq 0 "$AZ_ISSUER_RC" "run after the ARI renewal: $(cat "$AZ_ISSUER_ERR")"
az_assert_eq 1 "$(grep -c '^GET /renewalInfo/' "$AZ_FAULTS_LOG")" \
    "only the new certificate's window is asked for: $(cat "$AZ_FAULTS_LOG")"
az_assert_eq 0 "$(grep -c '^newOrder ' "$AZ_FAULTS_LOG")" "no order when nothing is due"
az_stop_fault_proxy
az_log "(1) a renewal pass renewed only the due certificate"

# ---- (2) + (3) lock, kill -9 during validation, recovery -------------------
victim=${Z[2]}
# The first challenge response is answered slowly (one octet per 0.5 s for
# up to 60 s): the issuer sits in "validating" with its values published.
az_start_fault_proxy --fault "POST:/chalZ/:1:slow" --slow-seconds 60
KILL=$AZ_TMP/kill.conf
conf_via_proxy "$KILL" "${Z[@]}"
tree_before=$(az_tree_digest "$AZ_CERTS/$victim")
serial_before=$(serial "$victim")
"$ACMEZONE_ISSUER" --config "$KILL" issue --force "$victim" >"$AZ_TMP/kill.out" 2>"$AZ_TMP/kill.err" &
victim_pid=$!
az_track_pid "$victim_pid"
az_wait_for 60 grep -q "$victim: validating" "$AZ_TMP/kill.err" ||
    az_fail "never reached validation: $(cat "$AZ_TMP/kill.err")"
az_wait_for 20 grep -q "POST /chalZ/.* -> slow" "$AZ_FAULTS_LOG" || az_fail "no slow response"
# Every value the issuer published is served while it validates: 2 (Z and
# *.Z), or 1 when Pebble reused the authorization (1) validated for one of the
# names. Pebble 2.4 does that even with PEBBLE_AUTHZREUSE=0, for about 1 name
# in 100: wfe.go makes a new authorization only when `rand.Intn(100) >
# authzReusePercent`, false when the roll is 0 (seen here: "publishing 1
# value(s)", the fourth of eight runs).
published=$(sed -n "s/.*$victim: publishing \([0-9]*\) value(s) at .*/\1/p" "$AZ_TMP/kill.err" | head -n 1)
[[ $published =~ ^[12]$ ]] ||
    az_fail "the issuer did not say it published 1 or 2 values: $(tail -n 20 "$AZ_TMP/kill.err")"
((published == 2)) || az_log "1 value published (Pebble reused an authorization)"
az_assert_eq "$published" "$(txt_count "$victim")" "the values published while validating (the issuer said: $(grep -E 'publishing|validating|already valid' "$AZ_TMP/kill.err" | tr '\n' ';'); served: $(az_dig "_acme-challenge.$victim" TXT +short | tr '\n' ' '))"

# (2) a second pass while this one holds the lock
az_issuer "$KILL" run
az_assert_eq 3 "$AZ_ISSUER_RC" "run while another pass holds the lock: $(cat "$AZ_ISSUER_ERR")"
az_assert_contains "$(cat "$AZ_ISSUER_ERR")" "pid $victim_pid" "the message names the holder"
az_assert_contains "$(cat "$AZ_ISSUER_ERR")" "issuer-state/lock" "the message names the lock"
az_log "(2) the second pass exited 3 at once: $(grep -o 'another.*' "$AZ_ISSUER_ERR")"

# (3) kill -9
kill -KILL "$victim_pid"
wait "$victim_pid" 2>/dev/null || true
az_assert_eq "$published" "$(txt_count "$victim")" "the killed run's values are still published"
az_assert_eq "$tree_before" "$(az_tree_digest "$AZ_CERTS/$victim")" \
    "$victim's files after kill -9 (old certificate in place)"
az_verify_cert "$victim"
python3 - "$(state_json "$victim")" "$victim" "$published" <<'PY' || az_fail "state after kill -9: $(state_json "$victim")"
import json, sys
s = json.loads(sys.argv[1])
o = s["order"]
assert o["url"].startswith("https://") and len(o["values"]) == int(sys.argv[3]), s
assert o["owner"] == "_acme-challenge." + sys.argv[2], s
assert len(o["controls"]) == 1, s
PY
az_issuer "$KILL" status --json
python3 - "$AZ_ISSUER_OUT" "$victim" <<'PY' || az_fail "status after kill: $(cat "$AZ_ISSUER_OUT")"
import json, sys
r = {r["zone"]: r for r in json.load(open(sys.argv[1]))}[sys.argv[2]]
assert r["state"] == "valid" and r["order_in_flight"], r
PY
az_issuer "$KILL" run
err=$(cat "$AZ_ISSUER_ERR")
az_assert_eq 0 "$AZ_ISSUER_RC" "run after kill -9: $err"
az_assert_contains "$err" "$victim: an interrupted run left order" "the leftover order is found"
az_assert_contains "$err" "removed its $published value(s) at _acme-challenge.$victim" "its values removed"
grep -qE "$victim: (resuming|abandoning) order" <<<"$err" || az_fail "order neither resumed nor abandoned: $err"
az_log "the order: $(grep -oE "$victim: (resuming|abandoning) order.*" <<<"$err")"
az_assert_no_txt "_acme-challenge.$victim"
az_verify_cert "$victim"
[[ $(serial "$victim") != "$serial_before" ]] || az_fail "$victim: the interrupted renewal was not completed"
python3 - "$(state_json "$victim")" <<'PY' || az_fail "state after recovery: $(state_json "$victim")"
import json, sys
s = json.loads(sys.argv[1])
assert "order" not in s and "resume_order" not in s and s["last_result"] == "ok", s
PY
for z in "${Z[@]:0:2}"; do
    az_verify_cert "$z"
    az_assert_no_txt "_acme-challenge.$z"
done
az_stop_fault_proxy
az_log "(3) after kill -9: values removed, order completed, certificates valid"

# ---- (4) backoff ------------------------------------------------------------
BACK=$AZ_TMP/backoff.conf
az_issuer_conf "$BACK" "${Z[@]}" "$BAD"
az_issuer "$BACK" run
az_assert_eq 1 "$AZ_ISSUER_RC" "run with a failing zone: $(cat "$AZ_ISSUER_ERR")"
az_assert_contains "$(cat "$AZ_ISSUER_ERR")" "$BAD: FAILED" "the failure is reported"
az_assert_contains "$(cat "$AZ_ISSUER_ERR")" "(attempt 1; next after" "the retry time is reported"
python3 - "$(state_json "$BAD")" <<'PY' || az_fail "state of the failed zone: $(state_json "$BAD")"
import json, sys, datetime
s = json.loads(sys.argv[1])
parse = lambda t: datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%SZ")
assert s["failures"] == 1 and s["last_result"] == "failed", s
wait = (parse(s["retry_at"]) - parse(s["last_attempt"])).total_seconds()
assert 240 <= wait <= 301, wait  # retry-min 300 s, up to a fifth less
PY
az_issuer "$BACK" run
err=$(cat "$AZ_ISSUER_ERR")
az_assert_eq 0 "$AZ_ISSUER_RC" "run while the failed zone backs off: $err"
az_assert_contains "$err" "$BAD: missing, failed 1 time(s); next attempt at" "backoff reported"
az_assert_not_contains "$err" "$BAD: FAILED" "no attempt during the backoff"
az_assert_eq 1 "$(python3 -c 'import json,sys; print(json.load(sys.stdin)["failures"])' \
    <<<"$(state_json "$BAD")")" "failures unchanged during the backoff"
az_log "(4) the failed zone waits for its retry time"

# ---- (5) daemon -------------------------------------------------------------
# Through a proxy that holds one challenge response (one octet per 0.5 s)
# until the file $RELEASE appears (15 s at most; the issuer's HTTP timeout is
# 20 s), after letting through the two of the first pass's zone: the SIGTERM
# below lands while the zone added later is in flight, however fast the
# machine, and the answer is released only after it.
RELEASE=$AZ_TMP/release-slow-answer
az_start_fault_proxy --fault "POST:/chalZ/:1:slow:2" --slow-seconds 15 --slow-release "$RELEASE"
DAEMON=$AZ_TMP/daemon.conf
write_daemon_conf() {
    conf_via_proxy "$DAEMON" "$@"
    printf '[daemon]\nmax-sleep = 3600\nstop-grace = 60\n' >>"$DAEMON"
}
write_daemon_conf "${Z[@]}" "${LATE[0]}"
DLOG=$AZ_TMP/daemon.err
"$ACMEZONE_ISSUER" --config "$DAEMON" daemon >"$AZ_TMP/daemon.out" 2>"$DLOG" &
daemon_pid=$!
az_track_pid "$daemon_pid"
az_wait_for 60 grep -q "daemon: next pass at" "$DLOG" || az_fail "daemon: no first pass: $(cat "$DLOG")"
az_assert_contains "$(cat "$DLOG")" "${LATE[0]}: issued" "the daemon issued the missing zone"
az_verify_cert "${LATE[0]}"
kill -0 "$daemon_pid" || az_fail "daemon exited after its pass: $(cat "$DLOG")"
az_assert_contains "$(grep 'daemon: next pass at' "$DLOG" | tail -n 1)" "(in 60 min)" \
    "nothing due: sleeps max-sleep"
# the premise of the SIGTERM below: the slow answer is still to come
az_assert_eq 0 "$(grep -c -- '-> slow' "$AZ_FAULTS_LOG")" \
    "the first pass's two challenge responses were not held: $(cat "$AZ_FAULTS_LOG")"

# A broken configuration: reported, the old one kept.
cp "$DAEMON" "$AZ_TMP/daemon.good"
sed -i 's/^parallel = 8$/parallel = 0/' "$DAEMON"
kill -HUP "$daemon_pid"
az_wait_for 20 grep -q "keeping the configuration loaded before" "$DLOG" ||
    az_fail "daemon: broken config not reported: $(cat "$DLOG")"
az_assert_contains "$(cat "$DLOG")" "daemon.conf:" "the error names the file"
az_assert_contains "$(cat "$DLOG")" "certs.parallel" "the error names the key"
kill -0 "$daemon_pid" || az_fail "daemon died on a broken configuration: $(cat "$DLOG")"

# A zone added, then SIGHUP: issued; SIGTERM while it is in flight.
write_daemon_conf "${Z[@]}" "${LATE[@]}"
kill -HUP "$daemon_pid"
az_wait_for 30 grep -q "${LATE[1]}: validating" "$DLOG" ||
    az_fail "daemon: the added zone was not started: $(cat "$DLOG")"
az_wait_for 20 grep -q "POST /chalZ/.* -> slow" "$AZ_FAULTS_LOG" || az_fail "no slow response"
kill -TERM "$daemon_pid"
kill -0 "$daemon_pid" || az_fail "daemon exited on SIGTERM with a zone in flight: $(tail -n 5 "$DLOG")"
az_assert_not_contains "$(cat "$DLOG")" "${LATE[1]}: issued" "the zone in flight before its answer is released"
touch "$RELEASE"
stopped=0
for ((i = 0; i < 300; i++)); do  # 30 s: the issuance after the released answer
    if ! kill -0 "$daemon_pid" 2>/dev/null; then
        stopped=1
        break
    fi
    sleep 0.1
done
[[ $stopped == 1 ]] || az_fail "daemon still running 30 s after SIGTERM: $(tail -n 5 "$DLOG")"
rc=0
wait "$daemon_pid" || rc=$?
az_assert_eq 0 "$rc" "daemon exit status after SIGTERM: $(tail -n 5 "$DLOG")"
log=$(cat "$DLOG")
az_assert_contains "$log" "SIGHUP: configuration re-read" "SIGHUP logged"
az_assert_contains "$log" "${LATE[1]}: issued" "the zone in flight finished after SIGTERM"
az_assert_contains "$log" "daemon: stopped on a signal" "the daemon says why it stopped"
az_verify_cert "${LATE[1]}"
for z in "${Z[@]}" "${LATE[@]}"; do
    az_assert_no_txt "_acme-challenge.$z"
done
az_log "(5) daemon: issued, SIGHUP re-read (bad config kept the old), SIGTERM finished the zone in flight"
az_stop_fault_proxy

# ---- (6) two key types ------------------------------------------------------
two_types() { sed -i 's/^\[certs\]$/[certs]\nkey-type = ecdsa-p256 rsa-2048/' "$1"; }
TWOCONF=$AZ_TMP/two.conf
az_issuer_conf "$TWOCONF" "$TWO"
two_types "$TWOCONF"
az_issuer "$TWOCONF" run
az_assert_eq 0 "$AZ_ISSUER_RC" "first run with two key types: $(cat "$AZ_ISSUER_ERR")"
az_verify_cert "$TWO"
ec_id=$(cert_id "$TWO/ecdsa-p256")
rsa_id=$(cert_id "$TWO/rsa-2048")
ec_serial=$(serial "$TWO/ecdsa-p256")
rsa_serial=$(serial "$TWO/rsa-2048")
[[ $ec_id != "$rsa_id" ]] || az_fail "one certID for two certificates: $ec_id"
az_start_fault_proxy --ari --ari-window "$rsa_id=-7200:-60" --ari-default 2592000:2678400 \
    --ari-retry-after 3600
TWOARI=$AZ_TMP/two-ari.conf
conf_via_proxy "$TWOARI" "$TWO"
two_types "$TWOARI"
az_issuer "$TWOARI" run
err=$(cat "$AZ_ISSUER_ERR")
az_assert_eq 0 "$AZ_ISSUER_RC" "ARI run with two key types: $err"
faults=$(cat "$AZ_FAULTS_LOG")
az_assert_contains "$faults" "GET /renewalInfo/$ec_id -> window 2592000" "ECDSA window asked"
az_assert_contains "$faults" "GET /renewalInfo/$rsa_id -> window -7200 -60" "RSA window asked"
az_assert_eq "$(printf 'newOrder replaces=%s\n' "$ec_id" "$rsa_id" | sort)" \
    "$(grep '^newOrder ' <<<"$faults" | sort -u)" \
    "each key type's order replaces its own certificate: $faults"
az_verify_cert "$TWO"
[[ $(serial "$TWO/ecdsa-p256") != "$ec_serial" ]] || az_fail "$TWO: ECDSA not renewed: $err"
[[ $(serial "$TWO/rsa-2048") != "$rsa_serial" ]] || az_fail "$TWO: RSA not renewed: $err"
az_assert_eq ".v-2" "$(readlink "$AZ_CERTS/$TWO/current")" "$TWO: the pair renewed together"
az_assert_no_txt "_acme-challenge.$TWO"
az_stop_fault_proxy
az_log "(6) two key types: due by the RSA certificate's window; replaces per key type"

# ---- (7) a key type added later --------------------------------------------
ADD=${Z[0]}
[[ -f $AZ_CERTS/$ADD/cert.pem && ! -e $AZ_CERTS/$ADD/rsa-2048 ]] ||
    az_fail "$ADD should hold one ECDSA certificate before (7)"
add_serial=$(serial "$ADD")
ADDCONF=$AZ_TMP/added-type.conf
az_issuer_conf "$ADDCONF" "$ADD"
az_issuer "$ADDCONF" status --json
az_assert_eq 0 "$AZ_ISSUER_RC" "status of $ADD with one key type"
st=$(python3 -c 'import json,sys; z=json.load(sys.stdin)[0]; print(z["state"], "|", z["renew_basis"])' <"$AZ_ISSUER_OUT")
az_assert_eq "valid | renew-before" "$st" "$ADD before rsa-2048 is configured"
two_types "$ADDCONF"
az_issuer "$ADDCONF" status --json
az_assert_eq 1 "$AZ_ISSUER_RC" "status with a key type lacking"
st=$(python3 -c 'import json,sys; z=json.load(sys.stdin)[0]; print(z["state"], "|", z["renew_basis"])' <"$AZ_ISSUER_OUT")
az_assert_eq "due | no rsa-2048 certificate yet" "$st" "$ADD with rsa-2048 added"
az_issuer "$ADDCONF" run
az_assert_eq 0 "$AZ_ISSUER_RC" "run after adding rsa-2048: $(cat "$AZ_ISSUER_ERR")"
az_verify_cert "$ADD"
[[ -f $AZ_CERTS/$ADD/rsa-2048/cert.pem ]] || az_fail "$ADD: no RSA certificate after the run"
openssl x509 -in "$AZ_CERTS/$ADD/rsa-2048/cert.pem" -noout -text | grep -q "rsaEncryption" ||
    az_fail "$ADD: rsa-2048/cert.pem holds no RSA key"
[[ $(serial "$ADD/ecdsa-p256") != "$add_serial" ]] || az_fail "$ADD: the ECDSA certificate was not made again with the pair"
az_issuer "$ADDCONF" status --json
st=$(python3 -c 'import json,sys; z=json.load(sys.stdin)[0]; print(z["state"], len(z["certificates"]))' <"$AZ_ISSUER_OUT")
az_assert_eq "valid 2" "$st" "$ADD after the run"
az_assert_no_txt "_acme-challenge.$ADD"
az_log "(7) a key type added later: due at once, the pair made by the next run"
az_log "PASS"
