# shellcheck shell=bash
# issuer_lib.sh — helpers for the issuer's integration tests: a config for
# acmezone-issuer pointed at the test's named (with the plugin) and Pebble,
# running it, and checking what it stored. Source after lib.sh and pebble.sh;
# call after az_plugin_setup, az_start_named and az_start_pebble.
#
# API
#   az_issuer_conf FILE ZONE...   write an issuer.conf: Pebble's directory and TLS CA,
#                                 rate-limits = none (Pebble has none to keep within),
#                                 state $AZ_TMP/issuer-state, certs $AZ_CERTS
#                                 ($AZ_TMP/certs), control 127.0.0.1:$AZ_CONTROL_PORT
#                                 (or $AZ_ISSUER_CONTROL), key acme-key from $AZ_KEY_FILE,
#                                 resolver and check-server = this named, zones ZONE...
#   az_issued_zones ZONE...       the usual start: az_plugin_setup ZONE..., named, Pebble,
#                                 $AZ_TMP/issuer.conf for ZONE... (AZ_ISSUER_CONF) and a
#                                 first `run` that must issue every zone
#   az_standby_issued CONF ZONE DIR CA_FILE  CONF: an issuer.conf for ZONE with DIR as
#                                 standby-directory (CA_FILE its TLS CA, rate-limits none);
#                                 a first `run` that must store ZONE's live set (verified)
#                                 and its standby set
#   az_issuer CONF ARGS...        run acmezone-issuer --config CONF ARGS (bounded: 240 s);
#                                 stdout to $AZ_ISSUER_OUT, stderr to $AZ_ISSUER_ERR (also
#                                 appended to $AZ_TMP/issuer.log); sets AZ_ISSUER_RC
#   az_verify_cert ZONE           the stored certificate of ZONE: openssl verify against
#                                 Pebble's root with chain.pem as untrusted, SANs exactly
#                                 {ZONE, *.ZONE}, privkey.pem matches, 0600, fullchain =
#                                 cert + chain
#   az_assert_no_txt NAME         no TXT record at NAME in named's answer (NXDOMAIN or
#                                 NODATA, or a CNAME only)
#   az_tree_digest DIR            one line per entry: path, type, link target, mode and
#                                 the SHA-256 of regular files (to compare byte for byte)
#   az_live_digest                what the live sets in $AZ_CERTS are: for every zone, each
#                                 path but the standby link and the version it names, as
#                                 az_tree_digest (the standby tests compare it byte for byte)
#   az_native_zone ZONE [RECORDS]  a native zone in named (SOA, NS, ns1 A 127.0.0.1 and
#                                 RECORDS) added to $AZ_PLUGIN_FRAGMENT (before az_start_named)
#   az_start_fault_proxy ARG...   start acme_fault_proxy.py in front of Pebble (its TLS
#                                 certificate, a free port) with ARG... (--rule R, --fault F,
#                                 --slow-seconds N); wait (bounded, 10 s) until its /dir
#                                 answers. Sets AZ_PROXY_DIR (the directory URL through it)
#                                 and AZ_PROXY_PID; each injected fault is a line in
#                                 $AZ_FAULTS_LOG ($AZ_TMP/faults.log, emptied as each proxy
#                                 starts: a line is always this proxy's); AZ_PROXY_PORT=P
#                                 listens on P (a restart keeps the directory URL)
#   az_stop_fault_proxy           SIGTERM, bounded wait

AZ_CERTS=""

az_issuer_conf() {
    local file=$1 z
    shift
    AZ_CERTS=$AZ_TMP/certs
    {
        echo "# written by tests/integration/issuer_lib.sh"
        echo "[acme]"
        echo "directory = $AZ_PEBBLE_DIR"
        echo "ca-file = $AZ_PEBBLE_TLS_CA"
        echo "contact = mailto:hostmaster@example.com"
        echo "state-dir = $AZ_TMP/issuer-state"
        echo "retry-deadline = 30"
        echo "validation-timeout = 60"
        echo "# Pebble keeps no rate limits; tests of the budget set their own"
        echo "rate-limits = none"
        echo "[zones]"
        for z in "$@"; do echo "zone = $z"; done
        echo "[publish]"
        echo "control = ${AZ_ISSUER_CONTROL:-127.0.0.1:$AZ_CONTROL_PORT}"
        echo "key = $AZ_KEY_NAME"
        echo "keys = $AZ_KEY_FILE"
        echo "[dns]"
        echo "resolver = 127.0.0.1:$AZ_NAMED_PORT"
        echo "check-server = 127.0.0.1:$AZ_NAMED_PORT"
        echo "propagation-timeout = 20"
        echo "[certs]"
        echo "dir = $AZ_CERTS"
        echo "parallel = 8"
    } >"$file"
}

