#!/usr/bin/env bash
# acmezone-issuer serve end to end: real named with the plugin, real Pebble
# (the store is filled by real issuance), a test CA for the hosts made with
# openssl here, curl and openssl s_client as clients, all on loopback.
#   (1) a host allowed by name and one allowed by regex each get one
#       consistent set (every key matches its certificate, fullchain = cert +
#       chain, the store's current files, ETag = version); the list shows
#       their zones with version and expiry
#   (2) a host allowed nothing gets an empty list and, for a zone it may not
#       have, the very bytes a nonexistent zone gets (raw answers checked: no
#       certificate or key byte)
#   (3) refused handshakes: no client certificate, another CA's, an expired
#       one, a revoked one (CRL); plain HTTP
#   (4) path traversal and encoded variants: never 200, never a key byte, and
#       (strace) no file system access outside the store while answering
#   (5) an oversized header: 431; a client that idles is closed after
#       idle-timeout while another is served meanwhile
#   (6) If-None-Match with the current version: 304; a long poll returns the
#       new version after `issue ZONE --force`, not before
#   (7) SIGHUP re-reads the configuration: with stage-for, a new version is
#       not served before its time and is after it
#   (7b) with max-connections 2 and two connections held, a third is closed
#       at once; once they are gone clients are served again
#   (6b) the fleet view: two hosts fetch, a new version is issued, one
#       fetches it: status --fleet (text, JSON) and the metrics file show one
#       outdated host (exit 1); the other fetches it: none (exit 0); request
#       counters per status
#   (7c) SIGHUP re-reads the CRL: a host revoked since then is refused
#   (7d) the CRL file rewritten, no signal: the host revoked there is refused
#       within seconds, the others are served
#   (8) SIGTERM drains: a long poll in progress is answered, the fleet view
#       written once more, then exit 0
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pebble.sh"
source "$(dirname "$0")/issuer_lib.sh"
source "$(dirname "$0")/pki_lib.sh"
az_setup

Z1=z1.example.org
Z2=z2.example.org
az_issued_zones "$Z1" "$Z2"
CONF=$AZ_ISSUER_CONF
BASE_CONF=$(cat "$CONF")

# ---- the hosts' CA (and another one), made with openssl ca ----
PKI=$AZ_TMP/pki
AZ_PKI=$PKI
mkdir -p "$PKI"
az_make_ca "$PKI/ca" "acmezone test hosts CA"
az_make_ca "$PKI/other" "another CA"
az_pki_leaf "$PKI/ca" server "$(az_server_ext)"
az_pki_leaf "$PKI/ca" web1.example.net "$(az_client_ext web1.example.net)"
az_pki_leaf "$PKI/ca" cp1001.eqiad.wmnet "$(az_client_ext cp1001.eqiad.wmnet)"
az_pki_leaf "$PKI/ca" cp1002.eqiad.wmnet "$(az_client_ext cp1002.eqiad.wmnet)"
az_pki_leaf "$PKI/ca" nothing.example.net "$(az_client_ext nothing.example.net)"
az_pki_leaf "$PKI/ca" expired "$(az_client_ext web1.example.net)" \
    -startdate 20200101000000Z -enddate 20200102000000Z
az_pki_leaf "$PKI/ca" revoked "$(az_client_ext cp2.eqiad.wmnet)"
az_pki_leaf "$PKI/other" foreign "$(az_client_ext web1.example.net)"
openssl ca -config "$PKI/ca/ca.cnf" -revoke "$PKI/revoked.pem" 2>/dev/null ||
    az_fail "openssl ca -revoke failed"
openssl ca -config "$PKI/ca/ca.cnf" -gencrl -out "$PKI/crl.pem" 2>/dev/null ||
    az_fail "openssl ca -gencrl failed"

PORT=$(az_free_port)
METRICS=$AZ_TMP/metrics/acmezone.prom
SERVE_METRICS=$AZ_TMP/metrics/acmezone-serve.prom
mkdir -p "$AZ_TMP/metrics"
serve_conf() { # extra [serve] lines
    {
        echo "$BASE_CONF"
        echo "[status]"
        echo "metrics-file = $METRICS"
        echo "[serve]"
        echo "listen = 127.0.0.1:$PORT"
        echo "cert = $PKI/server.pem"
        echo "key = $PKI/server.key"
        echo "client-ca = $PKI/ca/ca.pem"
        echo "client-crl = $PKI/crl.pem"
        echo "allow = $Z1 web1.example.net"
        echo "allow-regex = $Z1 ^cp[0-9]+\\.eqiad\\.wmnet\$"
        echo "allow-regex = $Z2 cp[0-9]+\\.eqiad\\.wmnet"
        echo "idle-timeout = 3"
        echo "max-wait = 60"
        echo "max-header-bytes = 4096"
        printf '%s\n' "$@"
    } >"$CONF"
}
serve_conf
# A bad expression is a configuration error naming it.
cp "$CONF" "$AZ_TMP/bad.conf"
echo "allow-regex = $Z2 cp[0-9" >>"$AZ_TMP/bad.conf"
rc=0
"$ACMEZONE_ISSUER" --config "$AZ_TMP/bad.conf" serve 2>"$AZ_TMP/bad.err" || rc=$?
az_assert_eq 2 "$rc" "a bad allow-regex is a configuration error"
az_assert_contains "$(cat "$AZ_TMP/bad.err")" 'serve.allow-regex: bad regular expression "cp[0-9"' \
    "the error names the expression"

