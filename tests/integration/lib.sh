# shellcheck shell=bash
# lib.sh — shared helpers for acmezone's integration tests. Source it:
#
#     source "$(dirname "$0")/lib.sh"
#     az_setup
#
# Every server a test starts is stopped when the script exits (trap on
# EXIT), and its work directory is removed unless AZ_KEEP=1. Everything
# listens on 127.0.0.1 / ::1 only, on ports chosen at run time.
#
# Environment (set by CTest, see tests/integration/CMakeLists.txt):
#   ACMEZONE_PLUGIN      path of acmezone_dlz.so
#   ACMEZONE_ISSUER      path of acmezone-issuer
#   ACMEZONE_SOURCE_DIR  the source tree
#   ACMEZONE_BUILD_DIR   the build tree
#   AZ_KEEP=1            keep $AZ_TMP after the run (for debugging)
#
# Sanitizers: az_setup points every sanitizer runtime of every process the
# test starts (named with the sanitized plugin, a sanitized issuer, test
# tools) at $AZ_SANITIZER_DIR (log_path in ASAN_, UBSAN_, LSAN_ and
# TSAN_OPTIONS), and the teardown fails the test when any report is there or
# in a log of $AZ_TMP (AddressSanitizer, LeakSanitizer, ThreadSanitizer,
# "runtime error:"), or when named exits other than 0 on SIGTERM: a report at
# shutdown (dlz_destroy, thread joins, the last journal flush) fails the test.
#
# API
#   az_setup                   make $AZ_TMP (mktemp -d), install the EXIT trap, set -euo pipefail
#   az_log MESSAGE...          print "[test] MESSAGE" to stderr
#   az_fail MESSAGE...         print "FAIL: MESSAGE" (plus the tail of every named log) and exit 1
#   az_assert_eq WANT GOT MESSAGE    az_fail unless WANT == GOT (shows both)
#   az_assert_contains HAYSTACK NEEDLE MESSAGE
#   az_assert_not_contains HAYSTACK NEEDLE MESSAGE
#   az_free_port               echo a port free for TCP and UDP on 127.0.0.1 and ::1
#   az_keygen NAME FILE [ALG]  tsig-keygen (default hmac-sha256) into FILE, mode 0600 from the start
#   az_key_secret FILE         echo the base64 secret of the (only) key in FILE
#   az_track_pid PID           stop PID (TERM, then KILL) on exit; for servers started by hand
#   az_at_exit CMD...          run CMD on exit after every server is stopped and before the
#                              work directory is removed (e.g. umount of a test's mount)
#   az_start_bg NAME CMD...    start CMD in the background, stdout+stderr to $AZ_TMP/NAME.log,
#                              tracked for cleanup; sets AZ_BG_PID
#   az_wait_for SECONDS CMD... run CMD every 0.1 s until it succeeds; fails after SECONDS
#
#   named instances (INSTANCE defaults to "main"):
#   az_reserve_named_port [INSTANCE]  choose (once) the DNS port of INSTANCE, so that configs
#                              written before the start can name it (secondaries, notify targets)
#   az_named_port [INSTANCE]   echo that port: p=$(az_named_port sec) after az_reserve_named_port sec
#   az_start_named FRAGMENT [INSTANCE]
#                              write $AZ_TMP/named-INSTANCE/named.conf: options (listen on
#                              127.0.0.1 and ::1 at the instance's port, recursion no, plus
#                              $AZ_NAMED_OPTIONS lines), an rndc controls{} on a free port,
#                              then `include "FRAGMENT";`. Starts `named -g -n 1` (-n N with
#                              AZ_NAMED_WORKERS=N, no -n at all, BIND's default of one worker
#                              per CPU, with AZ_NAMED_WORKERS=default; plus $AZ_NAMED_ARGS; NAME=VALUE words in $AZ_NAMED_ENV go to its
#                              environment), waits (bounded, 30 s) until it answers, prints
#                              the log tail and fails if it does not. Sets AZ_NAMED_PORT,
#                              AZ_NAMED_PID, AZ_NAMED_DIR, AZ_NAMED_LOG for that instance.
#                              The log is $AZ_TMP/named.log for "main", else
#                              $AZ_TMP/named-INSTANCE.log (appended across restarts).
#   az_start_named_fails FRAGMENT [INSTANCE]
#                              the same, for a config named must refuse: fails the test if
#                              named answers or runs on after 30 s; returns when it exited
#                              (its log: $AZ_NAMED_LOG)
#   az_use_named [INSTANCE]    set AZ_NAMED_PORT/PID/DIR/LOG to that instance's
#   az_stop_named [INSTANCE]   SIGTERM, wait (bounded) for exit
#   az_kill9_named [INSTANCE]  SIGKILL, wait for exit
#   az_restart_named [INSTANCE]  stop, then start again with the same fragment and ports
#   az_rndc [INSTANCE --] ARGS...   run rndc against INSTANCE
#   az_rndc_reload [INSTANCE]  `rndc reload`, then wait until named answers again
#   az_dig [INSTANCE --] ARGS...    dig @127.0.0.1 -p PORT +norec +time=2 +tries=1 ARGS
#
#   the plugin (needs ACMEZONE_PLUGIN):
#   az_plugin_setup [ZONE...]  write $AZ_TMP/keys.conf (key "acme-key", 0600), choose
#                              AZ_CONTROL_PORT, write $AZ_PLUGIN_CONF ($AZ_TMP/plugin.conf):
#                              zone = each ZONE (default example.com), nameserver ns1.<first>,
#                              ttl $AZ_PLUGIN_TTL (0), lifetime $AZ_PLUGIN_LIFETIME (600),
#                              state-dir $AZ_TMP/plugin-state, listen 127.0.0.1:$AZ_CONTROL_PORT,
#                              grant acme-key zonesub ZONE; lines in $AZ_PLUGIN_EXTRA go to the
#                              top part, $AZ_PLUGIN_CONTROL_EXTRA to [control]. Also writes
#                              $AZ_PLUGIN_FRAGMENT ($AZ_TMP/plugin-fragment.conf), the dlz{}
#                              block, for az_start_named (add native zones by appending to it).
#                              Sets AZ_KEY_FILE, AZ_KEY_NAME, AZ_KEY_SECRET.
#   az_nsupdate LINE...        send one UPDATE to the control socket with nsupdate -y, e.g.
#                              az_nsupdate "update add _acme-challenge.example.com 60 TXT v1";
#                              returns nsupdate's status, its output on stderr
#   az_named_alive [INSTANCE]  true while that named runs
#   az_log_tail [INSTANCE]     last 40 lines of its log

