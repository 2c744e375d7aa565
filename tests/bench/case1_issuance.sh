# shellcheck shell=bash
# Case 1 — issuance: {Z, *.Z}, ECDSA P-256, for N zones, wall time from the
# command's start to its exit with every certificate on disk. Sourced by
# bench.sh (main named with the plugin is up: MAIN_DNS, MAIN_CTL).
#
# Every tool writes its TXT values through the plugin's control socket with
# the same TSIG key; Pebble (one instance for all) validates by asking the
# same named. Each tool first registers its ACME account in an untimed
# warm-up issuance, so that the timed runs measure issuance only. Runs are
# interleaved tool by tool so that drifting background load hits all alike.
# acmezone issues the zones of one run 16 at once (parallel = 16). The peers
# issue one zone per invocation (none takes a list of separate certificates
# in one process), and each is run two ways at N > 1: one zone after the
# other, as their documentation runs them, and 16 invocations at once (as
# `xargs -P 16` would run them: a new one starts when one ends) where the
# tool allows it: uacme and lego do; certbot refuses a second instance
# (its lock on the config, work and logs directories), which the case
# checks and records (issue.certbot.atonce). N = 1 is the time for one zone.

az_log "case 1: issuance"
export PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0
az_start_pebble "$MAIN_DNS"
rec settings.pebble "PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0 (no reused authorizations: every order publishes and validates 2 dns-01 challenges)"

C1=$B/case1
mkdir -p "$C1"
# A CA bundle with Pebble's HTTPS root, for the tools that take no CA option.
cat /etc/ssl/certs/ca-certificates.crt "$AZ_PEBBLE_TLS_CA" >"$C1/bundle.pem"

# Time limits, from the 20-minute budget: a run that has not finished by then
# is killed and recorded as FAIL, with the tail of its log and of Pebble's in
# the report (issue.failure), instead of waiting minutes on a CA that stopped
# answering. acmezone takes about 1 s for 1 zone and 3.3 s for 100 on an idle
# machine: its limit is 15 s + 0.5 s a zone (65 s at 100). A peer's limit is
# per zone (it issues one zone per invocation): 2-8 s each when idle. SIGTERM
# first (the issuer finishes the zone in flight), SIGKILL 5 s later.
az_limit() { echo $((${BENCH_AZ_TIMEOUT_BASE:-15} + $1 / 2)); }
PEER_ZONE_LIMIT=${BENCH_PEER_ZONE_TIMEOUT:-40}
# c1_fail WHAT LOG RC LIMIT: note why a run failed (for c1_run) and print FAIL
c1_fail() {
    {
        if (($3 == 124 || $3 == 137)); then
            echo "$1: killed at its limit of $4 s (exit $3)"
        else
            echo "$1: exit $3"
        fi
        echo "-- last lines of $(basename "$2"):"
        tail -n 12 "$2" 2>/dev/null | cut -c1-300
        echo "-- last lines of pebble.log:"
        tail -n 4 "$AZ_PEBBLE_LOG" 2>/dev/null | cut -c1-300
    } >"$C1/fail"
    echo "$3" >"$C1/fail-rc"
    az_log "$(head -n 1 "$C1/fail")"
    echo FAIL
}

zones_list() { # N → file with z1..zN
    local n=$1 f=$C1/zones-$1 i
    [[ -f $f ]] || for ((i = 1; i <= n; i++)); do zone_name $i; done >"$f"
    echo "$f"
}