SERVE_LOG=$AZ_TMP/serve.log
az_start_bg serve "$ACMEZONE_ISSUER" --config "$CONF" serve
SERVE_PID=$AZ_BG_PID
az_wait_for 20 grep -q "serve: listening on 127.0.0.1:$PORT" "$SERVE_LOG" ||
    az_fail "serve did not start: $(tail -5 "$SERVE_LOG")"
URL=https://127.0.0.1:$PORT

# fetch HOST PATH [curl args]: the status code; body in $AZ_TMP/body, headers in $AZ_TMP/headers
fetch() {
    local host=$1 path=$2
    shift 2
    rm -f "$AZ_TMP/body" "$AZ_TMP/headers"
    curl -sS --max-time 30 --path-as-is --cacert "$PKI/ca/ca.pem" \
        --cert "$PKI/$host.pem" --key "$PKI/$host.key" \
        -o "$AZ_TMP/body" -D "$AZ_TMP/headers" -w '%{http_code}' "$@" "$URL$path"
}
header() { sed -n "s/^$1: *//Ip" "$AZ_TMP/headers" | tr -d '\r'; }
store_version() { readlink "$AZ_CERTS/$1/current" | sed 's/^\.v-//'; }

# check_set ZONE: the body is one consistent set of ZONE's current version.
check_set() {
    local zone=$1 want_version=${2:-$(store_version "$1")} d=$AZ_TMP/set
    rm -rf "$d" && mkdir -p "$d"
    python3 - "$AZ_TMP/body" "$d" <<'EOF' || az_fail "$zone: the answer is not a key set: $(head -c 300 "$AZ_TMP/body")"
import json, os, sys
doc = json.load(open(sys.argv[1]))
open(os.path.join(sys.argv[2], "version"), "w").write(doc["version"] + "\n")
open(os.path.join(sys.argv[2], "zone"), "w").write(doc["zone"] + "\n")
for kt, files in doc["keys"].items():
    os.makedirs(os.path.join(sys.argv[2], kt))
    for name in ("cert", "chain", "fullchain", "privkey"):
        open(os.path.join(sys.argv[2], kt, name + ".pem"), "w").write(files[name])
EOF
    az_assert_eq "$zone" "$(cat "$d/zone")" "$zone: zone in the answer"
    az_assert_eq "$want_version" "$(cat "$d/version")" "$zone: version in the answer"
    az_assert_eq "\"$want_version\"" "$(header etag)" "$zone: ETag"
    local kt n=0
    for kt in "$d"/*/; do
        kt=${kt%/}
        n=$((n + 1))
        az_assert_eq "$(openssl pkey -in "$kt/privkey.pem" -pubout)" \
            "$(openssl x509 -in "$kt/cert.pem" -noout -pubkey)" "$zone $(basename "$kt"): key matches cert"
        az_assert_eq "$(cat "$kt/cert.pem" "$kt/chain.pem")" "$(cat "$kt/fullchain.pem")" \
            "$zone: fullchain = cert + chain"
        cmp -s "$kt/cert.pem" "$AZ_CERTS/$zone/.v-$want_version/$(basename "$kt")/cert.pem" ||
            cmp -s "$kt/cert.pem" "$AZ_CERTS/$zone/.v-$want_version/cert.pem" ||
            az_fail "$zone: the served cert.pem is not version $want_version's"
    done
    ((n >= 1)) || az_fail "$zone: no key type in the answer"
}

az_log "(1) allowed by name and by regex: consistent sets"
az_assert_eq 200 "$(fetch web1.example.net "/v1/zones/$Z1")" "web1 fetches $Z1"
check_set "$Z1"
az_assert_eq 200 "$(fetch cp1001.eqiad.wmnet "/v1/zones/$Z1")" "cp1001 fetches $Z1 (regex)"
check_set "$Z1"
az_assert_eq 200 "$(fetch cp1001.eqiad.wmnet "/v1/zones/$Z2")" "cp1001 fetches $Z2 (regex)"
check_set "$Z2"
az_assert_eq 200 "$(fetch cp1001.eqiad.wmnet /v1/zones)" "cp1001's list"
list=$(python3 -c 'import json,sys; print(" ".join(z["zone"]+"="+z["version"]+"@"+z["not_after"] for z in json.load(open(sys.argv[1]))["zones"]))' "$AZ_TMP/body")
az_assert_eq "$Z1=$(store_version $Z1)@ $Z2=$(store_version $Z2)@" \
    "$(sed -E 's/@[^ ]+/@/g' <<<"$list")" "cp1001 lists both zones with their versions"
[[ $list == *@20[0-9][0-9]-* ]] || az_fail "the list has no expiry: $list"
az_assert_eq 200 "$(fetch web1.example.net /v1/zones)" "web1's list"
az_assert_contains "$(cat "$AZ_TMP/body")" "\"zone\":\"$Z1\"" "web1 lists $Z1"
az_assert_not_contains "$(cat "$AZ_TMP/body")" "$Z2" "web1 does not list $Z2"
grep -q "host=web1.example.net GET /v1/zones/$Z1 zone=$Z1 version=$(store_version $Z1) status=200 bytes=" \
    "$SERVE_LOG" || az_fail "no log line for web1's fetch: $(tail -3 "$SERVE_LOG")"

az_log "(2) a host allowed nothing, and forbidden zones, get what a nonexistent zone gets"
# raw HOST REQUEST-LINE: the whole answer, bytes as sent, through openssl s_client
raw() {
    printf '%s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "$2" |
        timeout 20 openssl s_client -quiet -connect "127.0.0.1:$PORT" -CAfile "$PKI/ca/ca.pem" \
            -cert "$PKI/$1.pem" -key "$PKI/$1.key" 2>/dev/null
}
nonexistent=$(raw web1.example.net "GET /v1/zones/nonexistent.example.org" | sed -n '/^\r$/,$p')
[[ -n $nonexistent ]] || az_fail "no answer for a nonexistent zone"
for case in "nothing.example.net GET /v1/zones/$Z1" "nothing.example.net GET /v1/zones/$Z2" \
    "web1.example.net GET /v1/zones/$Z2"; do
    read -r host method path <<<"$case"
    answer=$(raw "$host" "$method $path")
    az_assert_contains "$answer" "HTTP/1.1 404 Not Found" "$case"
    az_assert_eq "$nonexistent" "$(sed -n '/^\r$/,$p' <<<"$answer")" \
        "$case: the same bytes as a nonexistent zone"
    az_assert_not_contains "$answer" "BEGIN" "$case: no PEM byte"
    az_assert_not_contains "$answer" "PRIVATE" "$case: no key byte"
done
answer=$(raw nothing.example.net "GET /v1/zones")
az_assert_contains "$answer" '{"zones":[]}' "the host allowed nothing lists no zone"
az_assert_not_contains "$answer" "$Z1" "no zone name for the host allowed nothing"

az_log "(3) refused handshakes"
refused() { # WHAT LOG-TEXT CURL-ARGS...
    local what=$1 text=$2 before
    shift 2
    before=$(grep -c "TLS handshake refused" "$SERVE_LOG" || true)
    if out=$(curl -sS --max-time 20 --cacert "$PKI/ca/ca.pem" "$@" "$URL/v1/zones/$Z1" 2>&1); then
        az_fail "$what: curl got an answer: ${out:0:120}"
    fi
    az_assert_not_contains "$out" "BEGIN" "$what: no PEM byte"
    az_wait_for 10 bash -c "(( \$(grep -c 'TLS handshake refused' '$SERVE_LOG') > $before ))" ||
        az_fail "$what: no refused handshake logged"
    az_assert_contains "$(grep "TLS handshake refused" "$SERVE_LOG" | tail -1)" "$text" \
        "$what: the log says why"
    az_log "  $what: curl said: ${out//$'\n'/ }"
}
refused "no client certificate" "peer did not return a certificate"
refused "another CA's certificate" "unable to get local issuer certificate" \
    --cert "$PKI/foreign.pem" --key "$PKI/foreign.key"
refused "an expired certificate" "certificate has expired" \
    --cert "$PKI/expired.pem" --key "$PKI/expired.key"
refused "a revoked certificate" "certificate revoked" \
    --cert "$PKI/revoked.pem" --key "$PKI/revoked.key"
if out=$(curl -sS --max-time 20 "http://127.0.0.1:$PORT/v1/zones/$Z1" 2>&1); then
    az_fail "plain HTTP got an answer: ${out:0:120}"
fi
az_assert_not_contains "$out" "BEGIN" "plain HTTP: no PEM byte"
az_wait_for 10 grep -q "TLS handshake refused: http request" "$SERVE_LOG" ||
    az_fail "plain HTTP: no refused handshake logged"

az_log "(4) traversal and encoded variants"
ls "$AZ_TMP/issuer-state/account.key" >/dev/null || az_fail "no account key to aim at"
# Every file system call serve makes meanwhile, to show none reaches outside the store.
strace -f -e trace=%file -p "$SERVE_PID" -o "$AZ_TMP/strace.out" 2>"$AZ_TMP/strace.err" &
STRACE_PID=$!
az_track_pid "$STRACE_PID"
az_wait_for 10 grep -q "attached" "$AZ_TMP/strace.err" ||
    az_fail "strace did not attach to serve: $(cat "$AZ_TMP/strace.err")"
for path in "/v1/zones/..%2fissuer-state%2faccount.key" \
    "/v1/zones/../issuer-state/account.key" \
    "/v1/zones/%2e%2e%2fissuer-state%2faccount.key" \
    "/v1/zones/%2E%2E%2Fissuer-state%2Faccount.key" \
    "/v1/zones/%252e%252e%252fissuer-state%252faccount.key" \
    "/v1/zones/..%252f..%252fissuer-state%252faccount.key" \
    "/v1/zones/%2f${AZ_TMP//\//%2f}%2fissuer-state%2faccount.key" \
    "/v1/zones/$Z1/privkey.pem" \
    "/v1/zones/$Z1%2fprivkey.pem" \
    "/v1/zones/$Z1%2f.v-1%2fprivkey.pem" \
    "/v1/zones/$Z1/../$Z2" \
    "/v1/zones/.." \
    "/v1/zones/%2e%2e" \
    "/v1/zones//etc/passwd" \
    "/v1/../../issuer-state/account.key" \
    "$AZ_TMP/issuer-state/account.key"; do
    code=$(fetch web1.example.net "$path")
    [[ $code == 404 || $code == 400 ]] || az_fail "$path: status $code (expected 404 or 400)"
    body=$(cat "$AZ_TMP/body")
    az_assert_not_contains "$body" "PRIVATE" "$path: no key byte"
    az_assert_not_contains "$body" "BEGIN" "$path: no PEM byte"
done
# A positive control: a real fetch is seen by strace, under the store.
az_assert_eq 200 "$(fetch web1.example.net "/v1/zones/$Z1")" "web1 fetches $Z1 under strace"
az_wait_for 10 grep -q "$AZ_CERTS/$Z1" "$AZ_TMP/strace.out" ||
    az_fail "strace saw no store access for a real fetch: $(tail -3 "$AZ_TMP/strace.out")"
kill -INT "$STRACE_PID"
wait "$STRACE_PID" || true
# Outside: not below the store, or through a ".." component. serve's own
# outputs, written every 2 s apart from any request (the fleet view, its
# metrics file and their directories), are not answers and are left out, and
# so is the client CRL, looked at (stat) on new connections for a change.
outside=$(grep -o '"/[^"]*"' "$AZ_TMP/strace.out" | tr -d '"' |
    awk -v store="$AZ_CERTS/" 'index($0, store) != 1 || $0 ~ /(^|\/)\.\.(\/|$)/' |
    grep -Ev "^($AZ_TMP/issuer-state(/\.?fleet\.json(\.tmp-[0-9-]+)?)?|$AZ_TMP/metrics(/\.?acmezone-serve\.prom(\.tmp-[0-9-]+)?)?|$PKI/crl\.pem)\$" |
    sort -u || true)
[[ -z $outside ]] || az_fail "serve touched paths outside the store while answering: $outside"

az_log "(5) oversized header; an idle client closed while another is served"
code=$(fetch web1.example.net "/v1/zones/$Z1" -H "X-Big: $(head -c 6000 /dev/zero | tr '\0' a)")
az_assert_eq 431 "$code" "a 6000-byte header with max-header-bytes 4096"
python3 - "$PORT" >"$AZ_TMP/idle.out" 2>&1 <<'EOF' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(30)
start = time.monotonic()
try:
    data = s.recv(1)
except socket.timeout:
    data = b"timeout"
print("%.1f %r" % (time.monotonic() - start, data))
EOF
IDLE_PID=$!
az_assert_eq 200 "$(fetch web1.example.net "/v1/zones/$Z1")" "another client served while one idles"
wait "$IDLE_PID" || az_fail "the idle client failed: $(cat "$AZ_TMP/idle.out")"
read -r idle_secs idle_data <"$AZ_TMP/idle.out"
az_assert_eq "b''" "$idle_data" "the idle connection is closed (EOF)"
python3 -c "import sys; t=float(sys.argv[1]); sys.exit(0 if 2.5 <= t <= 8 else 1)" "$idle_secs" ||
    az_fail "the idle client was closed after $idle_secs s (idle-timeout = 3)"
grep -q "closed: no TLS handshake within 3 s" "$SERVE_LOG" || az_fail "the idle close is not logged"

az_log "(5b) clients gone before their answer: the service stays up"
# Each asks for a whole set with Connection: close and closes at once, so
# serve writes the answer and its close_notify to a socket whose peer is
# gone (EPIPE, after the peer's reset); half of them reset it themselves.
python3 - "$PORT" "$PKI" "$Z1" >"$AZ_TMP/gone.out" 2>&1 <<'EOF' || az_fail "the vanishing clients failed: $(cat "$AZ_TMP/gone.out")"
import socket, ssl, struct, sys
port, pki, zone = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=pki + "/ca/ca.pem")
ctx.load_cert_chain(pki + "/web1.example.net.pem", pki + "/web1.example.net.key")
request = ("GET /v1/zones/%s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" % zone).encode()
for i in range(40):
    try:
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        tls = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
        tls.sendall(request)
    except OSError as e:
        sys.exit("client %d of 40: %s (serve gone?)" % (i + 1, e))
    if i % 2:
        tls.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    tls.close()
print("40 clients gone")
EOF
kill -0 "$SERVE_PID" 2>/dev/null || az_fail "serve died when clients went away: $(tail -5 "$SERVE_LOG")"
# Three requests in one write (pipelined): all three answered, in order,
# on the one connection (the later ones are read from what TLS already holds).
python3 - "$PORT" "$PKI" "$Z1" >"$AZ_TMP/pipelined.out" 2>&1 <<'EOF' || az_fail "pipelined requests: $(cat "$AZ_TMP/pipelined.out")"
import re, socket, ssl, sys
port, pki, zone = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=pki + "/ca/ca.pem")
ctx.load_cert_chain(pki + "/web1.example.net.pem", pki + "/web1.example.net.key")
tls = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=20),
                      server_hostname="127.0.0.1")
get = "GET %s HTTP/1.1\r\nHost: x\r\n%s\r\n"
tls.sendall((get % ("/v1/zones/" + zone, "") + get % ("/v1/zones/nosuch.example", "") +
             get % ("/v1/zones", "Connection: close\r\n")).encode())
data = b""
while True:
    chunk = tls.recv(65536)
    if not chunk:
        break
    data += chunk
print(" ".join(re.findall(r"HTTP/1\.1 (\d+)", data.decode("latin-1"))))
EOF
az_assert_eq "200 404 200" "$(cat "$AZ_TMP/pipelined.out")" "three pipelined requests' statuses"
az_assert_eq 200 "$(fetch web1.example.net "/v1/zones/$Z1")" "a client served after 40 that went away"

az_log "(6) 304, and a long poll answered by a new version"
v1=$(store_version "$Z1")
az_assert_eq 304 "$(fetch web1.example.net "/v1/zones/$Z1" -H "If-None-Match: \"$v1\"")" \
    "If-None-Match with the current version"
[[ ! -s $AZ_TMP/body ]] || az_fail "a 304 with a body: $(head -c 200 "$AZ_TMP/body")"
curl -sS --max-time 60 --cacert "$PKI/ca/ca.pem" --cert "$PKI/web1.example.net.pem" \
    --key "$PKI/web1.example.net.key" -H "If-None-Match: \"$v1\"" -o "$AZ_TMP/poll.body" \
    -D "$AZ_TMP/poll.headers" -w '%{http_code}' "$URL/v1/zones/$Z1?wait=50" >"$AZ_TMP/poll.code" &
POLL_PID=$!
az_wait_for 10 grep -q "GET /v1/zones/$Z1?wait=50 zone=$Z1 version=$v1: waiting up to 50 s" \
    "$SERVE_LOG" || az_fail "the long poll is not waiting: $(tail -3 "$SERVE_LOG")"
kill -0 "$POLL_PID" 2>/dev/null || az_fail "the long poll ended before the new version"
az_issuer "$CONF" issue "$Z1" --force
az_assert_eq 0 "$AZ_ISSUER_RC" "issue $Z1 --force: $(tail -5 "$AZ_ISSUER_ERR")"
v2=$(store_version "$Z1")
[[ $v2 != "$v1" ]] || az_fail "issue --force stored no new version"
issued_at=$SECONDS
wait "$POLL_PID" || az_fail "the long poll failed"
az_assert_eq 200 "$(cat "$AZ_TMP/poll.code")" "the long poll's status"
((SECONDS - issued_at <= 3)) || az_fail "the long poll took $((SECONDS - issued_at)) s after issuance"
cp "$AZ_TMP/poll.body" "$AZ_TMP/body" && cp "$AZ_TMP/poll.headers" "$AZ_TMP/headers"
check_set "$Z1" "$v2"

az_log "(6b) the fleet view: which host holds which version, outdated hosts, metrics"
# fleet_of ZONE: FLEET = "serving=N outdated=K HOST=V[!] ..." from status
# --fleet --json (! marks an outdated host), FLEET_RC its exit status.
fleet_of() {
    FLEET_RC=0 FLEET=
    "$ACMEZONE_ISSUER" --config "$CONF" status --fleet --json >"$AZ_TMP/fleet.out" \
        2>"$AZ_TMP/fleet.err" || FLEET_RC=$?
    FLEET=$(python3 - "$AZ_TMP/fleet.out" "$1" <<'EOF2'
import json, sys
doc = json.load(open(sys.argv[1]))
for z in doc["zones"]:
    if z["zone"] == sys.argv[2]:
        hosts = " ".join(h["host"] + "=" + h["version"] + ("!" if h["outdated"] else "")
                         for h in z["hosts"] if h["host"] in ("web1.example.net", "cp1001.eqiad.wmnet"))
        print("serving=%s outdated=%d %s" % (z["serving"], z["hosts_outdated"], hosts))
EOF2
    ) || true
}
# fleet_is ZONE WANT RC: status --fleet says WANT for ZONE and exits RC
fleet_is() { fleet_of "$1" && [[ $FLEET == "$2" && $FLEET_RC == "$3" ]]; }
metric_is() { grep -qx "acmezone_fleet_hosts_outdated{zone=\"$1\"} $2" "$SERVE_METRICS"; }
v2=$(store_version "$Z1")
az_assert_eq 200 "$(fetch web1.example.net "/v1/zones/$Z1")" "web1 fetches $Z1 version $v2"
az_assert_eq 200 "$(fetch cp1001.eqiad.wmnet "/v1/zones/$Z1")" "cp1001 fetches $Z1 version $v2"
want="serving=$v2 outdated=0 cp1001.eqiad.wmnet=$v2 web1.example.net=$v2"
az_wait_for 15 fleet_is "$Z1" "$want" 0 ||
    az_fail "status --fleet does not show both hosts on $v2: '$FLEET' (exit $FLEET_RC)" \
        "$(cat "$AZ_TMP/fleet.err")"
az_wait_for 15 metric_is "$Z1" 0 || az_fail "no outdated metric 0: $(cat "$SERVE_METRICS" 2>&1)"
az_issuer "$CONF" issue "$Z1" --force
az_assert_eq 0 "$AZ_ISSUER_RC" "issue $Z1 --force: $(tail -5 "$AZ_ISSUER_ERR")"
v3=$(store_version "$Z1")
[[ $v3 != "$v2" ]] || az_fail "issue --force stored no new version"
az_assert_eq 200 "$(fetch web1.example.net "/v1/zones/$Z1")" "web1 fetches $Z1 version $v3"
check_set "$Z1" "$v3"
want="serving=$v3 outdated=1 cp1001.eqiad.wmnet=$v2! web1.example.net=$v3"
az_wait_for 15 fleet_is "$Z1" "$want" 1 ||
    az_fail "status --fleet does not show cp1001 outdated: '$FLEET' (exit $FLEET_RC)"
az_wait_for 15 metric_is "$Z1" 1 ||
    az_fail "the metric does not say 1 outdated host: $(grep outdated "$SERVE_METRICS")"
"$ACMEZONE_ISSUER" --config "$CONF" status --fleet >"$AZ_TMP/fleet.txt" && rc=0 || rc=$?
az_assert_eq 1 "$rc" "status --fleet exits 1 with an outdated host"
az_assert_contains "$(cat "$AZ_TMP/fleet.txt")" "$Z1: serving version $v3; " "the text names the served version"
az_assert_contains "$(grep cp1001.eqiad.wmnet "$AZ_TMP/fleet.txt" | grep "version $v2 ")" "outdated" \
    "the text marks cp1001 outdated"
az_assert_not_contains "$(grep web1.example.net "$AZ_TMP/fleet.txt" | grep "version $v3 ")" "outdated" \
    "the text does not mark web1"
az_log "  status --fleet: $(grep -A3 "^$Z1:" "$AZ_TMP/fleet.txt" | tr -s ' ' | tr '\n' '|')"
az_assert_eq 200 "$(fetch cp1001.eqiad.wmnet "/v1/zones/$Z1" -H "If-None-Match: \"$v2\"")" \
    "cp1001 naming its old version gets the new one"
want="serving=$v3 outdated=0 cp1001.eqiad.wmnet=$v3 web1.example.net=$v3"
az_wait_for 15 fleet_is "$Z1" "$want" 0 ||
    az_fail "status --fleet still shows an outdated host: '$FLEET' (exit $FLEET_RC)"
az_wait_for 15 metric_is "$Z1" 0 ||
    az_fail "the metric does not go back to 0: $(grep outdated "$SERVE_METRICS")"
for status in 200 304 404; do
    grep -Eq "^acmezone_serve_requests_total\{status=\"$status\"\} [1-9][0-9]*$" "$SERVE_METRICS" ||
        az_fail "no request counter for status $status: $(grep requests_total "$SERVE_METRICS")"
done
if grep -q acmezone_fleet "$METRICS" 2>/dev/null; then
    az_fail "serve's samples in the issuer's metrics file $METRICS"
fi

az_log "(7) SIGHUP: stage-for = 8s"
serve_conf "stage-for = 8s"
kill -HUP "$SERVE_PID"
az_wait_for 10 grep -q "serve: SIGHUP: configuration, certificate, client CA and CRL re-read" \
    "$SERVE_LOG" || az_fail "SIGHUP not taken: $(tail -3 "$SERVE_LOG")"
w1=$(store_version "$Z2")
az_issuer "$CONF" issue "$Z2" --force
az_assert_eq 0 "$AZ_ISSUER_RC" "issue $Z2 --force: $(tail -5 "$AZ_ISSUER_ERR")"
issued_at=$SECONDS
w2=$(store_version "$Z2")
[[ $w2 != "$w1" ]] || az_fail "issue --force stored no new version of $Z2"
az_assert_eq 200 "$(fetch cp1001.eqiad.wmnet "/v1/zones/$Z2")" "$Z2 while staged"
check_set "$Z2" "$w1"
served_new() { [[ $(fetch cp1001.eqiad.wmnet "/v1/zones/$Z2") == 200 && $(header etag) == "\"$w2\"" ]]; }
az_wait_for 30 served_new || az_fail "the staged version $w2 was never served"
waited=$((SECONDS - issued_at))
((waited >= 6)) || az_fail "the staged version was served after $waited s (stage-for 8 s)"
check_set "$Z2" "$w2"
az_log "  staged version served after ${waited} s"

az_log "(7b) max-connections: a connection beyond it is closed at once"
serve_conf "stage-for = 8s" "max-connections = 2"
kill -HUP "$SERVE_PID"
az_wait_for 10 bash -c "(( \$(grep -c 'SIGHUP: configuration, certificate' '$SERVE_LOG') >= 2 ))" ||
    az_fail "the second SIGHUP was not taken"
python3 - "$PORT" >"$AZ_TMP/limit.out" 2>&1 <<'EOF'
import socket, sys, time
port = int(sys.argv[1])
held = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
third = socket.create_connection(("127.0.0.1", port))
third.settimeout(30)
start = time.monotonic()
try:
    data = third.recv(1)
except (socket.timeout, ConnectionResetError) as e:
    data = repr(e).encode()
print("%.1f %r" % (time.monotonic() - start, data))
EOF
read -r limit_secs limit_data <"$AZ_TMP/limit.out"
az_assert_eq "b''" "$limit_data" "the third connection is closed"
python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < 2 else 1)" "$limit_secs" ||
    az_fail "the third connection was closed after $limit_secs s, not at once (idle-timeout is 3 s)"
grep -q "closed: max-connections (2) reached" "$SERVE_LOG" || az_fail "the refusal is not logged"
# Once those are gone, clients are served again.
served_again() {
    [[ $(fetch web1.example.net /v1/zones) == 200 ]]
}
az_wait_for 10 served_again || az_fail "no client served after the held connections closed"

az_log "(7c) SIGHUP re-reads the CRL: a host revoked since is refused"
az_assert_eq 200 "$(fetch cp1001.eqiad.wmnet "/v1/zones/$Z2")" "cp1001 before its revocation"
openssl ca -config "$PKI/ca/ca.cnf" -revoke "$PKI/cp1001.eqiad.wmnet.pem" 2>/dev/null ||
    az_fail "openssl ca -revoke cp1001 failed"
openssl ca -config "$PKI/ca/ca.cnf" -gencrl -out "$PKI/crl.pem" 2>/dev/null ||
    az_fail "openssl ca -gencrl failed"
kill -HUP "$SERVE_PID"
az_wait_for 10 bash -c "(( \$(grep -c 'SIGHUP: configuration, certificate' '$SERVE_LOG') >= 3 ))" ||
    az_fail "the third SIGHUP was not taken"
if out=$(fetch cp1001.eqiad.wmnet "/v1/zones/$Z2" 2>&1); then
    az_fail "cp1001, revoked, got an answer: ${out:0:120}"
fi
az_wait_for 10 bash -c "grep 'TLS handshake refused' '$SERVE_LOG' | tail -1 | grep -q 'certificate revoked'" ||
    az_fail "cp1001's refusal is not logged as revoked"
az_assert_eq 200 "$(fetch web1.example.net "/v1/zones/$Z1")" "web1 still served after the reload"

az_log "(7d) the CRL file rewritten, no signal: the host revoked there is refused"
az_assert_eq 200 "$(fetch cp1002.eqiad.wmnet "/v1/zones/$Z2")" "cp1002 before its revocation"
hups=$(grep -c 'SIGHUP' "$SERVE_LOG")
openssl ca -config "$PKI/ca/ca.cnf" -revoke "$PKI/cp1002.eqiad.wmnet.pem" 2>/dev/null ||
    az_fail "openssl ca -revoke cp1002 failed"
# Rewritten in place, as an operator's `openssl ca -gencrl -out` does.
openssl ca -config "$PKI/ca/ca.cnf" -gencrl -out "$PKI/crl.pem" 2>/dev/null ||
    az_fail "openssl ca -gencrl failed"
revoked_at=$SECONDS
refused_now() { ! fetch cp1002.eqiad.wmnet "/v1/zones/$Z2"; }
az_wait_for 10 refused_now ||
    az_fail "cp1002, revoked in the rewritten CRL, is still served 10 s later: $(tail -3 "$SERVE_LOG")"
az_log "  cp1002 refused $((SECONDS - revoked_at)) s after the CRL was rewritten"
az_wait_for 10 bash -c "grep 'TLS handshake refused' '$SERVE_LOG' | tail -1 | grep -q 'certificate revoked'" ||
    az_fail "cp1002's refusal is not logged as revoked"
grep -q "serve: $PKI/crl.pem changed: client CRL re-read for new connections" "$SERVE_LOG" ||
    az_fail "the CRL re-read is not logged"
az_assert_eq "$hups" "$(grep -c 'SIGHUP' "$SERVE_LOG")" "no SIGHUP was involved"
az_assert_eq 200 "$(fetch web1.example.net "/v1/zones/$Z1")" "web1 still served"
az_assert_eq 200 "$(fetch web1.example.net "/v1/zones/$Z1")" "web1 served again (a second connection)"

az_log "(8) SIGTERM drains"
v2=$(store_version "$Z1")
curl -sS --max-time 60 --cacert "$PKI/ca/ca.pem" --cert "$PKI/web1.example.net.pem" \
    --key "$PKI/web1.example.net.key" -H "If-None-Match: \"$v2\"" -o /dev/null \
    -w '%{http_code}' "$URL/v1/zones/$Z1?wait=50" >"$AZ_TMP/poll.code" &
POLL_PID=$!
az_wait_for 10 grep -q "version=$v2: waiting up to 50 s" "$SERVE_LOG" ||
    az_fail "the second long poll is not waiting"
kill -TERM "$SERVE_PID"
term_at=$SECONDS
wait "$POLL_PID" || az_fail "the long poll failed on SIGTERM"
((SECONDS - term_at <= 3)) || az_fail "the long poll was answered $((SECONDS - term_at)) s after SIGTERM"
az_assert_eq 304 "$(cat "$AZ_TMP/poll.code")" "a long poll is answered at SIGTERM"
rc=0
az_wait_for 10 bash -c "! kill -0 $SERVE_PID 2>/dev/null" || az_fail "serve did not exit after SIGTERM"
wait "$SERVE_PID" || rc=$?
az_assert_eq 0 "$rc" "serve's exit status after SIGTERM"
grep -q "serve: stopped" "$SERVE_LOG" || az_fail "no 'serve: stopped' line"
# The drained long poll's 304 is in the fleet view: written once more at the end.
grep -q "serve: fleet view written at exit" "$SERVE_LOG" ||
    az_fail "the fleet view was not written at SIGTERM: $(tail -3 "$SERVE_LOG")"
az_assert_eq "$v2 304" "$(python3 -c 'import json,sys; h=json.load(open(sys.argv[1]))["zones"][sys.argv[2]]["web1.example.net"]; print(h["version"], h["status"])' \
    "$AZ_TMP/issuer-state/fleet.json" "$Z1")" "fleet.json after SIGTERM: web1's last answer for $Z1"
if grep -E "PRIVATE KEY|BEGIN CERT" "$SERVE_LOG"; then
    az_fail "key or certificate material in serve's log"
fi
az_log "PASS"
