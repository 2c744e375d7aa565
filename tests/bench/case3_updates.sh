# shellcheck shell=bash
# Case 3 — updates: TSIG-signed (hmac-sha256) UPDATEs acknowledged per second,
# each adding one TXT value at a new name, with dnsperf -u over UDP:
#   update.acmezone.c1 / .c32   the plugin's control socket (durable: each
#                               acknowledgement follows its journal fsync)
#   update.bind.c1 / .c32       BIND's own dynamic update of the native zone
#                               dyn.bench.test (update-policy zonesub TXT), same named
#                               (the main named: BIND's default worker threads, no -n;
#                               the control socket's threads are the plugin's own:
#                               settings.main_named says how many of each)
#   update.gdnsd.c1 / .c32      gdnsdctl acme-dns-01, one value a call (process per call;
#                               not durable: gdnsd keeps values in memory only)
#   update.gdnsd.batch100       gdnsdctl acme-dns-01 with 100 values a call, 1 client
# cN = N concurrent clients (dnsperf -c N -q N: N sockets, N UPDATEs in flight).
# 1 client is latency.py --rate (see below); 32 is dnsperf. Then the
# acknowledgement-to-served latency (latency.py), one client.

az_log "case 3: updates"
C3=$B/case3
mkdir -p "$C3"
UPD_SECONDS=${BENCH_UPDATE_SECONDS:-5}
UPD_COUNT=${BENCH_UPDATE_COUNT:-40000}

# updates_file ZONE PREFIX COUNT → file: COUNT UPDATEs, each one new name
updates_file() {
    local f=$C3/upd-$1-$2
    awk -v z="$1" -v p="$2" -v n="$3" 'BEGIN {
        for (i = 0; i < n; i++)
            printf "%s\nadd _acme-challenge.%s-%d 600 TXT \"%s-%d\"\nsend\n", z, p, i, p, i
    }' >"$f"
    echo "$f"
}
# dnsperf_ups PORT FILE CLIENTS → updates per second (FAIL unless all NOERROR)
dnsperf_ups() {
    local out
    out=$(timeout $((UPD_SECONDS + 30)) dnsperf -u -y "$BENCH_TSIG" -s 127.0.0.1 -p "$1" \
        -d "$2" -n 1 -l "$UPD_SECONDS" -T 1 -c "$3" -q "$3" -t 5 2>&1) || {
        az_log "dnsperf -u failed: $(tail -n 5 <<<"$out")"
        echo FAIL
        return
    }
    if ! grep -qE 'NOERROR [0-9]+ \(100.00%\)' <<<"$out"; then
        az_log "dnsperf -u: not all NOERROR: $(grep -iE 'response codes|lost' <<<"$out" | tr '\n' ' ')"
        echo FAIL
        return
    fi
    awk '/per second:/ { printf "%.0f", $4 }' <<<"$out"
}

# 1 client: latency.py --rate (one UPDATE after the other, 300 of them).
# dnsperf -c 1 -q 1 paces itself: it measured 25-40 UPDATEs/s against both
# servers while each round trip took 4-6 ms (latency.py), so it is not used
# for one client.
rate1() { "$PY" "$here/latency.py" "$1" "$MAIN_DNS" "$BENCH_TSIG" "$2" "$3" 300 --rate || echo FAIL; }
for ((r = 1; r <= CHEAP_RUNS; r++)); do
    rec update.acmezone.c1 "$(rate1 "$MAIN_CTL" z2.bench.test "r$r")"
    rec update.bind.c1 "$(rate1 "$MAIN_DNS" dyn.bench.test "r$r")"
    rec update.acmezone.c32 \
        "$(dnsperf_ups "$MAIN_CTL" "$(updates_file z2.bench.test "a$r-32" "$UPD_COUNT")" 32)"
    rec update.bind.c32 \
        "$(dnsperf_ups "$MAIN_DNS" "$(updates_file dyn.bench.test "b$r-32" "$UPD_COUNT")" 32)"
    rm -f "$C3"/upd-*