AZ_TMP=""
declare -a AZ_PIDS=() AZ_AT_EXIT=()
declare -A AZ_INST_PORT=() AZ_INST_PID=() AZ_INST_RNDC=() AZ_INST_FRAG=()

az_log() { echo "[test] $*" >&2; }

az_log_tail() {
    local inst=${1:-main} log
    log=$(_az_named_log "$inst")
    if [[ -f $log ]]; then
        echo "---- last lines of $log ----" >&2
        tail -n 40 "$log" >&2
        echo "----" >&2
    fi
}

az_fail() {
    echo "FAIL: $*" >&2
    local inst
    for inst in "${!AZ_INST_PORT[@]}"; do
        az_log_tail "$inst"
    done
    exit 1
}

az_assert_eq() {
    local want=$1 got=$2 msg=${3:-values differ}
    if [[ $want != "$got" ]]; then
        az_fail "$msg: expected [$want], got [$got]"
    fi
}

az_assert_contains() {
    local hay=$1 needle=$2 msg=${3:-missing text}
    if [[ $hay != *"$needle"* ]]; then
        az_fail "$msg: [$needle] not found in: $hay"
    fi
}

az_assert_not_contains() {
    local hay=$1 needle=$2 msg=${3:-unexpected text}
    if [[ $hay == *"$needle"* ]]; then
        az_fail "$msg: [$needle] found in: $hay"
    fi
}

# True when PID is a named instance that is still to be stopped.
_az_is_named_pid() {
    local inst
    for inst in "${!AZ_INST_PID[@]}"; do
        [[ ${AZ_INST_PID[$inst]} == "$1" ]] && return 0
    done
    return 1
}

