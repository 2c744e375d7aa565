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
# The peers issue one zone per invocation, one after the other: that is how
# each is run for many certificates (none of them takes a list of separate
# certificates in one process).

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
    cat >"$conf" <<EOF
[acme]
directory = $AZ_PEBBLE_DIR
ca-file = $AZ_PEBBLE_TLS_CA
contact = mailto:bench@bench.test
state-dir = $C1/acmezone-state
# Pebble keeps no rate limits (Let's Encrypt's would defer most of the runs)
rate-limits = none
[zones]
zones-file = $2
[publish]
control = 127.0.0.1:$MAIN_CTL
key = $KEY
keys = $B/keys.conf
[dns]
resolver = 127.0.0.1:$MAIN_DNS
check-server = 127.0.0.1:$MAIN_DNS
timeout = 3
propagation-timeout = 30
[certs]
dir = $1
key-type = ecdsa-p256
parallel = $AZ_PARALLEL
EOF
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

# ---- uacme + nsupdate hook -----------------------------------------------------
# uacme (libcurl-gnutls) reads only the system CA bundle: each invocation runs
# in a private mount namespace with the bundle bind-mounted over it, so the
# machine's own trust store is never changed.
run_uacme_one() { # CONFDIR ZONE
    BENCH_CTL_PORT=$MAIN_CTL BENCH_DNS_PORT=$MAIN_DNS \
        timeout -k 5 "$PEER_ZONE_LIMIT" unshare -m sh -c 'mount --bind "$0" /etc/ssl/certs/ca-certificates.crt && exec "$@"' \
        "$C1/bundle.pem" uacme -a "$AZ_PEBBLE_DIR" -c "$1" -t EC -b 256 -y -f \
        -h "$here/uacme-hook.sh" issue "$2" "*.$2"
}
run_uacme() { # N RUNID
    local n=$1 conf=$C1/uacme s z rc
    if [[ ! -f $conf/private/key.pem ]]; then # untimed warm-up: the account
        mkdir -p "$conf"
        timeout 60 unshare -m sh -c 'mount --bind "$0" /etc/ssl/certs/ca-certificates.crt && exec "$@"' \
            "$C1/bundle.pem" uacme -a "$AZ_PEBBLE_DIR" -c "$conf" -t EC -b 256 -y new \
            >"$C1/uacme-new.log" 2>&1 || az_log "uacme new: $(tail -n 3 "$C1/uacme-new.log")"
    fi
    s=$(now)
    while read -r z; do
        rc=0
        run_uacme_one "$conf" "$z" >>"$C1/uacme-$n-$2.log" 2>&1 </dev/null || rc=$?
        if ((rc != 0)); then
            c1_fail "uacme N=$n run $2 zone $z" "$C1/uacme-$n-$2.log" "$rc" "$PEER_ZONE_LIMIT"
            return
        fi
    done <"$(zones_list "$n")"
    elapsed "$s"
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
run_certbot() { # N RUNID
    local n=$1 s z rc
    if [[ ! -d $C1/certbot/config/accounts ]]; then # untimed warm-up: the account
        run_certbot_one "$(zone_name 1)" >"$C1/certbot-warmup.log" 2>&1 ||
            az_log "certbot warm-up: $(tail -n 5 "$C1/certbot-warmup.log")"
    fi
    s=$(now)
    while read -r z; do
        rc=0
        run_certbot_one "$z" >>"$C1/certbot-$n-$2.log" 2>&1 </dev/null || rc=$?
        if ((rc != 0)); then
            c1_fail "certbot N=$n run $2 zone $z" "$C1/certbot-$n-$2.log" "$rc" "$PEER_ZONE_LIMIT"
            return
        fi
    done <"$(zones_list "$n")"
    elapsed "$s"
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
run_lego() { # N RUNID
    local n=$1 s z rc
    if [[ ! -d $C1/lego/accounts ]]; then # untimed warm-up: the account
        run_lego_one "$(zone_name 1)" >"$C1/lego-warmup.log" 2>&1 ||
            az_log "lego warm-up: $(tail -n 5 "$C1/lego-warmup.log")"
    fi
    s=$(now)
    while read -r z; do
        rc=0
        run_lego_one "$z" >>"$C1/lego-$n-$2.log" 2>&1 </dev/null || rc=$?
        if ((rc != 0)); then
            c1_fail "lego N=$n run $2 zone $z" "$C1/lego-$n-$2.log" "$rc" "$PEER_ZONE_LIMIT"
            return
        fi
    done <"$(zones_list "$n")"
    elapsed "$s"
}
rec settings.lego "lego --key-type ec256 --dns rfc2136 --dns.resolvers = named (for its SOA look-up), --dns.disable-cp (lego's propagation check asks the zone's NS by name on port 53, which a loopback test cannot offer; so lego checks nothing before asking the CA), RFC2136_SEQUENCE_INTERVAL=$LEGO_SEQ RFC2136_POLLING_INTERVAL=$LEGO_POLL RFC2136_PROPAGATION_TIMEOUT=$LEGO_PROP RFC2136_TTL=0 (lego takes whole seconds; lego runs the two authorizations of one name one after the other, SEQUENCE_INTERVAL apart)"

# ---- the runs ----------------------------------------------------------------------------
tools=(acmezone)
for t in ${BENCH_PEERS:-uacme certbot lego}; do
    if have "$t"; then tools+=("$t"); else rec "issue.$t.available" "no"; fi
done
# c1_run TOOL N RUNID: one run, its figure in C1_FIG. A failed run puts the
# tails of its log and Pebble's in results.tsv (issue.failure). If it was
# killed at its limit, or Pebble no longer answers, Pebble is restarted once
# (a new CA: every tool's account is made again, untimed); after a second
# such failure the remaining runs of case 1 are not run ("FAIL (not run)").
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
    C1_FIG=$("run_$1" "$2" "$3")
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
# The peers take seconds per certificate whatever N is (their own polling
# and sleeps, one zone after the other), so N=20 costs them minutes a run:
# within the 20-minute budget they get BENCH_PEER20_RUNS runs at N >= 20
# (default 1), acmezone always RUNS.
PEER20_RUNS=${BENCH_PEER20_RUNS:-1}
# A guard on the budget: before a peer's run at N >= 20, its time is estimated
# as N × its median at N = 1; the run is skipped (and says so) if that would
# leave less than BENCH_RESERVE_SECONDS for the cases still to come (default
# 130 s for case 2, 330 for case 3, 130 for case 4: their times under load).
declare -A case_reserve=([2]=130 [3]=330 [4]=130)
reserve=0
for c1_case in $CASES; do ((c1_case > 1)) && reserve=$((reserve + ${case_reserve[$c1_case]:-0})); done
reserve=${BENCH_RESERVE_SECONDS:-$reserve}
budget=${BENCH_BUDGET_SECONDS:-1200}
t0=${BENCH_T0:-$bench_start}
peer_estimate() { # TOOL N → seconds, from its N = 1 runs (0 when there are none)
    awk -F'\t' -v k="issue.$1.1" '$1 == k && $2 ~ /^[0-9.]+$/ { print $2 }' "$RES" | sort -n |
        awk -v n="$2" '{ v[++c] = $1 }
            END { if (!c) { print 0; exit }
                  m = (c % 2) ? v[(c + 1) / 2] : (v[c / 2] + v[c / 2 + 1]) / 2
                  printf "%.0f\n", m * n }'
}
for n in ${BENCH_N:-1 20 100}; do
    for ((r = 1; r <= RUNS; r++)); do
        for t in "${tools[@]}"; do
            if [[ $t != acmezone ]] && { ((n > PEER_MAX_N)) || { ((n >= 20)) && ((r > PEER20_RUNS)); }; }; then
                continue
            fi
            if [[ $t != acmezone ]] && ((n >= 20)); then
                est=$(peer_estimate "$t" "$n")
                left=$((budget - ($(date +%s) - t0) - reserve))
                if ((est > left)); then
                    rec "issue.$t.$n" "skipped (budget: ≈ $est s needed, $left s left before the other cases)"
                    continue
                fi
            fi
            c1_run "$t" "$n" "$r"
            rec "issue.$t.$n" "$C1_FIG"
        done
    done
done
for t in "${tools[@]:1}"; do
    ((100 > PEER_MAX_N)) && rec "issue.$t.100" "skipped"
done
rec settings.limits "a run is killed and FAIL after: acmezone $(az_limit 1) s at N = 1, $(az_limit 20) s at 20, $(az_limit 100) s at 100 (15 s + 0.5 s a zone); a peer $PEER_ZONE_LIMIT s a zone"
az_stop_pebble