az_issued_zones() {
    az_plugin_setup "$@"
    az_start_named "$AZ_PLUGIN_FRAGMENT"
    az_start_pebble "$AZ_NAMED_PORT"
    AZ_ISSUER_CONF=$AZ_TMP/issuer.conf
    az_issuer_conf "$AZ_ISSUER_CONF" "$@"
    az_issuer "$AZ_ISSUER_CONF" run
    az_assert_eq 0 "$AZ_ISSUER_RC" "the first run issues every zone: $(tail -5 "$AZ_ISSUER_ERR")"
}

az_issuer() {
    local conf=$1
    shift
    [[ -n ${ACMEZONE_ISSUER:-} && -x $ACMEZONE_ISSUER ]] ||
        az_fail "ACMEZONE_ISSUER is not set to the built acmezone-issuer"
    AZ_ISSUER_OUT=$AZ_TMP/issuer.out
    AZ_ISSUER_ERR=$AZ_TMP/issuer.err
    AZ_ISSUER_RC=0
    echo "==== acmezone-issuer $* ($(date -u +%T)) ====" >>"$AZ_TMP/issuer.log"
    timeout 240 "$ACMEZONE_ISSUER" --config "$conf" "$@" >"$AZ_ISSUER_OUT" 2>"$AZ_ISSUER_ERR" ||
        AZ_ISSUER_RC=$?
    cat "$AZ_ISSUER_ERR" >>"$AZ_TMP/issuer.log"
    [[ $AZ_ISSUER_RC -ne 124 ]] || az_fail "acmezone-issuer $* did not finish within 240 s"
}

az_verify_cert() {
    local zone=$1 d=$AZ_CERTS/$1 out sans want mode
    [[ -f $d/cert.pem && -f $d/chain.pem && -f $d/privkey.pem && -f $d/fullchain.pem ]] ||
        az_fail "$zone: certificate files missing in $d"
    out=$(openssl verify -CAfile "$AZ_PEBBLE_ROOT" -untrusted "$d/chain.pem" "$d/cert.pem" 2>&1) ||
        az_fail "$zone: openssl verify failed: $out"
    az_assert_eq "$d/cert.pem: OK" "$out" "$zone: openssl verify"
    sans=$(openssl x509 -in "$d/cert.pem" -noout -ext subjectAltName | tail -n +2 |
        tr ',' '\n' | sed 's/^ *//' | grep -v '^$' | sort | tr '\n' ' ')
    want=$(printf 'DNS:%s\n' "*.$zone" "$zone" | sort | tr '\n' ' ')
    az_assert_eq "$want" "$sans" "$zone: subjectAltName"
    az_assert_eq "$(openssl pkey -in "$d/privkey.pem" -pubout)" \
        "$(openssl x509 -in "$d/cert.pem" -noout -pubkey)" "$zone: private key matches certificate"
    mode=$(stat -L -c %a "$d/privkey.pem")
    az_assert_eq 600 "$mode" "$zone: privkey.pem mode"
    az_assert_eq "$(cat "$d/cert.pem" "$d/chain.pem")" "$(cat "$d/fullchain.pem")" \
        "$zone: fullchain.pem is cert.pem + chain.pem"
}

az_assert_no_txt() {
    local name=$1 out status
    out=$(az_dig "$name" TXT) || az_fail "dig $name TXT failed: $out"
    status=$(sed -n 's/.*status: \([A-Z]*\),.*/\1/p' <<<"$out")
    [[ $status == NXDOMAIN || $status == NOERROR ]] ||
        az_fail "$name TXT: unexpected status $status: $out"
    if az_dig "$name" TXT +noall +answer | awk '$4 == "TXT"' | grep -q .; then
        az_fail "$name still has TXT values: $(az_dig "$name" TXT +noall +answer)"
    fi
}