# ---- acmezone-issuer ---------------------------------------------------------
AZ_PARALLEL=${BENCH_AZ_PARALLEL:-16}
az_issuer_conf() { # CERTDIR ZONESFILE → conf path
    local conf=$1.conf
    bench_issuer_conf "$C1/acmezone-state" "$2" "$1" "$MAIN_CTL" "$MAIN_DNS" \
        "parallel = $AZ_PARALLEL" >"$conf"
    echo "$conf"
}
run_acmezone() { # N RUNID
    local n=$1 d=$C1/acmezone-$1-$2 conf s
    conf=$(az_issuer_conf "$d" "$(zones_list "$n")")
    local limit rc=0
    limit=$(az_limit "$n")
    s=$(now)
    timeout -k 5 "$limit" "$ACMEZONE_ISSUER" --config "$conf" run >"$d.log" 2>&1 || rc=$?
    if ((rc != 0)); then
        c1_fail "acmezone N=$n run $2" "$d.log" "$rc" "$limit"
        return
    fi
    local t
    t=$(elapsed "$s")
    local got
    got=$(find "$d" -mindepth 2 -maxdepth 2 -name cert.pem 2>/dev/null | wc -l)
    if ((got != n)); then
        echo "$got certificates, not $n" >>"$d.log"
        c1_fail "acmezone N=$n run $2" "$d.log" 1 "$limit"
        return
    fi
    echo "$t"
}
rec settings.acmezone "parallel = $AZ_PARALLEL, check-server = named (every value checked served before the CA is asked), propagation-timeout = 30"

