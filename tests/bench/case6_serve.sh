# shellcheck shell=bash
# Case 6 — serve: `acmezone-issuer serve` against what acme-chief deploys,
# nginx verifying client certificates in front of the same answers as static
# files (issue 16). Sourced by bench.sh (the main named with the plugin is up:
# MAIN_DNS, MAIN_CTL; it claims z1..z100.bench.test). Figures only: nothing
# here asserts a target; report.py puts them beside the issue's.
#
# The zone set: BENCH_SERVE_ZONES (1,000) zones z1..zN.bench.test in an issuer
# store synthesised by synth_store.py (one ECDSA P-256 {Z, *.Z} certificate
# each), served by serve with 1,000 zones configured; nginx serves, for each
# zone, the very bytes serve answers (fetched once from serve) as the file
# /v1/zones/ZONE. A test CA made with openssl (pki_lib.sh) signs both servers'
# certificate (the same one) and every client certificate.
#
#   https.{c304,full}.{serve,nginx}   requests a second (mtls_load, 64 clients)
#       c304: If-None-Match with the ETag each server gave, over keep-alive
#             connections (one a client, all up before the clock starts): 304s
#       full: every request a new TCP connection and a full TLS 1.3 handshake
#             with the client certificate (no resumption), the whole answer: 200s
#   https.KIND.SERVER.cpu          requests per CPU-second of the server (all of
#                                  nginx's processes), read by mtls_load from /proc
#   https.KIND.SERVER.{server_cpu,load_cpu}  cores each used during the run
#       Each run: the four in turn (interleaved), BENCH_SERVE_HTTP_SECONDS
#       (5 s) each, BENCH_SERVE_HTTP_RUNS (BENCH_RUNS) runs. On 2 or more CPUs
#       the server is pinned to CPU 0 (nginx's master and workers inherit it)
#       and mtls_load (one thread) to CPU 1, as case 2 pins named and dnsperf.
#   fleet.converge_s        BENCH_FLEET (200) `acmezone-fetch --watch` processes,
#                           each with its own client certificate (fleet_certs.py,
#                           from the same CA), all watching
#                           z1 (fleet_watch.py starts them and stamps each
#                           install): seconds from the start of
#                           `acmezone-issuer issue z1.bench.test --force`
#                           (Pebble, the main named) to the last install
#   fleet.converge_store_s  the same from the new version's entry in the store
#                           (the mtime of its `current` link) to the last install
#   fleet.issue_s           what the issue command took
#   fleet.rss_watches_kib   serve's VmRSS with 1,000 zones and every watch open
#   fleet.hwm_kib           serve's VmHWM (peak) after the fleet took the renewal
#       A fresh serve for the fleet, so that its peak is the fleet's, not the
#       load runs'.

az_log "case 6: serve against nginx with client certificates"
# shellcheck source=../integration/pki_lib.sh
source "$root/tests/integration/pki_lib.sh"
C6=$B/case6
mkdir -p "$C6"
S6_ZONES=${BENCH_SERVE_ZONES:-1000}
S6_FLEET=${BENCH_FLEET:-200}
S6_CLIENTS=${BENCH_SERVE_HTTP_CLIENTS:-64}
S6_SECONDS=${BENCH_SERVE_HTTP_SECONDS:-5}
S6_RUNS=${BENCH_SERVE_HTTP_RUNS:-$RUNS}
S6_LOAD=${BENCH_MTLS_LOAD:-$root/build-bench/tests/bench/mtls_load}
S6_FETCH=${ACMEZONE_FETCH:-$(dirname "$ACMEZONE_ISSUER")/acmezone-fetch}
S6_ZONE=z1.bench.test # the one renewed under the fleet (claimed by the main named)

s6_missing=""
have nginx || s6_missing="nginx is not installed"
[[ -x $S6_LOAD ]] || s6_missing="no $S6_LOAD (scripts/bench builds it: -DACMEZONE_BUILD_BENCH=ON)"
[[ -x $S6_FETCH ]] || s6_missing="no acmezone-fetch at $S6_FETCH"
if [[ -n $s6_missing ]]; then
    rec https.failure "case 6 not run: $s6_missing"
    return 0
