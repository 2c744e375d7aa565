#!/usr/bin/env bash
# acmezone-fetch end to end: real named with the plugin, real Pebble (the
# issuer's store is filled by real issuance), a real `acmezone-issuer serve`
# with a test CA for the hosts (pki_lib.sh), all on loopback, free ports.
#   (1) a host allowed both zones installs them: the issuer's versions and
#       files, keys 0640 root:GROUP, the store's links; the hook runs once for
#       both; a second run is 304s, no hook; status (text, JSON)
#   (2) a host allowed nothing gets nothing: exit 1 naming each zone, no zone
#       directory, no key byte
#   (3) a tampered set (a newer version whose key is not its certificate's,
#       served by a second serve) is refused: exit 1 naming the zone and the
#       cause, the installed tree unchanged byte for byte
#   (4) the first `server =` down (nothing listens), the second answers
#   (5) kill -9 mid-install: strace delays the symlink() that makes the new
#       `current` (the new version directory is complete by then) and the
#       fetcher is killed during that delay: the previous version is in place,
#       whole and consistent; the next run installs the new one
#   (6) a full disk (a 1 MiB tmpfs, filled; root only): exit 1 naming the
#       zone and ENOSPC, the installed tree unchanged; after room is made the
#       next run installs
#   (7) `issue ZONE --force` on the issuer: a --watch fetcher installs it
#       within seconds and runs the hook once; that hook reloads a real nginx
#       (nginx_lib.sh) serving the installed fullchain/privkey, and
#       `openssl s_client` then sees the new certificate's serial
#   (7b) serve stopped while the fetcher watches, started again on the same
#       port, a new version issued: the watch retried with a growing delay
#       meanwhile (a bounded number of tries), reconnects, installs it and
#       runs the hook; it never exits and never spins (its requests in the
#       new serve's log are bounded); SIGTERM ends the watch (0)
#   (8) --mirror, then serve on the mirror: a fetcher pointed at the mirror
#       gets the issuer's versions and files
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pebble.sh"
source "$(dirname "$0")/issuer_lib.sh"
source "$(dirname "$0")/pki_lib.sh"
source "$(dirname "$0")/nginx_lib.sh"
az_setup
[[ -x ${ACMEZONE_FETCH:-} ]] || az_fail "ACMEZONE_FETCH is not set to the built acmezone-fetch"

Z1=z1.example.org
Z2=z2.example.org
az_issued_zones "$Z1" "$Z2"
CONF=$AZ_ISSUER_CONF
BASE_CONF=$(cat "$CONF")

AZ_PKI=$AZ_TMP/pki
mkdir -p "$AZ_PKI"
az_make_ca "$AZ_PKI/ca" "acmezone test hosts CA"
az_pki_leaf "$AZ_PKI/ca" server "$(az_server_ext)"
az_pki_leaf "$AZ_PKI/ca" web1.example.net "$(az_client_ext web1.example.net)"
az_pki_leaf "$AZ_PKI/ca" nothing.example.net "$(az_client_ext nothing.example.net)"

# serve_conf FILE PORT CERTS_DIR: the issuer's configuration with a [serve]
# on PORT serving CERTS_DIR; web1 may fetch both zones.
serve_conf() {
    sed "s|^dir = $AZ_CERTS\$|dir = $3|" <<<"$BASE_CONF" >"$1"
    cat >>"$1" <<EOF2
[serve]
listen = 127.0.0.1:$2
cert = $AZ_PKI/server.pem
key = $AZ_PKI/server.key
client-ca = $AZ_PKI/ca/ca.pem
allow = $Z1 web1.example.net
allow = $Z2 web1.example.net
max-wait = 60
EOF2
}
# start_serve NAME PORT CERTS_DIR: log in $AZ_TMP/NAME.log
start_serve() {
    serve_conf "$AZ_TMP/$1.conf" "$2" "$3"
    az_start_bg "$1" "$ACMEZONE_ISSUER" --config "$AZ_TMP/$1.conf" serve
    az_wait_for 20 grep -q "serve: listening on 127.0.0.1:$2" "$AZ_TMP/$1.log" ||
        az_fail "serve $1 did not start: $(tail -5 "$AZ_TMP/$1.log")"
}
PORT=$(az_free_port)
start_serve serve "$PORT" "$AZ_CERTS"
SERVE_PID=$AZ_BG_PID
SERVE_LOG=$AZ_TMP/serve.log