# Every sanitizer report any process of the test made, and named's exit
# statuses (AZ_BAD_EXITS): prints them and returns 1 when there is one.
_az_sanitizer_findings() {
    local found=0 f
    if [[ -n $AZ_SANITIZER_DIR && -d $AZ_SANITIZER_DIR ]]; then
        for f in "$AZ_SANITIZER_DIR"/*; do
            [[ -f $f ]] || continue
            found=1
            echo "FAIL: sanitizer report $(basename "$f"):" >&2
            head -n 60 "$f" >&2
        done
    fi
    # Reports a runtime wrote to stderr instead (a process that reset its
    # options), in the logs the test keeps.
    while IFS= read -r f; do
        found=1
        echo "FAIL: sanitizer report in $f:" >&2
        grep -m 5 -E "$_AZ_SANITIZER_PATTERN" "$f" >&2
    done < <(grep -lE "$_AZ_SANITIZER_PATTERN" "$AZ_TMP"/*.log 2>/dev/null)
    for f in "${AZ_BAD_EXITS[@]}"; do
        found=1
        echo "FAIL: $f" >&2
    done
    return $found
}

_az_cleanup() {
    local rc=$? pid i status
    # Stop everything we started: TERM first, then KILL after a bounded wait
    # (longer for named, whose shutdown under a sanitizer is checked).
    for pid in "${AZ_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${AZ_PIDS[@]}"; do
        local tries=100
        _az_is_named_pid "$pid" && tries=300
        for ((i = 0; i < tries; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            kill -KILL "$pid" 2>/dev/null || true
            _az_is_named_pid "$pid" &&
                AZ_BAD_EXITS+=("named (pid $pid) did not exit within 30 s of SIGTERM")
        fi
        status=0
        wait "$pid" 2>/dev/null || status=$?
        if _az_is_named_pid "$pid" && ((status != 0 && status != 137)); then
            AZ_BAD_EXITS+=("named (pid $pid) exited with status $status on SIGTERM")
        fi
    done
    if [[ -n $AZ_TMP ]] && ! _az_sanitizer_findings && ((rc == 0)); then
        rc=1
    fi
    for i in "${AZ_AT_EXIT[@]}"; do
        eval "$i" || echo "[test] on exit: '$i' failed" >&2
    done
    if [[ -n $AZ_TMP && -d $AZ_TMP ]]; then
        if [[ ${AZ_KEEP:-0} == 1 ]]; then
            echo "[test] kept $AZ_TMP" >&2
        else
            rm -rf -- "$AZ_TMP"
        fi
    fi
    exit "$rc"
}

_AZ_SANITIZER_PATTERN='ERROR: (AddressSanitizer|LeakSanitizer)|WARNING: ThreadSanitizer|: runtime error: '
AZ_SANITIZER_DIR=""
declare -a AZ_BAD_EXITS=()

az_setup() {
    set -euo pipefail
    AZ_TMP=$(mktemp -d "${TMPDIR:-/tmp}/acmezone-it.XXXXXX")
    trap _az_cleanup EXIT
    trap 'exit 130' INT TERM
    export AZ_TMP
    # Every report goes to a file here (report.PID), whichever user the
    # process runs as; unsanitized programs ignore these variables.
    AZ_SANITIZER_DIR=$AZ_TMP/sanitizer
    mkdir -p "$AZ_SANITIZER_DIR"
    chmod 1777 "$AZ_SANITIZER_DIR"
    local v
    for v in ASAN UBSAN LSAN TSAN; do
        local opts=${v}_OPTIONS
        export "$opts=${!opts:+${!opts}:}log_path=$AZ_SANITIZER_DIR/report"
    done
}

az_track_pid() { AZ_PIDS+=("$1"); }

az_at_exit() { AZ_AT_EXIT+=("$(printf '%q ' "$@")"); }

az_start_bg() {
    local name=$1
    shift
    "$@" >>"$AZ_TMP/$name.log" 2>&1 &
    AZ_BG_PID=$!
    az_track_pid "$AZ_BG_PID"
}

az_wait_for() {
    local secs=$1 deadline
    shift
    deadline=$((SECONDS + secs))
    # Bounded by the clock, not by a count of tries: a slow check must not
    # stretch the wait (each try takes what it takes, then 0.1 s).
    while true; do
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        ((SECONDS < deadline)) || return 1
        sleep 0.1
    done
}

# A port that is free for TCP and UDP on both loopback addresses right now.
# Bounded: 50 attempts.
az_free_port() {
    python3 - <<'EOF'
import socket, sys
for _ in range(50):
    socks = []
    try:
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        socks.append(t)
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
        for fam, typ, host in ((socket.AF_INET, socket.SOCK_DGRAM, "127.0.0.1"),
                               (socket.AF_INET6, socket.SOCK_STREAM, "::1"),
                               (socket.AF_INET6, socket.SOCK_DGRAM, "::1")):
            s = socket.socket(fam, typ)
            socks.append(s)
            s.bind((host, port))
        print(port)
        sys.exit(0)
    except OSError:
        pass
    finally:
        for s in socks:
            s.close()
sys.exit("az_free_port: no free port found in 50 attempts")
EOF
}

az_keygen() {
    local name=$1 file=$2 alg=${3:-hmac-sha256}
    (umask 077 && tsig-keygen -a "$alg" "$name" >"$file")
    chmod 0600 "$file"
}

az_key_secret() {
    sed -n 's/.*secret "\([^"]*\)".*/\1/p' "$1" | head -n 1
}