fi
rec version.nginx "$(ver nginx)"

# ---- the zones, the store, Pebble (for the renewal), the hosts' CA ----------------
awk -v n="$S6_ZONES" 'BEGIN { for (i = 1; i <= n; i++) printf "z%d.bench.test\n", i }' >"$C6/zones"
export PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0
az_start_pebble "$MAIN_DNS" serve
"$PY" "$here/synth_store.py" "$C6/certs" "$C6/state" "$C6/zones" "$AZ_PEBBLE_DIR"
AZ_PKI=$C6/pki
mkdir -p "$AZ_PKI"
az_make_ca "$AZ_PKI/ca" "acmezone bench hosts CA"
az_pki_leaf "$AZ_PKI/ca" server "$(az_server_ext)"
az_pki_leaf "$AZ_PKI/ca" bench-client.bench.test "$(az_client_ext bench-client.bench.test)"
s6_t=$(now)
"$PY" "$here/fleet_certs.py" "$AZ_PKI/ca" "$AZ_PKI" "$S6_FLEET"
az_log "case 6: $S6_FLEET client certificates in $(elapsed "$s6_t") s"

S6_PORT=$(az_free_port)
S6_URL=https://127.0.0.1:$S6_PORT
{
    bench_issuer_conf "$C6/state" "$C6/zones" "$C6/certs" "$MAIN_CTL" "$MAIN_DNS"
    cat <<EOF
[serve]
listen = 127.0.0.1:$S6_PORT
cert = $AZ_PKI/server.pem
key = $AZ_PKI/server.key
client-ca = $AZ_PKI/ca/ca.pem
max-connections = 2048
max-wait = 300
EOF
    awk '{ printf "allow = %s bench-client.bench.test\n", $1 }' "$C6/zones"
    echo "allow-regex = $S6_ZONE ^fleet[0-9]+\\.bench\\.test\$"
} >"$C6/issuer.conf"

# s6_start_serve NAME [PIN...]: serve in the background (log $AZ_TMP/NAME.log),
# S6_SERVE_PID; waits (bounded) for its "listening" line
s6_start_serve() {
    local name=$1
    shift
    az_start_bg "$name" "$@" "$ACMEZONE_ISSUER" --config "$C6/issuer.conf" serve
    S6_SERVE_PID=$AZ_BG_PID
    az_wait_for 30 grep -q "serve: listening on 127.0.0.1:$S6_PORT" "$AZ_TMP/$name.log" ||
        az_fail "case 6: serve did not start: $(tail -n 5 "$AZ_TMP/$name.log")"
}
s6_stop() { # PID: SIGTERM, bounded wait
    kill -TERM "$1" 2>/dev/null || true
    az_wait_for 20 bash -c "! kill -0 $1" || kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}