# fetch_conf NAME HOST TARGET [extra lines]: $AZ_TMP/NAME.conf for host HOST;
# the hook appends $ACMEZONE_FETCH_ZONES to $AZ_TMP/NAME.hook, then runs
# $FETCH_HOOK_THEN if set.
fetch_conf() {
    local name=$1 host=$2 target=$3
    shift 3
    {
        echo "server-ca = $AZ_PKI/ca/ca.pem"
        echo "client-cert = $AZ_PKI/$host.pem"
        echo "client-key = $AZ_PKI/$host.key"
        echo "target = $target"
        echo "deploy-hook = echo \"\$ACMEZONE_FETCH_ZONES\" >>$AZ_TMP/$name.hook${FETCH_HOOK_THEN:+ && $FETCH_HOOK_THEN}"
        echo "connect-timeout = 5"
        echo "timeout = 30"
        echo "wait = 20"
        printf '%s\n' "$@"
    } >"$AZ_TMP/$name.conf"
}
# fetch NAME [args]: run acmezone-fetch on $AZ_TMP/NAME.conf (bounded);
# FETCH_RC, stderr in $AZ_TMP/NAME.err (and appended to fetch.log).
fetch() {
    local name=$1
    shift
    FETCH_RC=0
    timeout 120 "$ACMEZONE_FETCH" --config "$AZ_TMP/$name.conf" "$@" \
        >"$AZ_TMP/$name.out" 2>"$AZ_TMP/$name.err" || FETCH_RC=$?
    cat "$AZ_TMP/$name.err" >>"$AZ_TMP/fetch.log"
    [[ $FETCH_RC -ne 124 ]] || az_fail "acmezone-fetch $name $* did not finish within 120 s"
}
version_of() { readlink "$1/$2/current" | sed 's/^\.v-//'; }
hook_lines() { if [[ -f $AZ_TMP/$1.hook ]]; then wc -l <"$AZ_TMP/$1.hook"; else echo 0; fi; }
# digest TARGET: the installed tree, byte for byte (not the state file)
digest() { az_tree_digest "$1" | grep -v 'fetch-state.json'; }
# check_installed TARGET ZONE KEYMODE: the issuer's current version of ZONE,
# its files, consistent, keys with mode KEYMODE (e.g. "640 root nogroup").
check_installed() {
    local t=$1 zone=$2 want_mode=$3 d=$1/$2 f
    az_assert_eq "$(version_of "$AZ_CERTS" "$zone")" "$(version_of "$t" "$zone")" \
        "$zone: the issuer's version installed in $t"
    for f in privkey.pem cert.pem chain.pem fullchain.pem; do
        [[ -L $d/$f ]] || az_fail "$zone: $d/$f is not the store's link"
        cmp -s "$AZ_CERTS/$zone/$f" "$d/$f" || az_fail "$zone: $d/$f differs from the issuer's"
    done
    az_assert_eq "$(openssl pkey -in "$d/privkey.pem" -pubout)" \
        "$(openssl x509 -in "$d/cert.pem" -noout -pubkey)" "$zone: installed key matches cert"
    az_assert_eq "$want_mode" "$(stat -L -c '%a %U %G' "$d/privkey.pem")" "$zone: key mode"
    az_assert_eq "$want_mode" "$(stat -L -c '%a %U %G' "$d/ecdsa-p256/privkey.pem")" \
        "$zone: ecdsa-p256 key mode"
    az_assert_eq 644 "$(stat -L -c %a "$d/cert.pem")" "$zone: cert mode"
}
KEY_GROUP=nogroup
getent group "$KEY_GROUP" >/dev/null || az_fail "no group $KEY_GROUP on this host"
KEY_MODE="640 $(id -un) $KEY_GROUP"
URL=https://127.0.0.1:$PORT

az_log "(1) an allowed host installs both zones; the hook runs once; then 304s"
T1=$AZ_TMP/web1
fetch_conf web1 web1.example.net "$T1" "server = $URL" "zone = $Z1" "zone = $Z2" \
    "key-group = $KEY_GROUP"