# ---- the peers: one zone per invocation ---------------------------------------
# c1_peer_run TOOL N RUNID [AT_ONCE]: run_TOOL_one for each of the N zones, one
# after the other, or with AT_ONCE > 1 that many at a time (a new one starts
# when one ends, as xargs -P does), each invocation with its own log; prints
# the wall time from the first start to the last end, or FAIL (c1_fail) when
# any invocation failed.
c1_peer_run() {
    local tool=$1 n=$2 id=$3 at_once=${4:-1} s z rc=0 d pids=() zs=() i
    d=$C1/$tool-$n-$id-x$at_once
    mkdir -p "$d"
    s=$(now)
    if ((at_once <= 1)); then
        while read -r z; do
            "run_${tool}_one" "$z" >"$d/$z.log" 2>&1 </dev/null || rc=$?
            if ((rc != 0)); then
                c1_fail "$tool N=$n run $id zone $z" "$d/$z.log" "$rc" "$PEER_ZONE_LIMIT"
                return
            fi
        done <"$(zones_list "$n")"
        elapsed "$s"
        return
    fi
    # (our own pids: `jobs` here would also list the servers bench.sh started)
    local running=() alive p
    while read -r z; do
        while ((${#running[@]} >= at_once)); do
            wait -n "${running[@]}" || true
            alive=()
            for p in "${running[@]}"; do kill -0 "$p" 2>/dev/null && alive+=("$p"); done
            running=("${alive[@]}")
        done
        "run_${tool}_one" "$z" >"$d/$z.log" 2>&1 </dev/null &
        pids+=($!)
        running+=($!)
        zs+=("$z")
    done <"$(zones_list "$n")"
    local failed=""
    for i in "${!pids[@]}"; do
        rc=0
        wait "${pids[$i]}" || rc=$?
        if ((rc != 0)) && [[ -z $failed ]]; then
            failed=${zs[$i]}
            c1_fail "$tool N=$n run $id ($at_once at once) zone $failed" "$d/$failed.log" "$rc" \
                "$PEER_ZONE_LIMIT" >/dev/null
        fi
    done
    if [[ -n $failed ]]; then
        echo FAIL
        return
    fi
    local t
    t=$(elapsed "$s")
    echo "$t"
}

# ---- uacme + nsupdate hook -----------------------------------------------------
# uacme (libcurl-gnutls) reads only the system CA bundle: each invocation runs
# in a private mount namespace with the bundle bind-mounted over it, so the
# machine's own trust store is never changed.
run_uacme_one() { # ZONE
    BENCH_CTL_PORT=$MAIN_CTL BENCH_DNS_PORT=$MAIN_DNS \
        timeout -k 5 "$PEER_ZONE_LIMIT" unshare -m sh -c 'mount --bind "$0" /etc/ssl/certs/ca-certificates.crt && exec "$@"' \
        "$C1/bundle.pem" uacme -a "$AZ_PEBBLE_DIR" -c "$C1/uacme" -t EC -b 256 -y -f \
        -h "$here/uacme-hook.sh" issue "$1" "*.$1"
}
uacme_account() { # untimed warm-up: the account
    local conf=$C1/uacme
    [[ ! -f $conf/private/key.pem ]] || return 0
    mkdir -p "$conf"
    timeout 60 unshare -m sh -c 'mount --bind "$0" /etc/ssl/certs/ca-certificates.crt && exec "$@"' \
        "$C1/bundle.pem" uacme -a "$AZ_PEBBLE_DIR" -c "$conf" -t EC -b 256 -y new \
        >"$C1/uacme-new.log" 2>&1 || az_log "uacme new: $(tail -n 3 "$C1/uacme-new.log")"
}
run_uacme() { # N RUNID [AT_ONCE]
    uacme_account
    c1_peer_run uacme "$@"
}
rec settings.uacme "uacme -t EC -b 256 -f, hook tests/bench/uacme-hook.sh (uacme's own nsupdate.sh behaviour: nsupdate add, dig until served, checking again after 1 s if not; delete the RRset on done); uacme validates the two authorizations one after the other"

# ---- certbot + dns-rfc2136 -------------------------------------------------------
CERTBOT_PROP=${BENCH_CERTBOT_PROPAGATION:-0}
cat >"$C1/certbot-rfc2136.ini" <<EOF
dns_rfc2136_server = 127.0.0.1
dns_rfc2136_port = $MAIN_CTL
dns_rfc2136_name = $KEY
dns_rfc2136_secret = $SECRET
dns_rfc2136_algorithm = HMAC-SHA256
EOF
chmod 0600 "$C1/certbot-rfc2136.ini"
run_certbot_one() { # ZONE
    REQUESTS_CA_BUNDLE=$AZ_PEBBLE_TLS_CA timeout -k 5 "$PEER_ZONE_LIMIT" certbot certonly -n --agree-tos \
        -m bench@bench.test --server "$AZ_PEBBLE_DIR" \
        --config-dir "$C1/certbot/config" --work-dir "$C1/certbot/work" \
        --logs-dir "$C1/certbot/logs" \
        --dns-rfc2136 --dns-rfc2136-credentials "$C1/certbot-rfc2136.ini" \
        --dns-rfc2136-propagation-seconds "$CERTBOT_PROP" \
        --key-type ecdsa --elliptic-curve secp256r1 --force-renewal \
        --cert-name "$1" -d "$1" -d "*.$1"
}
run_certbot() { # N RUNID [AT_ONCE]
    if [[ ! -d $C1/certbot/config/accounts ]]; then # untimed warm-up: the account
        run_certbot_one "$(zone_name 1)" >"$C1/certbot-warmup.log" 2>&1 ||
            az_log "certbot warm-up: $(tail -n 5 "$C1/certbot-warmup.log")"
    fi
    c1_peer_run certbot "$@"
}
# certbot_second_instance: start two certbot runs at once, as 16 at once
# would, and print what happened to the second ("refused: <certbot's
# message>" is what certbot 2.1 does: it holds a lock on its directories).
certbot_second_instance() {
    local p1 p2 rc1=0 rc2=0
    run_certbot_one "$(zone_name 1)" >"$C1/certbot-atonce-1.log" 2>&1 </dev/null &
    p1=$!
    sleep 0.5
    run_certbot_one "$(zone_name 2)" >"$C1/certbot-atonce-2.log" 2>&1 </dev/null &
    p2=$!
    wait "$p1" || rc1=$?
    wait "$p2" || rc2=$?
    if ((rc1 == 0 && rc2 == 0)); then
        echo "both ran (two certbot processes on one config directory)"
    elif ((rc1 == 0)); then
        # certbot's first sentence ("Another instance of Certbot is already running.")
        echo "refused: $(grep -v '^Saving debug log' "$C1/certbot-atonce-2.log" | grep -m 1 . | sed 's/\. .*/./' | cut -c1-200)"
    else
        echo "FAIL (the first certbot failed too, exit $rc1; see certbot-atonce-1.log)"
    fi
}
rec settings.certbot "certbot certonly --dns-rfc2136 --dns-rfc2136-propagation-seconds $CERTBOT_PROP --key-type ecdsa --elliptic-curve secp256r1 --force-renewal (algorithm HMAC-SHA256, server = the control socket)"

# ---- lego + rfc2136 ------------------------------------------------------------------
LEGO_SEQ=${BENCH_LEGO_SEQUENCE_INTERVAL:-0}
LEGO_POLL=${BENCH_LEGO_POLLING_INTERVAL:-1}
LEGO_PROP=${BENCH_LEGO_PROPAGATION_TIMEOUT:-10}
run_lego_one() { # ZONE
    LEGO_CA_CERTIFICATES=$AZ_PEBBLE_TLS_CA RFC2136_NAMESERVER=127.0.0.1:$MAIN_CTL \
        RFC2136_TSIG_ALGORITHM=hmac-sha256. RFC2136_TSIG_KEY=$KEY RFC2136_TSIG_SECRET=$SECRET \
        RFC2136_SEQUENCE_INTERVAL=$LEGO_SEQ RFC2136_POLLING_INTERVAL=$LEGO_POLL \
        RFC2136_PROPAGATION_TIMEOUT=$LEGO_PROP RFC2136_TTL=0 \
        timeout -k 5 "$PEER_ZONE_LIMIT" lego --accept-tos --email bench@bench.test --server "$AZ_PEBBLE_DIR" \
        --path "$C1/lego" --key-type ec256 --dns rfc2136 \
        --dns.resolvers "127.0.0.1:$MAIN_DNS" --dns.disable-cp -d "$1" -d "*.$1" run
}
run_lego() { # N RUNID [AT_ONCE]
    if [[ ! -d $C1/lego/accounts ]]; then # untimed warm-up: the account
        run_lego_one "$(zone_name 1)" >"$C1/lego-warmup.log" 2>&1 ||
            az_log "lego warm-up: $(tail -n 5 "$C1/lego-warmup.log")"
    fi
    c1_peer_run lego "$@"
}
rec settings.lego "lego --key-type ec256 --dns rfc2136 --dns.resolvers = named (for its SOA look-up), --dns.disable-cp (lego's propagation check asks the zone's NS by name on port 53, which a loopback test cannot offer; so lego checks nothing before asking the CA), RFC2136_SEQUENCE_INTERVAL=$LEGO_SEQ RFC2136_POLLING_INTERVAL=$LEGO_POLL RFC2136_PROPAGATION_TIMEOUT=$LEGO_PROP RFC2136_TTL=0 (lego takes whole seconds; lego runs the two authorizations of one name one after the other, SEQUENCE_INTERVAL apart)"

# ---- the runs ----------------------------------------------------------------------------
tools=(acmezone)
for t in ${BENCH_PEERS:-uacme certbot lego}; do
    if have "$t"; then tools+=("$t"); else rec "issue.$t.available" "no"; fi
done
# c1_run TOOL N RUNID [AT_ONCE]: one run, its figure in C1_FIG. A failed run
# puts the tails of its log and Pebble's in results.tsv (issue.failure). If it
# was killed at its limit, or Pebble no longer answers, Pebble is restarted
# once (a new CA: every tool's account is made again, untimed); after a
# second such failure the remaining runs of case 1 are not run ("FAIL (not run)").
C1_RESTARTS=0
C1_ABORT=""
c1_warmup() {
    local t
    for t in "${tools[@]}"; do c1_run "$t" 1 warmup; done
}
c1_run() {
    if [[ -n $C1_ABORT ]]; then
        C1_FIG="FAIL (not run: $C1_ABORT)"
        return
    fi
    rm -f "$C1/fail" "$C1/fail-rc"
    C1_FIG=$("run_$1" "$2" "$3" "${4:-1}")
    [[ $C1_FIG == FAIL && -f $C1/fail ]] || return 0
    rec issue.failure "$(sed 's/\t/ /g' "$C1/fail" | awk 'BEGIN { ORS = "\\n" } { print }')"
    local rc
    rc=$(cat "$C1/fail-rc")
    if ((rc == 124 || rc == 137)) || ! _az_pebble_answers; then
        if ((C1_RESTARTS >= 1)); then
            C1_ABORT="Pebble hung or stopped answering twice"
            az_log "case 1: $C1_ABORT; the remaining issuance runs are not run"
            return
        fi
        C1_RESTARTS=$((C1_RESTARTS + 1))
        az_log "case 1: restarting Pebble after a hung run; accounts made again"
        rec issue.pebble_restarts "$C1_RESTARTS"
        cp "$AZ_PEBBLE_LOG" "$C1/pebble-before-restart-$C1_RESTARTS.log" 2>/dev/null || true
        az_kill9_pebble
        az_restart_pebble
        cat /etc/ssl/certs/ca-certificates.crt "$AZ_PEBBLE_TLS_CA" >"$C1/bundle.pem"
        rm -rf "$C1/acmezone-state" "$C1/uacme" "$C1/certbot" "$C1/lego"
        local fig=$C1_FIG
        c1_warmup
        C1_FIG=$fig
    fi
}
# warm-up (untimed): acmezone's account, and each peer's account
c1_warmup

# The peers take seconds per certificate whatever N is (their own polling and
# sleeps), so a run at N = 20 or 100 costs them up to minutes: they get
# BENCH_PEER20_RUNS runs of each way at each N > 1 (default 1); acmezone
# always RUNS. 16 at once: BENCH_PEER_AT_ONCE (default 16, acmezone's
# parallel; 0 runs none). Largest N for the peers: BENCH_PEER_MAX_N (default
# 100), one after the other only up to BENCH_PEER_SEQ_MAX_N (default 100).
PEER20_RUNS=${BENCH_PEER20_RUNS:-1}
PEER_AT_ONCE=${BENCH_PEER_AT_ONCE:-$AZ_PARALLEL}
PEER_SEQ_MAX_N=${BENCH_PEER_SEQ_MAX_N:-$PEER_MAX_N}
# A guard on the budget: before a peer's run at N > 1 its time is estimated
# (peer_estimate), and the run is not run (and says so, with the estimate) if
# it would leave less than BENCH_RESERVE_SECONDS for the cases still to come
# (default 130 s for case 2, 330 for case 3, 130 for case 4, 150 for case 5, 180 for case 6:
# their times under load). The runs of one N go cheapest first, so that the guard drops
# the dearest.
declare -A case_reserve=([2]=130 [3]=330 [4]=130 [5]=150 [6]=180)
reserve=0
for c1_case in $CASES; do ((c1_case > 1)) && reserve=$((reserve + ${case_reserve[$c1_case]:-0})); done
reserve=${BENCH_RESERVE_SECONDS:-$reserve}
budget=${BENCH_BUDGET_SECONDS:-1200}
t0=${BENCH_T0:-$bench_start}
c1_median() { # KEY → median of its numeric runs, or nothing
    awk -F'\t' -v k="$1" '$1 == k && $2 ~ /^[0-9.]+$/ { print $2 }' "$RES" | sort -n |
        awk '{ v[++c] = $1 } END { if (c) printf "%.3f\n", (c % 2) ? v[(c + 1) / 2] : (v[c / 2] + v[c / 2 + 1]) / 2 }'
}
# peer_estimate TOOL N AT_ONCE → seconds: the same way's run at the largest
# smaller N that gave a figure, scaled by N (at 100 from 20: × 5); without
# one, N × the N = 1 time, divided by the cores when run at once (then they
# are CPU-bound at worst).
peer_estimate() {
    local t=$1 n=$2 p=$3 m best="" bestm=0 v t1
    for m in ${BENCH_N:-1 20 100}; do
        ((m > 1 && m < n && m > bestm)) || continue
        if ((p > 1)); then v=$(c1_median "issue.$t.$m.atonce"); else v=$(c1_median "issue.$t.$m"); fi
        [[ -z $v ]] || { best=$v; bestm=$m; }
    done
    if [[ -n $best ]]; then
        awk -v b="$best" -v n="$n" -v m="$bestm" 'BEGIN { printf "%.0f\n", b * n / m }'
        return
    fi
    t1=$(c1_median "issue.$t.1")
    awk -v t="${t1:-0}" -v n="$n" -v c=$((p > 1 ? NCPU : 1)) 'BEGIN { printf "%.0f\n", t * n / c }'
}
peers=("${tools[@]:1}")
if [[ " ${peers[*]} " == *" certbot "* ]] && ((PEER_AT_ONCE > 1)); then
    rec issue.certbot.atonce "$(certbot_second_instance)"
fi
for n in ${BENCH_N:-1 20 100}; do
    if ((n == 1)); then
        # every tool RUNS times, interleaved tool by tool
        for ((r = 1; r <= RUNS; r++)); do
            for t in "${tools[@]}"; do
                if [[ $t != acmezone ]] && ((n > PEER_MAX_N)); then continue; fi
                c1_run "$t" "$n" "$r"
                rec "issue.$t.$n" "$C1_FIG"
            done
        done
        continue
    fi
    for ((r = 1; r <= RUNS; r++)); do
        c1_run acmezone "$n" "$r"
        rec "issue.acmezone.$n" "$C1_FIG"
    done
    # the peers' runs at this N: "TOOL AT_ONCE", cheapest first
    jobs_n=()
    for t in "${peers[@]}"; do
        if ((n > PEER_MAX_N)); then
            rec "issue.$t.$n" "not run (BENCH_PEER_MAX_N=$PEER_MAX_N)"
            continue
        fi
        if ((n > PEER_SEQ_MAX_N)); then
            rec "issue.$t.$n" "not run (BENCH_PEER_SEQ_MAX_N=$PEER_SEQ_MAX_N)"
        else
            jobs_n+=("$(peer_estimate "$t" "$n" 1) $t 1")
        fi
        ((PEER_AT_ONCE > 1)) || continue
        [[ $t != certbot ]] || continue # refuses a second instance: issue.certbot.atonce
        jobs_n+=("$(peer_estimate "$t" "$n" "$PEER_AT_ONCE") $t $PEER_AT_ONCE")
    done
    while read -r _ t p; do
        [[ -n ${t:-} ]] || continue
        key=issue.$t.$n
        ((p <= 1)) || key=$key.atonce
        for ((r = 1; r <= PEER20_RUNS; r++)); do
            est=$(peer_estimate "$t" "$n" "$p")
            left=$((budget - ($(date +%s) - t0) - reserve))
            if ((est > left)); then
                rec "$key" "not run (budget: ≈ $est s needed, $left s left before the other cases)"
                break
            fi
            c1_run "$t" "$n" "$r" "$p"
            rec "$key" "$C1_FIG"
        done
    done < <(printf '%s\n' "${jobs_n[@]}" | sort -n)
done
rec settings.peers_at_once "$PEER_AT_ONCE at once (0: none run); one after the other up to N = $PEER_SEQ_MAX_N, the peers up to N = $PEER_MAX_N, $PEER20_RUNS run(s) each way at N > 1; runs the budget guard left out say so"
rec settings.limits "a run is killed and FAIL after: acmezone $(az_limit 1) s at N = 1, $(az_limit 20) s at 20, $(az_limit 100) s at 100 (15 s + 0.5 s a zone); a peer $PEER_ZONE_LIMIT s a zone"
az_stop_pebble
