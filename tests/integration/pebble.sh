# shellcheck shell=bash
# pebble.sh — Pebble, the test ACME CA, for acmezone's integration tests.
# Source it after lib.sh and az_setup:
#
#     source "$(dirname "$0")/lib.sh"
#     source "$(dirname "$0")/pebble.sh"
#     az_setup
#     az_start_pebble "$AZ_NAMED_PORT"
#
# Pebble serves HTTPS only and Debian ships no certificate for it, so each
# test makes its own: a throwaway CA and a leaf for 127.0.0.1/::1/localhost,
# with openssl, in $AZ_TMP/pebble. The CA that signs the certificates Pebble
# issues is another one, made new on every Pebble start: fetch it from the
# management interface (/roots/0) after the start, as done here.
#
# Pebble runs with PEBBLE_VA_NOSLEEP=1 (validate at once) and with its default
# nonce rejection (5 % badNonce) and authorization reuse left on: clients
# must cope with both. Its DNS-01 checks ask `-dnsserver` (our named).
# $AZ_PEBBLE_ENV adds environment for Pebble, space-separated NAME=VALUE
# words, e.g. AZ_PEBBLE_ENV="PEBBLE_ALTERNATE_ROOTS=1 PEBBLE_CHAIN_LENGTH=2"
# (alternate chains, each to its own root: /roots/1 ...).
#
# API
#   az_start_pebble DNS_PORT  start Pebble (listening on 127.0.0.1, free ports) with
#                             -dnsserver 127.0.0.1:DNS_PORT; wait (bounded, 30 s) until
#                             /dir answers; fetch the issuing root and intermediate.
#                             Sets:
#                               AZ_PEBBLE_DIR      the ACME directory URL
#                               AZ_PEBBLE_TLS_CA   CA file for Pebble's own HTTPS
#                               AZ_PEBBLE_ROOT     root of the certificates Pebble issues (PEM)
#                               AZ_PEBBLE_INTERMEDIATE  its intermediate (PEM)
#                               AZ_PEBBLE_MGMT     management base URL
#                               AZ_PEBBLE_PID, AZ_PEBBLE_LOG
#   az_start_pebble DNS_PORT INSTANCE
#                             another Pebble beside the first (a second CA): its own TLS
#                             certificate, ports, $AZ_TMP/pebble-INSTANCE and log
#                             $AZ_TMP/pebble-INSTANCE.log; sets the same variables (save
#                             the first one's before; az_stop_pebble, az_kill9_pebble and
#                             az_restart_pebble act on the instance they name). With
#                             AZ_PEBBLE_EAB="KID=KEY ..."
#                             (base64url MAC keys), either instance requires External
#                             Account Binding with those keys.
#   az_stop_pebble            SIGTERM, bounded wait (az_setup's trap also stops it)
#   az_kill9_pebble           SIGKILL, wait for the exit
#   az_restart_pebble         start it again after a stop or kill: the same ports, TLS
#                             certificate and -dnsserver, with the environment of this
#                             call (e.g. PEBBLE_WFE_NONCEREJECT=50 az_restart_pebble); a
#                             new Pebble knows no account or order and has new roots
#                             (AZ_PEBBLE_ROOT and AZ_PEBBLE_INTERMEDIATE are fetched again)
#   az_pebble_curl PATH...    curl the management interface: az_pebble_curl /roots/0

AZ_PEBBLE_PID=""

_az_pebble_tls() {
    local d=$1
    mkdir -p "$d"
    (
        umask 077
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
            -subj "/CN=acmezone test CA for Pebble's HTTPS" \
            -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign" \
            -keyout "$d/tls-ca.key" -out "$d/tls-ca.pem" 2>/dev/null
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
            -subj "/CN=localhost" -keyout "$d/tls.key" -out "$d/tls.csr" 2>/dev/null
        printf '%s\n' "basicConstraints=critical,CA:FALSE" \
            "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" \
            "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost" >"$d/tls.ext"
        openssl x509 -req -in "$d/tls.csr" -CA "$d/tls-ca.pem" -CAkey "$d/tls-ca.key" \
            -CAcreateserial -days 2 -extfile "$d/tls.ext" -out "$d/tls.pem" 2>/dev/null
    ) || az_fail "pebble: could not make the TLS certificate with openssl"
}

az_pebble_curl() {
    local path=$1
    shift
    curl -sS --fail --max-time 10 --cacert "$AZ_PEBBLE_TLS_CA" "$@" "$AZ_PEBBLE_MGMT$path"
}

_az_pebble_answers() {
    curl -sS --fail --max-time 2 --cacert "$AZ_PEBBLE_TLS_CA" "$AZ_PEBBLE_DIR" >/dev/null 2>&1
}