done
# Evidence for what an acknowledgement costs on the disk, for both writers
# in the main named: one more 32-client run of COUNT UPDATEs under strace -c,
# counting named's fsync and fdatasync calls (the plugin's journal, BIND's
# .jnl): update.WRITER.c32_updates_per_sync (what bounds the plugin at 32
# clients is its group commit: how many UPDATEs one fdatasync carries).
sync_evidence() { # WRITER PORT ZONE COUNT
    local w=$1 port=$2 zone=$3 count=$4 spid rc=0 out f done_n fds fs
    strace -f -e trace=fdatasync,fsync -c -o "$C3/strace-$w.txt" -p "$MAIN_PID" 2>"$C3/strace-$w.log" &
    spid=$!
    if ! az_wait_for 10 grep -q 'attached' "$C3/strace-$w.log"; then
        rec "update.$w.c32_updates_per_sync" "FAIL (strace did not attach: $(tail -n 1 "$C3/strace-$w.log"))"
        kill "$spid" 2>/dev/null || true
        return
    fi
    f=$(updates_file "$zone" "s32$w" "$count")
    out=$(timeout 60 dnsperf -u -y "$BENCH_TSIG" -s 127.0.0.1 -p "$port" -d "$f" -n 1 -l 20 \
        -T 1 -c 32 -q 32 -t 5 2>&1) || rc=$?
    kill -INT "$spid" 2>/dev/null || true
    wait "$spid" 2>/dev/null || true # strace ends by the SIGINT it was sent
    done_n=$(awk '/Updates completed:/ { print $3 }' <<<"$out")
    fds=$(awk '$NF == "fdatasync" { print $4 }' "$C3/strace-$w.txt")
    fs=$(awk '$NF == "fsync" { print $4 }' "$C3/strace-$w.txt")
    if ((rc != 0)) || ! grep -qE 'NOERROR [0-9]+ \(100.00%\)' <<<"$out"; then
        rec "update.$w.c32_updates_per_sync" "FAIL (dnsperf under strace, exit $rc: $(grep -iE 'codes|lost' <<<"$out" | tr '\n' ' '))"
    else
        rec "update.$w.c32_updates_per_sync" \
            "$(awk -v u="${done_n:-0}" -v s=$((${fds:-0} + ${fs:-0})) 'BEGIN { if (s > 0) printf "%.2f", u / s; else print "none: no fsync or fdatasync while it answered " u " UPDATEs" }')"
    fi
    rec "update.$w.c32_strace_note" "under strace (slower): ${done_n:-?} UPDATEs, ${fds:-0} fdatasync and ${fs:-0} fsync calls"
}
if have strace; then
    sync_evidence acmezone "$MAIN_CTL" z2.bench.test 3000
    sync_evidence bind "$MAIN_DNS" dyn.bench.test 1000
else
    rec update.acmezone.c32_updates_per_sync "not run (strace is not installed)"
    rec update.bind.c32_updates_per_sync "not run (strace is not installed)"
fi
# The values are there: one sample name of the last acmezone run.
got=$(az_dig main -- +short "_acme-challenge.a$CHEAP_RUNS-32-0.z2.bench.test" TXT)
az_assert_eq "\"a$CHEAP_RUNS-32-0\"" "$got" "case 3: a value acknowledged by the plugin is served"
rec settings.updates "plugin: replay-memory = $BENCH_REPLAY_MEMORY (the default, 100000, refuses signed messages past 100000 per fudge window); 1 client: latency.py --rate, 300 UPDATEs one after the other; 32 clients: dnsperf -u -y hmac-sha256 -T 1 -c 32 -q 32 -n 1 -l $UPD_SECONDS over UDP, each UPDATE one new name with one TXT; BIND: same named (no -n: $(named_workers main) worker threads), native zone with update-policy { grant acme-key zonesub TXT; }"
# What each writer's threads were (report.py says what each acknowledgement promises).
rec settings.threads.acmezone "the control socket's own threads inside the main named: $(sed -n 's/.*kUdpThreads = \([0-9]*\);.*/\1/p' "$root/plugin/control_transport.h") UDP, 1 TCP, the store's committer (named's -n does not limit them)"
rec settings.threads.bind "named without -n (BIND's default, a worker a CPU): $(named_workers main) worker threads"