_az_named_log() {
    if [[ ${1:-main} == main ]]; then
        echo "$AZ_TMP/named.log"
    else
        echo "$AZ_TMP/named-$1.log"
    fi
}

az_reserve_named_port() {
    local inst=${1:-main}
    if [[ -z ${AZ_INST_PORT[$inst]:-} ]]; then
        AZ_INST_PORT[$inst]=$(az_free_port)
    fi
}

az_named_port() {
    local inst=${1:-main}
    if [[ -z ${AZ_INST_PORT[$inst]:-} ]]; then
        if ((BASH_SUBSHELL > 0)); then
            az_fail "az_named_port $inst: not reserved; call az_reserve_named_port $inst first"
        fi
        az_reserve_named_port "$inst"
    fi
    echo "${AZ_INST_PORT[$inst]}"
}

az_use_named() {
    local inst=${1:-main}
    AZ_NAMED_PORT=${AZ_INST_PORT[$inst]:-}
    AZ_NAMED_PID=${AZ_INST_PID[$inst]:-}
    AZ_NAMED_DIR=$AZ_TMP/named-$inst
    AZ_NAMED_LOG=$(_az_named_log "$inst")
}

az_named_alive() {
    local inst=${1:-main} pid
    pid=${AZ_INST_PID[$inst]:-}
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null
}

_az_write_named_conf() {
    local inst=$1 frag=$2 dir=$3 port=$4 rndc=$5 secret
    secret=$(az_key_secret "$dir/rndc.key")
    cat >"$dir/named.conf" <<EOF
// written by tests/integration/lib.sh for instance "$inst"
options {
    directory "$dir";
    pid-file "$dir/named.pid";
    session-keyfile "$dir/session.key";
    managed-keys-directory "$dir";
    listen-on port $port { 127.0.0.1; };
    listen-on-v6 port $port { ::1; };
    recursion no;
    dnssec-validation no;
    notify-source 127.0.0.1;
    transfer-source 127.0.0.1;
${AZ_NAMED_OPTIONS:-}
};
include "$dir/rndc.key";
controls {
    inet 127.0.0.1 port $rndc allow { 127.0.0.1; } keys { "rndc-key"; };
};
include "$frag";
EOF
    cat >"$dir/rndc.conf" <<EOF
include "$dir/rndc.key";
options { default-key "rndc-key"; default-server 127.0.0.1; default-port $rndc; };
EOF
}

# named's -n: one worker unless AZ_NAMED_WORKERS says otherwise ("default": no -n)
_az_named_workers() {
    local w=${AZ_NAMED_WORKERS:-1}
    [[ $w == default ]] || echo "-n $w"
}

_az_named_answers() {
    dig @127.0.0.1 -p "$1" +time=1 +tries=1 version.bind CH TXT >/dev/null 2>&1
}