fetch web1
az_assert_eq 0 "$FETCH_RC" "web1's first fetch: $(cat "$AZ_TMP/web1.err")"
check_installed "$T1" "$Z1" "$KEY_MODE"
check_installed "$T1" "$Z2" "$KEY_MODE"
az_assert_eq "$Z1 $Z2" "$(cat "$AZ_TMP/web1.hook")" "the hook ran once with both zones"
fetch web1
az_assert_eq 0 "$FETCH_RC" "web1's second fetch: $(cat "$AZ_TMP/web1.err")"
az_assert_eq 1 "$(hook_lines web1)" "no hook when nothing changed"
grep -q "host=web1.example.net GET /v1/zones/$Z2 zone=$Z2 version=$(version_of "$AZ_CERTS" "$Z2") status=304" \
    "$SERVE_LOG" || az_fail "the second fetch was not conditional: $(tail -3 "$SERVE_LOG")"
"$ACMEZONE_FETCH" --config "$AZ_TMP/web1.conf" status >"$AZ_TMP/status.txt" ||
    az_fail "status exits non-zero: $(cat "$AZ_TMP/status.txt")"
az_assert_contains "$(cat "$AZ_TMP/status.txt")" "$Z1: version $(version_of "$AZ_CERTS" "$Z1"), expires 20" \
    "status shows the version and expiry"
"$ACMEZONE_FETCH" --config "$AZ_TMP/web1.conf" status --json >"$AZ_TMP/status.json" ||
    az_fail "status --json exits non-zero"
az_assert_eq "$Z1=$(version_of "$AZ_CERTS" "$Z1") $Z2=$(version_of "$AZ_CERTS" "$Z2") ok ok" \
    "$(python3 -c 'import json,sys; z=json.load(open(sys.argv[1]))["zones"]; print(" ".join(e["zone"]+"="+e["version"] for e in z), " ".join("ok" if not e["last_error"] and e["last_success"] else "bad" for e in z))' "$AZ_TMP/status.json")" \
    "status --json"

az_log "(2) a host allowed nothing gets nothing"
T2=$AZ_TMP/nothing
fetch_conf nothing nothing.example.net "$T2" "server = $URL" "zone = $Z1" "zone = $Z2"
fetch nothing
az_assert_eq 1 "$FETCH_RC" "a host allowed nothing fails"
az_assert_contains "$(cat "$AZ_TMP/nothing.err")" \
    "$Z1: not fetched: $URL: refused: no such zone, or this host may not fetch it (404)" \
    "the error names the zone, the server and the cause"
az_assert_contains "$(cat "$AZ_TMP/nothing.err")" "$Z2: not fetched" "and the other zone"
az_assert_eq ".fetch-state.json .fetch.lock" "$(ls -A "$T2" | LC_ALL=C sort | xargs)" \
    "no zone directory for a host allowed nothing"
if grep -rq "PRIVATE KEY" "$T2"; then az_fail "key material in $T2"; fi
az_assert_eq 0 "$(hook_lines nothing)" "no hook for a host allowed nothing"
"$ACMEZONE_FETCH" --config "$AZ_TMP/nothing.conf" status >"$AZ_TMP/status.txt" && rc=0 || rc=$?
az_assert_eq 1 "$rc" "status of a host with nothing installed"
az_assert_contains "$(cat "$AZ_TMP/status.txt")" "$Z1: not installed" "status says so"