S6_PIN=()
((${#LOAD_PIN[@]} == 0)) || S6_PIN=(taskset -c 0)

# ---- the same answers as nginx's static files ------------------------------------------
s6_start_serve serve6 "${S6_PIN[@]}"
mkdir -p "$C6/www/v1/zones"
awk -v url="$S6_URL" -v www="$C6/www" \
    '{ printf "url = \"%s/v1/zones/%s\"\noutput = \"%s/v1/zones/%s\"\n", url, $1, www, $1 }' \
    "$C6/zones" >"$C6/curl.conf"
curl -sS --fail --max-time 120 --cacert "$AZ_PKI/ca/ca.pem" --cert "$AZ_PKI/bench-client.bench.test.pem" \
    --key "$AZ_PKI/bench-client.bench.test.key" -K "$C6/curl.conf" ||
    az_fail "case 6: could not fetch the zones' answers from serve: $(tail -n 3 "$AZ_TMP/serve6.log")"
got=$(find "$C6/www/v1/zones" -type f -size +100c | wc -l)
((got == S6_ZONES)) || az_fail "case 6: $got of $S6_ZONES answers fetched from serve"
chmod -R a+rX "$C6/www"
sed 's|^|/v1/zones/|' "$C6/zones" >"$C6/paths"

S6_NGINX_PORT=$(az_free_port)
mkdir -p "$C6/nginx/tmp"
S6_NGINX_SETTINGS="worker_processes auto; worker_connections 4096; keepalive_requests 100000; keepalive_timeout 65s; ssl_session_cache shared:SSL:10m (ssl_session_timeout 1h); sendfile on; tcp_nopush on; tcp_nodelay on; open_file_cache max=2000 inactive=60s (valid 60s, min_uses 1, errors on); access_log off; ssl_protocols TLSv1.2 TLSv1.3; ssl_verify_client on; no per-zone authorisation (acme-chief does that in its Flask API behind nginx)"
s6_user=""
[[ $(id -u) -ne 0 ]] || s6_user="user root;" # workers read the files under the work directory
cat >"$C6/nginx/nginx.conf" <<EOF
# written by tests/bench/case6_serve.sh: nginx's documented settings for static files over TLS
$s6_user
worker_processes auto;
pid $C6/nginx/nginx.pid;
error_log stderr warn;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 65s;
    keepalive_requests 100000;
    open_file_cache max=2000 inactive=60s;
    open_file_cache_valid 60s;
    open_file_cache_min_uses 1;
    open_file_cache_errors on;
    ssl_session_cache shared:SSL:10m;
    ssl_session_timeout 1h;
    client_body_temp_path $C6/nginx/tmp/body;
    proxy_temp_path $C6/nginx/tmp/proxy;
    fastcgi_temp_path $C6/nginx/tmp/fastcgi;
    uwsgi_temp_path $C6/nginx/tmp/uwsgi;
    scgi_temp_path $C6/nginx/tmp/scgi;
    server {
        listen 127.0.0.1:$S6_NGINX_PORT ssl;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_certificate $AZ_PKI/server.pem;
        ssl_certificate_key $AZ_PKI/server.key;
        ssl_client_certificate $AZ_PKI/ca/ca.pem;
        ssl_verify_client on;
        root $C6/www;
        default_type application/json;
        location /v1/zones/ { }
    }
}
EOF
s6_nginx_args=(-p "$C6/nginx/" -c "$C6/nginx/nginx.conf" -e stderr)
out=$(nginx -t "${s6_nginx_args[@]}" 2>&1) || az_fail "case 6: nginx -t: $out"
az_start_bg nginx6 "${S6_PIN[@]}" nginx "${s6_nginx_args[@]}" -g "daemon off;"
S6_NGINX_PID=$AZ_BG_PID
az_wait_for 20 test -s "$C6/nginx/nginx.pid" || az_fail "case 6: nginx did not start: $(tail -n 5 "$AZ_TMP/nginx6.log")"
S6_NGINX_MASTER=$(cat "$C6/nginx/nginx.pid")
s6_nginx_pids() { echo "$S6_NGINX_MASTER" $(pgrep -P "$S6_NGINX_MASTER") | tr ' ' ','; }
az_wait_for 20 bash -c "pgrep -P $S6_NGINX_MASTER >/dev/null" || az_fail "case 6: no nginx worker"
# the same bytes from both (one zone checked)
s6_curl() { # URL → body
    curl -sS --fail --max-time 20 --cacert "$AZ_PKI/ca/ca.pem" \
        --cert "$AZ_PKI/bench-client.bench.test.pem" --key "$AZ_PKI/bench-client.bench.test.key" "$1"
}
[[ $(s6_curl "https://127.0.0.1:$S6_NGINX_PORT/v1/zones/$S6_ZONE") == "$(s6_curl "$S6_URL/v1/zones/$S6_ZONE")" ]] ||
    az_fail "case 6: nginx and serve answer $S6_ZONE differently"
rec settings.nginx "$S6_NGINX_SETTINGS; $(pgrep -P "$S6_NGINX_MASTER" | wc -l) worker processes"
rec settings.https "$S6_ZONES zones (synthesised store, one ECDSA P-256 certificate each, answers of $(stat -c %s "$C6/www/v1/zones/$S6_ZONE") octets); mtls_load (tests/bench/mtls_load.cpp, Boost.Beast, one thread) with $S6_CLIENTS clients, $S6_SECONDS s a run, $S6_RUNS runs of the four in turn; c304: keep-alive, If-None-Match; full: a new connection and full handshake each (no resumption), Connection: close; client and server certificates ECDSA P-256 from one test CA; $(
    ((${#S6_PIN[@]})) && echo "server pinned to CPU 0 (taskset), mtls_load to CPU 1" || echo "no pinning (fewer than 2 CPUs)"
); serve: one thread (Boost.Asio), a log line per request to a file"

# s6_load KIND SERVER PORT PIDS: one run; records the rate, per server CPU-second, CPU use
s6_load() {
    local kind=$1 server=$2 port=$3 pids=$4 mode=conditional out rc=0 line
    [[ $kind == c304 ]] || mode=full
    out=$(timeout $((S6_SECONDS + 90)) "${LOAD_PIN[@]}" "$S6_LOAD" --port "$port" \
        --ca "$AZ_PKI/ca/ca.pem" --cert "$AZ_PKI/bench-client.bench.test.pem" \
        --key "$AZ_PKI/bench-client.bench.test.key" --paths "$C6/paths" --mode "$mode" \
        --clients "$S6_CLIENTS" --seconds "$S6_SECONDS" --server-pids "$pids" 2>"$C6/load.err") || rc=$?
    line=$(grep '^requests=' <<<"$out" || true)
    if ((rc != 0)) || [[ -z $line ]]; then
        rec "https.$kind.$server" FAIL
        rec https.failure "$kind $server: mtls_load exit $rc: $(head -n 3 "$C6/load.err" | tr '\n' ' ')"
        return
    fi
    local -A f
    local kv
    for kv in $line; do f[${kv%%=*}]=${kv#*=}; done
    rec "https.$kind.$server" "${f[rate]}"
    awk -v n="${f[requests]}" -v c="${f[server_cpu_s]}" -v l="${f[cpu_s]}" -v s="${f[seconds]}" \
        'BEGIN { printf "%.0f %.2f %.2f\n", (c > 0 ? n / c : 0), c / s, l / s }' >"$C6/cpu"
    read -r per server_cpu load_cpu <"$C6/cpu"
    rec "https.$kind.$server.cpu" "$per"
    rec "https.$kind.$server.server_cpu" "$server_cpu"
    rec "https.$kind.$server.load_cpu" "$load_cpu"
    [[ -n ${S6_TLS:-} ]] || { S6_TLS=${f[tls]}; rec settings.https_tls "$S6_TLS"; }
}
for ((r = 1; r <= S6_RUNS; r++)); do
    for kind in c304 full; do
        s6_load "$kind" serve "$S6_PORT" "$S6_SERVE_PID"
        s6_load "$kind" nginx "$S6_NGINX_PORT" "$(s6_nginx_pids)"
    done
done
rec https.serve_hwm_after_load_kib "$(awk '/^VmHWM:/ { print $2 }' "/proc/$S6_SERVE_PID/status")"
rec https.nginx_rss_kib "$(for p in $(s6_nginx_pids | tr ',' ' '); do awk '/^VmRSS:/ { print $2 }' "/proc/$p/status"; done | awk '{ s += $1 } END { print s }')"
s6_stop "$S6_NGINX_PID"
s6_stop "$S6_SERVE_PID"

# ---- the fleet: 200 watches, a renewal, serve's memory -----------------------------------
# A warm-up issuance of another zone: the ACME account is made outside the timed part.
timeout 120 "$ACMEZONE_ISSUER" --config "$C6/issuer.conf" issue z2.bench.test --force \
    >"$C6/warmup.out" 2>"$C6/warmup.log" ||
    az_fail "case 6: the warm-up issuance failed: $(tail -n 3 "$C6/warmup.log")"
s6_start_serve serve6-fleet
confs=()
for ((i = 1; i <= S6_FLEET; i++)); do
    h=fleet$i.bench.test
    mkdir -p "$C6/fleet/$h"
    cat >"$C6/fleet/$h/fetch.conf" <<EOF
server = $S6_URL
server-ca = $AZ_PKI/ca/ca.pem
client-cert = $AZ_PKI/$h.pem
client-key = $AZ_PKI/$h.key
zone = $S6_ZONE
target = $C6/fleet/$h/certs
wait = 300
EOF
    confs+=("$C6/fleet/$h/fetch.conf")
done
# s6_fleet: start the fleet, wait for every watch, renew, wait for every install;
# a step that does not happen in time is recorded (FAIL and why), not fatal
s6_fleet() {
    local t0 t1 t_store rc=0 last
    : >"$C6/fleet.out"
    az_start_bg fleet6 "$PY" "$here/fleet_watch.py" "$S6_FETCH" "$S6_ZONE" "$C6/fleet.out" 240 "${confs[@]}"
    S6_FLEET_PID=$AZ_BG_PID
    t0=$(now)
    if ! az_wait_for 180 grep -qE '^(ready|timeout)' "$C6/fleet.out" || ! grep -q '^ready' "$C6/fleet.out"; then
        rec fleet.converge_s FAIL
        rec https.failure "fleet: not every fetcher installed its first version: $(tr '\n' ' ' <"$C6/fleet.out" | cut -c1-300)"
        return
    fi
    rec fleet.first_install_s "$(elapsed "$t0")"
    # every fetcher's long poll open at serve (it logs a line for each poll it holds)
    s6_watching() {
        (($(grep 'waiting up to' "$AZ_TMP/serve6-fleet.log" | grep -o 'host=fleet[0-9]*' | sort -u | wc -l) >= S6_FLEET))
    }
    if ! az_wait_for 60 s6_watching; then
        rec fleet.converge_s FAIL
        rec https.failure "fleet: not every fetcher holds a watch at serve within 60 s: $(grep -c 'waiting up to' "$AZ_TMP/serve6-fleet.log") long polls logged; $(tail -n 1 "$AZ_TMP/serve6-fleet.log" | cut -c1-200)"
        return
    fi
    rec fleet.rss_watches_kib "$(awk '/^VmRSS:/ { print $2 }' "/proc/$S6_SERVE_PID/status")"
    t0=$(now)
    timeout 120 "$ACMEZONE_ISSUER" --config "$C6/issuer.conf" issue "$S6_ZONE" --force \
        >"$C6/issue.out" 2>"$C6/issue.log" || rc=$?
    t1=$(now)
    rec fleet.issue_s "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')"
    if ((rc != 0)); then
        rec fleet.converge_s FAIL
        rec https.failure "fleet: issue $S6_ZONE --force exited $rc: $(tail -n 2 "$C6/issue.log" | tr '\n' ' ')"
        return
    fi
    if az_wait_for 120 grep -qE '^(converged|timeout)' "$C6/fleet.out" &&
        last=$(awk '/^converged/ { print $2 }' "$C6/fleet.out") && [[ -n $last ]]; then
        rec fleet.converge_s "$(awk -v a="$t0" -v b="$last" 'BEGIN { printf "%.3f", b - a }')"
        # the new version's `current` link was made (renamed into place) when it
        # entered the store; `issue` goes on after that (outputs, state)
        t_store=$("$PY" -c 'import os, sys; print(os.lstat(sys.argv[1]).st_mtime)' \
            "$C6/certs/$S6_ZONE/current")
        rec fleet.converge_store_s "$(awk -v a="$t_store" -v b="$last" 'BEGIN { printf "%.3f", b - a }')"
    else
        rec fleet.converge_s FAIL
        rec https.failure "fleet: $(grep -vE '^ready' "$C6/fleet.out" | tr '\n' ' ' | cut -c1-300)"
    fi
    rec fleet.hwm_kib "$(awk '/^VmHWM:/ { print $2 }' "/proc/$S6_SERVE_PID/status")"
}
s6_fleet
rec settings.fleet "$S6_FLEET acmezone-fetch --watch processes (fleet_watch.py), each its own client certificate and target, all watching $S6_ZONE (wait = 300); serve with $S6_ZONES zones, not pinned; the renewal: acmezone-issuer issue $S6_ZONE --force through Pebble and the main named (ACME account made by a warm-up issuance before)"
s6_stop "$S6_FLEET_PID"
s6_stop "$S6_SERVE_PID"
az_stop_pebble serve