az_start_named() {
    local frag=$1 inst=${2:-main} dir port rndc log i
    [[ -f $frag ]] || az_fail "az_start_named: no such fragment file: $frag"
    frag=$(realpath "$frag")
    dir=$AZ_TMP/named-$inst
    mkdir -p "$dir"
    az_reserve_named_port "$inst"
    port=${AZ_INST_PORT[$inst]}
    if [[ -z ${AZ_INST_RNDC[$inst]:-} ]]; then
        AZ_INST_RNDC[$inst]=$(az_free_port)
    fi
    rndc=${AZ_INST_RNDC[$inst]}
    [[ -f $dir/rndc.key ]] || az_keygen rndc-key "$dir/rndc.key"
    AZ_INST_FRAG[$inst]=$frag
    _az_write_named_conf "$inst" "$frag" "$dir" "$port" "$rndc"
    log=$(_az_named_log "$inst")
    echo "==== named start $(date -u +%T) ====" >>"$log"
    # shellcheck disable=SC2086
    env ${AZ_NAMED_ENV:-} named -g -c "$dir/named.conf" $(_az_named_workers) ${AZ_NAMED_ARGS:-} >>"$log" 2>&1 &
    AZ_INST_PID[$inst]=$!
    az_track_pid "${AZ_INST_PID[$inst]}"
    for ((i = 0; i < 300; i++)); do
        if ! kill -0 "${AZ_INST_PID[$inst]}" 2>/dev/null; then
            wait "${AZ_INST_PID[$inst]}" 2>/dev/null || true
            az_fail "named ($inst) exited during start-up; conf $dir/named.conf"
        fi
        if _az_named_answers "$port"; then
            az_use_named "$inst"
            az_log "named ($inst) up on port $port, pid ${AZ_INST_PID[$inst]}"
            return 0
        fi
        sleep 0.1
    done
    az_fail "named ($inst) did not answer on port $port within 30 s"
}