az_tree_digest() {
    local dir=$1
    (
        cd "$dir" || exit 1
        find . -printf '%p %y %l %m\n' | LC_ALL=C sort
        find . -type f -exec sha256sum {} + | LC_ALL=C sort
    )
}

az_standby_issued() {
    local conf=$1 zone=$2 dir=$3 ca_file=$4
    az_issuer_conf "$conf" "$zone"
    sed -i "/^\[acme\]/a standby-directory = $dir\nstandby-ca-file = $ca_file\nstandby-rate-limits = none" "$conf"
    az_issuer "$conf" run
    az_assert_eq 0 "$AZ_ISSUER_RC" "first run; stderr: $(tail -n 20 "$AZ_ISSUER_ERR")"
    az_verify_cert "$zone"
    [[ -L $AZ_CERTS/$zone/standby ]] || az_fail "no standby set: $(tail -n 20 "$AZ_ISSUER_ERR")"
}

az_live_digest() {
    python3 - "$AZ_CERTS" <<'PY'
import hashlib, os, sys
root = sys.argv[1]
for zone in sorted(os.listdir(root)):
    zdir = os.path.join(root, zone)
    standby = os.readlink(os.path.join(zdir, "standby")) if os.path.islink(os.path.join(zdir, "standby")) else None
    for dirpath, dirs, files in os.walk(zdir):
        rel = os.path.relpath(dirpath, zdir)
        if standby and (rel == standby or rel.startswith(standby + "/")):
            continue
        for name in sorted(dirs + files):
            p = os.path.join(dirpath, name)
            r = os.path.relpath(p, root)
            if name == "standby" and dirpath == zdir or name == ".lock":
                continue
            if standby and dirpath == zdir and name == standby:
                continue
            st = os.lstat(p)
            if os.path.islink(p):
                print(r, "link", os.readlink(p))
            elif os.path.isdir(p):
                print(r, "dir", oct(st.st_mode & 0o777))
            else:
                print(r, "file", oct(st.st_mode & 0o777), hashlib.sha256(open(p, "rb").read()).hexdigest())
PY
}

az_native_zone() {
    local zone=$1 records=${2:-}
    cat >"$AZ_TMP/$zone.zone" <<EOF
\$TTL 60
@ IN SOA ns1.$zone. hostmaster.$zone. 1 3600 600 86400 60
@ IN NS ns1.$zone.
ns1 IN A 127.0.0.1
$records
EOF
    echo "zone \"$zone\" { type primary; file \"$AZ_TMP/$zone.zone\"; };" >>"$AZ_PLUGIN_FRAGMENT"
}

az_start_fault_proxy() {
    local port i
    port=${AZ_PROXY_PORT:-$(az_free_port)}
    AZ_FAULTS_LOG=$AZ_TMP/faults.log
    : >"$AZ_FAULTS_LOG"
    az_start_bg proxy python3 "$ACMEZONE_SOURCE_DIR/tests/integration/acme_fault_proxy.py" \
        --listen "$port" --upstream "${AZ_PEBBLE_DIR%/dir}" --cert "$AZ_TMP/pebble/tls.pem" \
        --key "$AZ_TMP/pebble/tls.key" --ca "$AZ_PEBBLE_TLS_CA" --log "$AZ_FAULTS_LOG" "$@"
    AZ_PROXY_PID=$AZ_BG_PID
    AZ_PROXY_DIR="https://127.0.0.1:$port/dir"
    for ((i = 0; i < 100; i++)); do
        curl -sS --fail --max-time 2 --cacert "$AZ_PEBBLE_TLS_CA" "$AZ_PROXY_DIR" >/dev/null 2>&1 &&
            return 0
        sleep 0.1
    done
    az_fail "fault proxy did not answer $AZ_PROXY_DIR: $(cat "$AZ_TMP/proxy.log")"
}

az_stop_fault_proxy() {
    kill -TERM "$AZ_PROXY_PID" 2>/dev/null || true
    _az_wait_exit "$AZ_PROXY_PID" || az_fail "fault proxy did not stop"
}