az_log "(3) a tampered set is refused; nothing installed"
TAMPERED=$AZ_TMP/tampered
cp -a "$AZ_CERTS" "$TAMPERED"
v=$(version_of "$AZ_CERTS" "$Z1")
bad=$((v + 10))
mv "$TAMPERED/$Z1/.v-$v" "$TAMPERED/$Z1/.v-$bad"
ln -sfn ".v-$bad" "$TAMPERED/$Z1/current"
for k in "$TAMPERED/$Z1/.v-$bad/privkey.pem" "$TAMPERED/$Z1/.v-$bad/ecdsa-p256/privkey.pem"; do
    rm -f "$k"
    (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$k" 2>/dev/null)
done
PORT_T=$(az_free_port)
start_serve serve-tampered "$PORT_T" "$TAMPERED"
before=$(digest "$T1")
fetch_conf web1-tampered web1.example.net "$T1" "server = https://127.0.0.1:$PORT_T" \
    "zone = $Z1" "key-group = $KEY_GROUP"
fetch web1-tampered
az_assert_eq 1 "$FETCH_RC" "a tampered set fails the run"
az_assert_contains "$(cat "$AZ_TMP/web1-tampered.err")" \
    "$Z1: not fetched: https://127.0.0.1:$PORT_T: refused: ecdsa-p256: the private key is not the certificate's key" \
    "the error names the zone and the cause"
az_assert_eq "$before" "$(digest "$T1")" "the installed tree is unchanged byte for byte"
az_assert_eq 0 "$(hook_lines web1-tampered)" "no hook after a refused set"
grep -q "host=web1.example.net GET /v1/zones/$Z1 zone=$Z1 version=$bad status=200" \
    "$AZ_TMP/serve-tampered.log" || az_fail "the tampered version was not served"

az_log "(4) the first server down, the second answers"
DEAD=$(az_free_port)
T4=$AZ_TMP/second
fetch_conf second web1.example.net "$T4" "server = https://127.0.0.1:$DEAD" "server = $URL" \
    "zone = $Z1" "key-group = $KEY_GROUP"
fetch second
az_assert_eq 0 "$FETCH_RC" "the second server answers: $(cat "$AZ_TMP/second.err")"
check_installed "$T4" "$Z1" "$KEY_MODE"
"$ACMEZONE_FETCH" --config "$AZ_TMP/second.conf" status >"$AZ_TMP/status.txt" ||
    az_fail "status after the fallback: $(cat "$AZ_TMP/status.txt")"
az_assert_contains "$(cat "$AZ_TMP/status.txt")" "($URL)" "status names the server that answered"

az_log "(5) kill -9 while installing: the previous version stays whole"
old=$(version_of "$T1" "$Z1")
az_issuer "$CONF" issue "$Z1" --force
az_assert_eq 0 "$AZ_ISSUER_RC" "issue --force: $(tail -3 "$AZ_ISSUER_ERR")"
new=$(version_of "$AZ_CERTS" "$Z1")
[[ $new != "$old" ]] || az_fail "issue --force made no new version"
before=$(digest "$T1")
fetch_conf web1-z1 web1.example.net "$T1" "server = $URL" "zone = $Z1" "key-group = $KEY_GROUP"
# symlink() is called first for the new `current` (the version directory is
# complete and renamed into place by then): strace holds that call 60 s.
strace -f -qq -o "$AZ_TMP/strace.out" -e trace=symlink,symlinkat \
    -e inject=symlink,symlinkat:delay_enter=60s \
    "$ACMEZONE_FETCH" --config "$AZ_TMP/web1-z1.conf" >>"$AZ_TMP/fetch.log" 2>&1 &
STRACE_PID=$!
az_track_pid "$STRACE_PID"
az_wait_for 30 test -d "$T1/$Z1/.v-$new" || az_fail "the new version directory never appeared"
az_wait_for 10 pgrep -P "$STRACE_PID" -x acmezone-fetch || az_fail "no fetcher under strace"
FETCH_PID=$(pgrep -P "$STRACE_PID" -x acmezone-fetch)
az_wait_for 10 grep -q 'symlink' "$AZ_TMP/strace.out" ||
    az_fail "the fetcher is not in symlink(): $(cat "$AZ_TMP/strace.out")"
kill -9 "$FETCH_PID"
wait "$STRACE_PID" 2>/dev/null || true
az_assert_eq "$old" "$(version_of "$T1" "$Z1")" "current still names the previous version"
az_assert_eq "$(digest "$T1" | grep -v "\.v-$new")" "$(grep -v "\.v-$new" <<<"$before")" \
    "the previous version and the links are unchanged byte for byte"
az_assert_eq "$(openssl pkey -in "$T1/$Z1/privkey.pem" -pubout)" \
    "$(openssl x509 -in "$T1/$Z1/cert.pem" -noout -pubkey)" "the installed pair still matches"
fetch web1-z1
az_assert_eq 0 "$FETCH_RC" "the next run: $(cat "$AZ_TMP/web1-z1.err")"
check_installed "$T1" "$Z1" "$KEY_MODE"
az_assert_eq "$Z1" "$(cat "$AZ_TMP/web1-z1.hook")" "the next run's hook"
[[ -d $T1/$Z1/.v-$old ]] || az_fail "the previous version is not kept"

az_log "(6) a full disk leaves the installed files as they were"
if [[ $(id -u) -eq 0 ]]; then
    SMALL=$AZ_TMP/small
    mkdir -p "$SMALL"
    mount -t tmpfs -o size=1m tmpfs "$SMALL" || az_fail "cannot mount a tmpfs on $SMALL"
    az_at_exit umount "$SMALL"
    fetch_conf small web1.example.net "$SMALL/t" "server = $URL" "zone = $Z2"
    fetch small
    az_assert_eq 0 "$FETCH_RC" "the first install into the tmpfs: $(cat "$AZ_TMP/small.err")"
    check_installed "$SMALL/t" "$Z2" "600 $(id -un) $(id -gn)"
    az_issuer "$CONF" issue "$Z2" --force
    az_assert_eq 0 "$AZ_ISSUER_RC" "issue --force $Z2: $(tail -3 "$AZ_ISSUER_ERR")"
    before=$(digest "$SMALL/t")
    dd if=/dev/zero of="$SMALL/fill" bs=4k 2>/dev/null || true
    fetch small
    az_assert_eq 1 "$FETCH_RC" "a full disk fails the run"
    az_assert_contains "$(cat "$AZ_TMP/small.err")" "$Z2: not fetched: $URL: version" \
        "the error names the zone"
    az_assert_contains "$(cat "$AZ_TMP/small.err")" "No space left on device" "and the cause"
    az_assert_eq "$before" "$(digest "$SMALL/t")" "the installed tree is unchanged byte for byte"
    rm -f "$SMALL/fill"
    fetch small
    az_assert_eq 0 "$FETCH_RC" "with room again: $(cat "$AZ_TMP/small.err")"
    check_installed "$SMALL/t" "$Z2" "600 $(id -un) $(id -gn)"
else
    az_log "not root: no tmpfs; the full disk is not covered by this run"
fi

az_log "(7) issue --force: a --watch fetcher installs it within seconds, hook once, nginx reloaded"
# A real nginx serving $Z1 from what the fetcher installed; the watch's hook
# reloads it.
NGX=$AZ_TMP/nginx
NGINX_PORT=$(az_free_port)
az_nginx_conf "$NGX" "$NGINX_PORT"
cat >"$NGX/sites/$Z1.conf" <<EOF2
server {
    listen 127.0.0.1:$NGINX_PORT ssl;
    server_name $Z1 *.$Z1;
    ssl_certificate $T1/$Z1/fullchain.pem;
    ssl_certificate_key $T1/$Z1/privkey.pem;
    return 204;
}
EOF2
FETCH_HOOK_THEN="nginx -s reload $AZ_NGINX_ARGS" fetch_conf watch web1.example.net "$T1" \
    "server = $URL" "zone = $Z1" "zone = $Z2" "key-group = $KEY_GROUP"
az_start_nginx
# served_serial: the serial (hex) of the certificate nginx serves for www.$Z1
served_serial() {
    timeout 10 openssl s_client -connect "127.0.0.1:$NGINX_PORT" -servername "www.$Z1" \
        </dev/null 2>/dev/null | openssl x509 -noout -serial 2>/dev/null | sed 's/^serial=//'
}
serial_of() { openssl x509 -in "$1" -noout -serial | sed 's/^serial=//'; }
serves_serial() { [[ $(served_serial) == "$1" ]]; }
old_serial=$(serial_of "$T1/$Z1/cert.pem")
# Positive control: nginx serves the installed certificate before the renewal.
az_wait_for 20 serves_serial "$old_serial" ||
    az_fail "nginx does not serve the installed $Z1 certificate ($old_serial): [$(served_serial)]"
fetch watch # first bring both zones up to date ($Z2 was issued again in (6))
az_assert_eq 0 "$FETCH_RC" "the fetch before the watch: $(cat "$AZ_TMP/watch.err")"
az_assert_eq "$old_serial" "$(serial_of "$T1/$Z1/cert.pem")" "$Z1 unchanged before the watch"
rm -f "$AZ_TMP/watch.hook"
az_start_bg watch "$ACMEZONE_FETCH" --config "$AZ_TMP/watch.conf" --watch
WATCH_PID=$AZ_BG_PID
have=$(version_of "$T1" "$Z1")
az_wait_for 20 grep -q "host=web1.example.net GET /v1/zones/$Z1?wait=20 zone=$Z1 version=$have: waiting" \
    "$SERVE_LOG" || az_fail "the watch holds no long poll: $(tail -5 "$AZ_TMP/watch.log")"
az_issuer "$CONF" issue "$Z1" --force
az_assert_eq 0 "$AZ_ISSUER_RC" "issue --force: $(tail -3 "$AZ_ISSUER_ERR")"
issued_at=$SECONDS
new=$(version_of "$AZ_CERTS" "$Z1")
# installed_is DIR ZONE VERSION: a function, so that each try of az_wait_for
# reads the installed version anew (a "$(version_of ...)" argument would be
# read once, before the first try, and never see the install).
installed_is() { [[ $(version_of "$1" "$2") == "$3" ]]; }
# Bounded at 60 s, not at the second it takes: the time is logged.
az_wait_for 60 installed_is "$T1" "$Z1" "$new" ||
    az_fail "the watch did not install version $new within 60 s: $(tail -5 "$AZ_TMP/watch.log")" \
        "serve: $(grep "zones/$Z1?wait" "$SERVE_LOG" | tail -3)"
az_log "installed $((SECONDS - issued_at)) s after issue --force returned"
check_installed "$T1" "$Z1" "$KEY_MODE"
az_wait_for 10 grep -q "deploy-hook ran for $Z1" "$AZ_TMP/watch.log" ||
    az_fail "the watch ran no hook: $(tail -5 "$AZ_TMP/watch.log")"
# The watch polls again on the new version; by then the hook ran (once).
az_wait_for 10 grep -q "GET /v1/zones/$Z1?wait=20 zone=$Z1 version=$new: waiting" "$SERVE_LOG" ||
    az_fail "the watch does not poll again"
az_assert_eq "$Z1" "$(cat "$AZ_TMP/watch.hook")" "the hook ran once, for $Z1"
new_serial=$(serial_of "$AZ_CERTS/$Z1/cert.pem")
[[ $new_serial != "$old_serial" ]] || az_fail "issue --force gave the same serial $new_serial"
az_wait_for 30 serves_serial "$new_serial" ||
    az_fail "nginx, reloaded by the watch's hook, does not serve the new serial $new_serial: [$(served_serial)]" \
        "watch: $(tail -5 "$AZ_TMP/watch.log")"
az_log "nginx serves the new $Z1 certificate ($new_serial) $((SECONDS - issued_at)) s after issue --force"

az_log "(7b) serve stopped and started again on the same port: the watch reconnects"
watch_alive() { kill -0 "$WATCH_PID" 2>/dev/null || az_fail "the watch exited: $(tail -5 "$AZ_TMP/watch.log")"; }
tries() { grep -c "next try in" "$AZ_TMP/watch.log" || true; }
tries_before=$(tries)
kill -TERM "$SERVE_PID"
az_wait_for 20 bash -c "! kill -0 $SERVE_PID 2>/dev/null" || az_fail "serve did not stop on SIGTERM"
down_at=$SECONDS
# Each zone's poll fails and is retried after 1, 2, 4 s ...: wait until both
# zones wait 4 s (the third failure each, about 3 s down), then count.
four_second_waits() { (($(grep -c "next try in 4 s" "$AZ_TMP/watch.log") >= 2)); }
az_wait_for 30 four_second_waits ||
    az_fail "the watch does not back off to 4 s: $(tail -5 "$AZ_TMP/watch.log")"
down_tries=$(($(tries) - tries_before))
down_secs=$((SECONDS - down_at))
az_log "  $down_tries failed tries in $down_secs s down"
((down_tries >= 6 && down_tries <= 10)) ||
    az_fail "the watch tried $down_tries times while serve was down (2 zones, 1+2 s of back-off: 6 expected)"
# The third try of each zone comes after 1 + 2 s of back-off, not at once.
((down_secs >= 2)) || az_fail "the watch reached its 4 s back-off after $down_secs s, without waiting"
watch_alive
start_serve serve2 "$PORT" "$AZ_CERTS"
restarted_at=$SECONDS
az_wait_for 30 grep -q "host=web1.example.net GET /v1/zones/$Z1?wait=20 zone=$Z1 version=$new: waiting" \
    "$AZ_TMP/serve2.log" || az_fail "the watch did not reconnect: $(tail -5 "$AZ_TMP/watch.log")"
az_log "  reconnected $((SECONDS - restarted_at)) s after serve started again"
az_issuer "$CONF" issue "$Z1" --force
az_assert_eq 0 "$AZ_ISSUER_RC" "issue --force: $(tail -3 "$AZ_ISSUER_ERR")"
newer=$(version_of "$AZ_CERTS" "$Z1")
[[ $newer != "$new" ]] || az_fail "issue --force made no new version"
az_wait_for 60 installed_is "$T1" "$Z1" "$newer" ||
    az_fail "the watch did not install version $newer after the restart: $(tail -5 "$AZ_TMP/watch.log")"
check_installed "$T1" "$Z1" "$KEY_MODE"
az_wait_for 10 grep -q "GET /v1/zones/$Z1?wait=20 zone=$Z1 version=$newer: waiting" "$AZ_TMP/serve2.log" ||
    az_fail "the watch does not poll again after installing $newer"
az_wait_for 10 bash -c "(( \$(wc -l <'$AZ_TMP/watch.hook') == 2 ))" ||
    az_fail "the hook did not run for $newer: $(cat "$AZ_TMP/watch.hook")"
az_assert_eq "$Z1" "$(tail -1 "$AZ_TMP/watch.hook")" "the hook ran once more, for $Z1"
watch_alive
# Since the restart: per zone a poll (its waiting line), for $Z1 the new
# version (200) and the next poll; a 20 s poll of $Z2 may end (304) and start
# again. A watch that spins would have hundreds.
requests=$(grep -c "host=web1.example.net GET /v1/zones/" "$AZ_TMP/serve2.log" || true)
az_log "  $requests request lines of the watch in the restarted serve's log"
((requests >= 3 && requests <= 12)) ||
    az_fail "the watch made $requests requests to the restarted serve (3 to 12 expected)"
kill -TERM "$WATCH_PID"
az_wait_for 10 bash -c "! kill -0 $WATCH_PID 2>/dev/null" || az_fail "the watch ignores SIGTERM"
wait "$WATCH_PID" && rc=0 || rc=$?
az_assert_eq 0 "$rc" "the watch exits 0 on SIGTERM"

az_log "(8) --mirror, then serve on the mirror: the same versions"
MIRROR=$AZ_TMP/mirror
fetch_conf mirror web1.example.net "$MIRROR" "server = $URL"
fetch mirror --mirror
az_assert_eq 0 "$FETCH_RC" "the mirror: $(cat "$AZ_TMP/mirror.err")"
check_installed "$MIRROR" "$Z1" "600 $(id -un) $(id -gn)"
check_installed "$MIRROR" "$Z2" "600 $(id -un) $(id -gn)"
PORT_M=$(az_free_port)
start_serve serve-mirror "$PORT_M" "$MIRROR"
T8=$AZ_TMP/via-mirror
fetch_conf via-mirror web1.example.net "$T8" "server = https://127.0.0.1:$PORT_M" \
    "zone = $Z1" "zone = $Z2" "key-group = $KEY_GROUP"
fetch via-mirror
az_assert_eq 0 "$FETCH_RC" "a fetch from the mirror: $(cat "$AZ_TMP/via-mirror.err")"
check_installed "$T8" "$Z1" "$KEY_MODE"
check_installed "$T8" "$Z2" "$KEY_MODE"
az_log "PASS"