az_start_named_fails() {
    local frag=$1 inst=${2:-main} dir rndc log pid i
    [[ -f $frag ]] || az_fail "az_start_named_fails: no such fragment file: $frag"
    frag=$(realpath "$frag")
    dir=$AZ_TMP/named-$inst
    mkdir -p "$dir"
    az_reserve_named_port "$inst"
    if [[ -z ${AZ_INST_RNDC[$inst]:-} ]]; then
        AZ_INST_RNDC[$inst]=$(az_free_port)
    fi
    rndc=${AZ_INST_RNDC[$inst]}
    [[ -f $dir/rndc.key ]] || az_keygen rndc-key "$dir/rndc.key"
    _az_write_named_conf "$inst" "$frag" "$dir" "${AZ_INST_PORT[$inst]}" "$rndc"
    log=$(_az_named_log "$inst")
    echo "==== named start (expected to fail) $(date -u +%T) ====" >>"$log"
    # shellcheck disable=SC2086
    env ${AZ_NAMED_ENV:-} named -g -c "$dir/named.conf" $(_az_named_workers) ${AZ_NAMED_ARGS:-} >>"$log" 2>&1 &
    pid=$!
    az_track_pid "$pid"
    AZ_NAMED_LOG=$log
    for ((i = 0; i < 300; i++)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            wait "$pid" 2>/dev/null || true
            return 0
        fi
        if _az_named_answers "${AZ_INST_PORT[$inst]}"; then
            az_fail "named ($inst) started, but this configuration should have been refused"
        fi
        sleep 0.1
    done
    az_fail "named ($inst) neither answered nor exited within 30 s"
}

# Waits (bounded, 15 s) for PID to exit; sets AZ_EXIT_STATUS to its status.
_az_wait_exit() {
    local pid=$1 i
    for ((i = 0; i < 150; i++)); do
        kill -0 "$pid" 2>/dev/null || {
            AZ_EXIT_STATUS=0
            wait "$pid" 2>/dev/null || AZ_EXIT_STATUS=$?
            return 0
        }
        sleep 0.1
    done
    return 1
}

az_stop_named() {
    local inst=${1:-main} pid
    pid=${AZ_INST_PID[$inst]:-}
    [[ -n $pid ]] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    _az_wait_exit "$pid" || {
        kill -KILL "$pid" 2>/dev/null || true
        az_fail "named ($inst) did not stop within 15 s of SIGTERM"
    }
    AZ_INST_PID[$inst]=""
    # A sanitizer report at shutdown aborts named (tests/integration/sanitized/named).
    ((AZ_EXIT_STATUS == 0)) ||
        az_fail "named ($inst) exited with status $AZ_EXIT_STATUS on SIGTERM (a sanitizer report?)"
}

az_kill9_named() {
    local inst=${1:-main} pid
    pid=${AZ_INST_PID[$inst]:-}
    [[ -n $pid ]] || return 0
    kill -KILL "$pid" 2>/dev/null || true
    _az_wait_exit "$pid" || az_fail "named ($inst) survived SIGKILL"
    AZ_INST_PID[$inst]=""
}

az_restart_named() {
    local inst=${1:-main}
    az_stop_named "$inst"
    az_start_named "${AZ_INST_FRAG[$inst]}" "$inst"
}

az_rndc() {
    local inst=main
    if [[ ${2:-} == -- ]]; then
        inst=$1
        shift 2
    elif [[ ${1:-} == -- ]]; then
        shift
    fi
    rndc -c "$AZ_TMP/named-$inst/rndc.conf" "$@"
}

az_rndc_reload() {
    local inst=${1:-main} out
    out=$(az_rndc "$inst" -- reload 2>&1) || az_fail "rndc reload ($inst) failed: $out"
    az_wait_for 30 _az_named_answers "${AZ_INST_PORT[$inst]}" ||
        az_fail "named ($inst) does not answer after rndc reload"
    az_named_alive "$inst" || az_fail "named ($inst) died on rndc reload"
}

az_dig() {
    local inst=main
    if [[ ${2:-} == -- ]]; then
        inst=$1
        shift 2
    elif [[ ${1:-} == -- ]]; then
        shift
    fi
    dig @127.0.0.1 -p "${AZ_INST_PORT[$inst]}" +norec +time=2 +tries=1 "$@"
}

az_plugin_setup() {
    local zones=("$@") z
    ((${#zones[@]})) || zones=(example.com)
    [[ -n ${ACMEZONE_PLUGIN:-} && -f $ACMEZONE_PLUGIN ]] ||
        az_fail "ACMEZONE_PLUGIN is not set to the built acmezone_dlz.so"
    AZ_KEY_NAME=acme-key
    AZ_KEY_FILE=$AZ_TMP/keys.conf
    az_keygen "$AZ_KEY_NAME" "$AZ_KEY_FILE"
    AZ_KEY_SECRET=$(az_key_secret "$AZ_KEY_FILE")
    AZ_CONTROL_PORT=$(az_free_port)
    AZ_PLUGIN_CONF=$AZ_TMP/plugin.conf
    AZ_PLUGIN_FRAGMENT=$AZ_TMP/plugin-fragment.conf
    {
        for z in "${zones[@]}"; do echo "zone = $z"; done
        echo "nameserver = ns1.${zones[0]}"
        echo "contact = hostmaster.${zones[0]}"
        echo "ttl = ${AZ_PLUGIN_TTL:-0}"
        echo "lifetime = ${AZ_PLUGIN_LIFETIME:-600}"
        echo "state-dir = $AZ_TMP/plugin-state"
        echo "${AZ_PLUGIN_EXTRA:-}"
        echo "[control]"
        echo "listen = 127.0.0.1:$AZ_CONTROL_PORT"
        echo "keys = $AZ_KEY_FILE"
        for z in "${zones[@]}"; do echo "grant = $AZ_KEY_NAME zonesub $z"; done
        echo "${AZ_PLUGIN_CONTROL_EXTRA:-}"
    } >"$AZ_PLUGIN_CONF"
    cat >"$AZ_PLUGIN_FRAGMENT" <<EOF
dlz "acmezone" {
    database "dlopen $ACMEZONE_PLUGIN $AZ_PLUGIN_CONF";
};
EOF
}

az_nsupdate() {
    local line
    {
        echo "server 127.0.0.1 $AZ_CONTROL_PORT"
        for line in "$@"; do echo "$line"; done
        echo "send"
    } | nsupdate -t 5 -y "hmac-sha256:$AZ_KEY_NAME:$AZ_KEY_SECRET"
}
