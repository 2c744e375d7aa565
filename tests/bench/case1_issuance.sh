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
    s=$(now)
    if ! timeout 300 "$ACMEZONE_ISSUER" --config "$conf" run >"$d.log" 2>&1; then
        az_log "acmezone N=$n run $2 failed: $(tail -n 3 "$d.log")"
        echo FAIL
        return
    fi
    local t
    t=$(elapsed "$s")
    local got
    got=$(find "$d" -mindepth 2 -maxdepth 2 -name cert.pem 2>/dev/null | wc -l)
    if ((got != n)); then
        az_log "acmezone N=$n run $2: $got certificates, not $n"
        echo FAIL
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
        timeout 120 unshare -m sh -c 'mount --bind "$0" /etc/ssl/certs/ca-certificates.crt && exec "$@"' \
        "$C1/bundle.pem" uacme -a "$AZ_PEBBLE_DIR" -c "$1" -t EC -b 256 -y -f \
        -h "$here/uacme-hook.sh" issue "$2" "*.$2"
}
run_uacme() { # N RUNID
    local n=$1 conf=$C1/uacme s z
    if [[ ! -f $conf/private/key.pem ]]; then # untimed warm-up: the account
        mkdir -p "$conf"
        timeout 60 unshare -m sh -c 'mount --bind "$0" /etc/ssl/certs/ca-certificates.crt && exec "$@"' \
            "$C1/bundle.pem" uacme -a "$AZ_PEBBLE_DIR" -c "$conf" -t EC -b 256 -y new \
            >"$C1/uacme-new.log" 2>&1 || az_log "uacme new: $(tail -n 3 "$C1/uacme-new.log")"
    fi
    s=$(now)
    while read -r z; do
        if ! run_uacme_one "$conf" "$z" >>"$C1/uacme-$n-$2.log" 2>&1; then
            az_log "uacme N=$n run $2 zone $z failed: $(tail -n 3 "$C1/uacme-$n-$2.log")"
            echo FAIL
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
    REQUESTS_CA_BUNDLE=$AZ_PEBBLE_TLS_CA timeout 120 certbot certonly -n --agree-tos \
        -m bench@bench.test --server "$AZ_PEBBLE_DIR" \
        --config-dir "$C1/certbot/config" --work-dir "$C1/certbot/work" \
        --logs-dir "$C1/certbot/logs" \
        --dns-rfc2136 --dns-rfc2136-credentials "$C1/certbot-rfc2136.ini" \
        --dns-rfc2136-propagation-seconds "$CERTBOT_PROP" \
        --key-type ecdsa --elliptic-curve secp256r1 --force-renewal \
        --cert-name "$1" -d "$1" -d "*.$1"
}
run_certbot() { # N RUNID
    local n=$1 s z
    if [[ ! -d $C1/certbot/config/accounts ]]; then # untimed warm-up: the account
        run_certbot_one "$(zone_name 1)" >"$C1/certbot-warmup.log" 2>&1 ||
            az_log "certbot warm-up: $(tail -n 5 "$C1/certbot-warmup.log")"
    fi
    s=$(now)
    while read -r z; do
        if ! run_certbot_one "$z" >>"$C1/certbot-$n-$2.log" 2>&1; then
            az_log "certbot N=$n run $2 zone $z failed: $(tail -n 5 "$C1/certbot-$n-$2.log")"
            echo FAIL
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
        timeout 120 lego --accept-tos --email bench@bench.test --server "$AZ_PEBBLE_DIR" \
        --path "$C1/lego" --key-type ec256 --dns rfc2136 \
        --dns.resolvers "127.0.0.1:$MAIN_DNS" --dns.disable-cp -d "$1" -d "*.$1" run
}
run_lego() { # N RUNID
    local n=$1 s z
    if [[ ! -d $C1/lego/accounts ]]; then # untimed warm-up: the account
        run_lego_one "$(zone_name 1)" >"$C1/lego-warmup.log" 2>&1 ||
            az_log "lego warm-up: $(tail -n 5 "$C1/lego-warmup.log")"
    fi
    s=$(now)
    while read -r z; do
        if ! run_lego_one "$z" >>"$C1/lego-$n-$2.log" 2>&1; then
            az_log "lego N=$n run $2 zone $z failed: $(tail -n 5 "$C1/lego-$n-$2.log")"
            echo FAIL
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
# warm-up (untimed): acmezone's account, and each peer's account
run_acmezone 1 warmup >/dev/null
for t in "${tools[@]:1}"; do "run_$t" 1 warmup >/dev/null; done
# The peers take seconds per certificate whatever N is (their own polling
# and sleeps, one zone after the other), so N=20 costs them minutes a run:
# within the 20-minute budget they get BENCH_PEER20_RUNS runs at N >= 20
# (default 1), acmezone always RUNS.
PEER20_RUNS=${BENCH_PEER20_RUNS:-1}
for n in ${BENCH_N:-1 20 100}; do
    for ((r = 1; r <= RUNS; r++)); do
        for t in "${tools[@]}"; do
            if [[ $t != acmezone ]] && { ((n > PEER_MAX_N)) || { ((n >= 20)) && ((r > PEER20_RUNS)); }; }; then
                continue
            fi
            rec "issue.$t.$n" "$("run_$t" "$n" "$r")"
        done
    done
done
for t in "${tools[@]:1}"; do
    ((100 > PEER_MAX_N)) && rec "issue.$t.100" "skipped"
done
az_stop_pebble