_az_pebble_eab_json() {
    local pair sep="" out=""
    for pair in ${AZ_PEBBLE_EAB:-}; do
        [[ $pair == *=* ]] || az_fail "AZ_PEBBLE_EAB: expected KID=KEY, got $pair"
        out+="$sep\"${pair%%=*}\": \"${pair#*=}\""
        sep=", "
    done
    if [[ -n $out ]]; then
        printf '"externalAccountBindingRequired": true,\n    "externalAccountMACKeys": { %s }' "$out"
    else
        printf '"externalAccountBindingRequired": false'
    fi
}

az_start_pebble() {
    local dns_port=${1:?az_start_pebble DNS_PORT [INSTANCE]} inst=${2:-}
    local d=$AZ_TMP/pebble${inst:+-$inst} name=pebble${inst:+-$inst} port mport hport tport i
    command -v pebble >/dev/null || az_fail "pebble is not installed (Debian package pebble)"
    _az_pebble_tls "$d"
    port=$(az_free_port)
    mport=$(az_free_port)
    hport=$(az_free_port)
    tport=$(az_free_port)
    cat >"$d/pebble-config.json" <<EOF
{
  "pebble": {
    "listenAddress": "127.0.0.1:$port",
    "managementListenAddress": "127.0.0.1:$mport",
    "certificate": "$d/tls.pem",
    "privateKey": "$d/tls.key",
    "httpPort": $hport,
    "tlsPort": $tport,
    "ocspResponderURL": "",
    $(_az_pebble_eab_json)
  }
}
EOF
    AZ_PEBBLE_DIR="https://127.0.0.1:$port/dir"
    AZ_PEBBLE_MGMT="https://127.0.0.1:$mport"
    AZ_PEBBLE_TLS_CA=$d/tls-ca.pem
    AZ_PEBBLE_NAME=$name
    AZ_PEBBLE_WORK=$d
    AZ_PEBBLE_LOG=$AZ_TMP/$name.log
    AZ_PEBBLE_DNS=127.0.0.1:$dns_port
    _az_pebble_launch
}

_az_pebble_launch() {
    local d=$AZ_PEBBLE_WORK i
    local -a extra_env=()
    read -ra extra_env <<<"${AZ_PEBBLE_ENV:-}"
    PEBBLE_VA_NOSLEEP=1 az_start_bg "$AZ_PEBBLE_NAME" env "${extra_env[@]}" \
        pebble -config "$d/pebble-config.json" -dnsserver "$AZ_PEBBLE_DNS"
    AZ_PEBBLE_PID=$AZ_BG_PID
    for ((i = 0; i < 300; i++)); do
        if ! kill -0 "$AZ_PEBBLE_PID" 2>/dev/null; then
            tail -n 20 "$AZ_PEBBLE_LOG" >&2 || true
            az_fail "pebble exited during start-up (config $d/pebble-config.json)"
        fi
        if _az_pebble_answers; then
            break
        fi
        sleep 0.1
    done
    _az_pebble_answers || az_fail "pebble did not answer $AZ_PEBBLE_DIR within 30 s"
    AZ_PEBBLE_ROOT=$d/root.pem
    AZ_PEBBLE_INTERMEDIATE=$d/intermediate.pem
    az_pebble_curl /roots/0 -o "$AZ_PEBBLE_ROOT" || az_fail "pebble: cannot fetch /roots/0"
    az_pebble_curl /intermediates/0 -o "$AZ_PEBBLE_INTERMEDIATE" ||
        az_fail "pebble: cannot fetch /intermediates/0"
    grep -q "BEGIN CERTIFICATE" "$AZ_PEBBLE_ROOT" || az_fail "pebble: /roots/0 is not PEM"
    az_log "pebble up: $AZ_PEBBLE_DIR (dns $AZ_PEBBLE_DNS), pid $AZ_PEBBLE_PID"
}

az_kill9_pebble() {
    [[ -n $AZ_PEBBLE_PID ]] || return 0
    kill -KILL "$AZ_PEBBLE_PID" 2>/dev/null || true
    _az_wait_exit "$AZ_PEBBLE_PID" || az_fail "pebble survived SIGKILL"
    AZ_PEBBLE_PID=""
}

az_restart_pebble() {
    [[ -z $AZ_PEBBLE_PID ]] || az_fail "az_restart_pebble: pebble still runs (pid $AZ_PEBBLE_PID)"
    [[ -n ${AZ_PEBBLE_DNS:-} ]] || az_fail "az_restart_pebble: az_start_pebble never ran"
    _az_pebble_launch
}

az_stop_pebble() {
    [[ -n $AZ_PEBBLE_PID ]] || return 0
    kill -TERM "$AZ_PEBBLE_PID" 2>/dev/null || true
    _az_wait_exit "$AZ_PEBBLE_PID" || {
        kill -KILL "$AZ_PEBBLE_PID" 2>/dev/null || true
        az_fail "pebble did not stop within 15 s of SIGTERM"
    }
    AZ_PEBBLE_PID=""
}