for ((r = 1; r <= RUNS; r++)); do
    out=$("$PY" "$here/latency.py" "$MAIN_CTL" "$MAIN_DNS" "$BENCH_TSIG" z3.bench.test "l$r" 200) ||
        out=FAIL
    rec latency.acmezone "$out"
    out=$("$PY" "$here/latency.py" "$MAIN_DNS" "$MAIN_DNS" "$BENCH_TSIG" dyn.bench.test "l$r" 200) ||
        out=FAIL
    rec latency.bind "$out"
done

# ---- gdnsd ---------------------------------------------------------------------------
if have gdnsd && have gdnsdctl; then
    G=$B/gdnsd
    mkdir -p "$G/config/zones" "$G/run" "$G/state"
    GDNS=$(az_free_port)
    cat >"$G/config/config" <<EOF
options => {
    listen => [ 127.0.0.1 ]
    dns_port => $GDNS
    run_dir => "$G/run"
    state_dir => "$G/state"
    acme_challenge_ttl => 600
}
EOF
    cat >"$G/config/zones/gd.bench.test" <<'EOF'
@ SOA ns1.bench.test. hostmaster.bench.test. 1 3600 600 86400 0
@ NS ns1.bench.test.
EOF
    az_start_bg gdnsd gdnsd -c "$G/config" start
    GDNSD_PID=$AZ_BG_PID
    if az_wait_for 20 dig @127.0.0.1 -p "$GDNS" +time=1 +tries=1 gd.bench.test SOA; then
        rec version.gdnsd_run "$(gdnsd -c "$G/config" -h 2>&1 | sed -n 's/^gdnsd version //p' | head -n 1)"
        # gdnsd_calls CLIENTS CALLS PAIRS_PER_CALL PREFIX → values per second
        gdnsd_calls() {
            local clients=$1 calls=$2 pairs=$3 p=$4 s i j
            awk -v c="$calls" -v n="$pairs" -v p="$p" 'BEGIN {
                for (i = 0; i < c; i++) {
                    line = ""
                    for (j = 0; j < n; j++)
                        line = line sprintf(" %s-%d-%d.gd.bench.test p%042d", p, i, j, i * n + j)
                    print substr(line, 2)
                }
            }' >"$G/calls"
            s=$(now)
            timeout 120 xargs -P "$clients" -L 1 gdnsdctl -c "$G/config" -o -t 5 acme-dns-01 \
                <"$G/calls" >"$G/calls.log" 2>&1 || {
                az_log "gdnsdctl: $(tail -n 3 "$G/calls.log")"
                echo FAIL
                return
            }
            awk -v n=$((calls * pairs)) -v s="$s" -v e="$(now)" 'BEGIN { printf "%.0f", n / (e - s) }'
        }
        for ((r = 1; r <= RUNS; r++)); do
            rec update.gdnsd.c1 "$(gdnsd_calls 1 300 1 "g$r-1")"
            rec update.gdnsd.c32 "$(gdnsd_calls 32 1000 1 "g$r-32")"
            rec update.gdnsd.batch100 "$(gdnsd_calls 1 20 100 "g$r-b")"
        done
        got=$(dig @127.0.0.1 -p "$GDNS" +short +norec "_acme-challenge.g1-1-0-0.gd.bench.test" TXT)
        [[ -n $got ]] || rec update.gdnsd.note "a value added by gdnsdctl was not served: $got"
        rec settings.threads.gdnsd "gdnsd's default threads; each gdnsdctl call a process of its own, over gdnsd's UNIX control socket"
        rec settings.gdnsd "gdnsd 3 (its default threads), gdnsdctl -o -t 5 acme-dns-01 over the UNIX control socket; c1 = 300 calls one after the other, c32 = 1000 calls 32 at a time (xargs -P 32), batch100 = 20 calls of 100 values"
    else
        az_log "gdnsd did not start: $(tail -n 5 "$B/gdnsd.log")"
        rec update.gdnsd.c1 FAIL
        rec update.gdnsd.c32 FAIL
    fi
    kill -TERM "$GDNSD_PID" 2>/dev/null || true
else
    rec update.gdnsd.c1 n/a
    rec update.gdnsd.c32 n/a
fi
