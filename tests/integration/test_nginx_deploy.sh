#!/usr/bin/env bash
# zones-example/hooks/nginx-deploy on its own, against Debian's nginx -t
# (its own prefix and config; nothing started), run with the environment
# acmezone-issuer gives a deploy hook (issue 20 items 1 and 6):
#   - certificate paths are quoted in the server block: a store under a
#     directory named "certs; dir" passes `nginx -t`, and the block names the
#     exact paths
#   - a path holding '$' (an nginx variable) is refused, the previous block stays
#   - a zone holding '/' (RFC 2317) is written to <sites>/<ACMEZONE_ZONE_FILE>.conf
#     (one component), and an ACMEZONE_ZONE_FILE holding '/' is refused
# Then the root half (packaging/deploy/acmezone-deploy, what
# acmezone-deploy.service runs; needs root) against a store laid out as the
# issuer writes it, owned by an unprivileged user (nobody), into a running
# nginx on a loopback port chosen at run time:
#   - two zones (one with '/') are copied to the deploy directory (root,
#     keys 0600), get server blocks with quoted paths to the copies, and
#     nginx serves each key type's certificate (openssl s_client)
#   - a second run with nothing changed does not reload nginx; a renewal
#     (a new version behind `current`) is served after the next run
#   - refused, logged and not deployed, while the good zones stay served and
#     the run exits 1: a key linked out of the zone's directory, `current`
#     linked into another zone, a zone directory that is a symlink, a key
#     readable by others, a file not owned by the store's user, a key that
#     is not the certificate's, a directory name the issuer never writes
#   - deploy-request (the issuer's deploy-hook) writes the request file as
#     the issuer's user
# NGINX_DEPLOY overrides the hook, ACMEZONE_DEPLOY the root script (to run
# other versions of them).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/nginx_lib.sh"
az_setup

HOOK=${NGINX_DEPLOY:-$ACMEZONE_SOURCE_DIR/zones-example/hooks/nginx-deploy}
NGX=$AZ_TMP/nginx
az_nginx_conf "$NGX"
NGINX_ARGS=$AZ_NGINX_ARGS

# A store whose path holds a space and a ';'.
STORE="$AZ_TMP/certs; dir/example.com"
mkdir -p "$STORE/ecdsa-p256"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=example.com" -keyout "$STORE/ecdsa-p256/privkey.pem" \
    -out "$STORE/ecdsa-p256/fullchain.pem" 2>/dev/null || az_fail "openssl: no certificate"

# deploy ZONE ZONE_FILE DIR: runs the hook as the issuer would; sets RC.
deploy() {
    RC=0
    env ACMEZONE_ZONE="$1" ACMEZONE_ZONE_FILE="$2" ACMEZONE_KEY_TYPES=ecdsa-p256 \
        ACMEZONE_FULLCHAIN_ECDSA_P256="$3/ecdsa-p256/fullchain.pem" \
        ACMEZONE_KEY_ECDSA_P256="$3/ecdsa-p256/privkey.pem" \
        NGINX_SITES_DIR="$NGX/sites" NGINX_LISTEN=127.0.0.1:8443 \
        NGINX_TEST="nginx -t $NGINX_ARGS" NGINX_RELOAD=true \
        sh "$HOOK" >"$AZ_TMP/hook.out" 2>&1 || RC=$?
    cat "$AZ_TMP/hook.out" >>"$AZ_TMP/hook.log"
}

az_log "a path with a space and ';' is quoted and passes nginx -t"
deploy example.com example.com "$STORE"
[[ $RC -eq 0 ]] || { cat "$AZ_TMP/hook.out" >&2; az_fail "nginx-deploy exited $RC"; }
block=$NGX/sites/example.com.conf
grep -qxF "    ssl_certificate \"$STORE/ecdsa-p256/fullchain.pem\";" "$block" ||
    { cat "$block" >&2; az_fail "ssl_certificate is not the quoted path"; }
grep -qxF "    ssl_certificate_key \"$STORE/ecdsa-p256/privkey.pem\";" "$block" ||
    { cat "$block" >&2; az_fail "ssl_certificate_key is not the quoted path"; }
nginx -t $NGINX_ARGS 2>"$AZ_TMP/nginx-t.err" || { cat "$AZ_TMP/nginx-t.err" >&2; az_fail "nginx -t"; }

az_log "a path holding '\$' is refused; the previous block stays"
digest=$(sha256sum "$block")
DOLLAR="$AZ_TMP/\$host/example.com"
mkdir -p "$DOLLAR"
cp -r "$STORE/ecdsa-p256" "$DOLLAR/"
deploy example.com example.com "$DOLLAR"
az_assert_eq 1 "$RC" "nginx-deploy's exit status for a path with '\$'"
az_assert_contains "$(cat "$AZ_TMP/hook.out")" "refusing path" "its message"
az_assert_eq "$digest" "$(sha256sum "$block")" "the previous block"

az_log "a zone holding '/' gets one file, named after ACMEZONE_ZONE_FILE"
deploy 0/25.2.0.192.in-addr.arpa 0%2f25.2.0.192.in-addr.arpa "$STORE"
[[ $RC -eq 0 ]] || { cat "$AZ_TMP/hook.out" >&2; az_fail "nginx-deploy exited $RC"; }
az_assert_eq "0%2f25.2.0.192.in-addr.arpa.conf
example.com.conf" "$(find "$NGX/sites" -name '*.conf' -printf '%P\n' | sort)" "the site files"
deploy example.com ../example.com "$STORE"
az_assert_eq 1 "$RC" "nginx-deploy's exit status for ACMEZONE_ZONE_FILE=../example.com"
deploy /etc/x %2fetc%2fx "$STORE"
az_assert_eq 0 "$RC" "a leading '/' in the zone, with its file name encoded"
[[ -e "$NGX/sites/%2fetc%2fx.conf" && ! -e /etc/x.conf ]] || az_fail "/etc/x: not written as one component"

# -- the root half: acmezone-deploy ------------------------------------------
[[ $(id -u) == 0 ]] || az_fail "the root deploy part needs root (acmezone-deploy reads the store as its user)"
DEPLOY=${ACMEZONE_DEPLOY:-$ACMEZONE_SOURCE_DIR/packaging/deploy/acmezone-deploy}
REQUEST_HOOK=$ACMEZONE_SOURCE_DIR/packaging/deploy/deploy-request
TEMPLATE=$ACMEZONE_SOURCE_DIR/zones-example/hooks/nginx-site.conf.template
OWNER=nobody
OWNER_GROUP=$(id -gn "$OWNER")
chmod 0711 "$AZ_TMP" # the store's user passes through to its store
RD=$AZ_TMP/rootdeploy
PORT=$(az_free_port)
az_nginx_conf "$RD" "$PORT"
RD_ARGS=$AZ_NGINX_ARGS
az_start_nginx
ECDSA_ONLY=ecdsa_secp256r1_sha256
RSA_ONLY=rsa_pss_rsae_sha256:rsa_pkcs1_sha256
fp_file() { openssl x509 -in "$1" -noout -fingerprint -sha256; }
served_fp() { az_served_fp "$PORT" "$@"; } # SNI SIGALGS
az_wait_for 30 served_fp example.com "$ECDSA_ONLY" ||
    az_fail "nginx does not answer TLS on 127.0.0.1:$PORT: $(tail -n 20 "$AZ_TMP/nginx.log")"

# The store, as the issuer writes it: <zone>/.v-N/<type>/{privkey,cert,chain,
# fullchain}.pem, current -> .v-N, <type> -> current/<type>; owned by OWNER,
# directories 0700, keys 0600.
STORE=$AZ_TMP/store
install -d -o "$OWNER" -g "$OWNER_GROUP" -m 0700 "$STORE"
# new_cert DIR TYPE CN: a self-signed certificate and its key in DIR.
new_cert() {
    local alg=(-newkey ec -pkeyopt ec_paramgen_curve:P-256)
    [[ $2 == rsa-2048 ]] && alg=(-newkey rsa:2048)
    mkdir -p "$1"
    openssl req -x509 "${alg[@]}" -nodes -days 2 -subj "/CN=$3" \
        -keyout "$1/privkey.pem" -out "$1/cert.pem" 2>/dev/null || az_fail "openssl: no $2 certificate for $3"
    cp "$1/cert.pem" "$1/fullchain.pem"
    : >"$1/chain.pem"
}
# new_version ZONE_DIR N TYPE...: version N of the zone, made current.
new_version() {
    local z=$STORE/$1 n=$2 t
    shift 2
    for t in "$@"; do new_cert "$z/.v-$n/$t" "$t" "$(basename "$z") v$n"; done
    ln -sfn ".v-$n" "$z/current"
    for t in "$@"; do ln -sfn "current/$t" "$z/$t"; done
    chown -R -h "$OWNER:$OWNER_GROUP" "$z"
    chmod 0700 "$z"
    find "$z" -name privkey.pem -exec chmod 0600 {} +
}
ZONE=example.com
RFC2317=0%2f25.2.0.192.in-addr.arpa
new_version "$ZONE" 1 ecdsa-p256 rsa-2048
new_version "$RFC2317" 1 ecdsa-p256

COPIES=$AZ_TMP/deploy-copies
# root_deploy: acmezone-deploy as acmezone-deploy.service runs it; sets RC, OUT.
root_deploy() {
    RC=0
    OUT=$(env ACMEZONE_CERTS_DIR="$STORE" ACMEZONE_ISSUER_USER="$OWNER" ACMEZONE_DEPLOY_DIR="$COPIES" \
        ACMEZONE_NGINX_DEPLOY="$HOOK" NGINX_TEMPLATE="$TEMPLATE" NGINX_SITES_DIR="$RD/sites" \
        NGINX_LISTEN="127.0.0.1:$PORT" NGINX_TEST="nginx -t $RD_ARGS" \
        NGINX_RELOAD="nginx -s reload $RD_ARGS" sh "$DEPLOY" 2>&1) || RC=$?
    echo "$OUT" >>"$AZ_TMP/root-deploy.log"
}
# serves ZONE_DIR SNI TYPE SIGALGS: nginx serves the store's current TYPE certificate.
serves() { [[ $(served_fp "$2" "$4") == "$(fp_file "$STORE/$1/current/$3/cert.pem")" ]]; }
assert_serves() {
    az_wait_for 30 serves "$@" ||
        az_fail "nginx does not serve $1's current $3 certificate for $2: $(fp_file "$STORE/$1/current/$3/cert.pem") wanted, $(served_fp "$2" "$4") served; deploy said: $OUT"
}

az_log "root deploy of two zones into a running nginx on 127.0.0.1:$PORT"
root_deploy
az_assert_eq 0 "$RC" "acmezone-deploy's exit status ($OUT)"
az_assert_contains "$OUT" "example.com: deployed (ecdsa-p256 rsa-2048)" "its log"
az_assert_contains "$OUT" "0/25.2.0.192.in-addr.arpa: deployed (ecdsa-p256)" "its log"
az_assert_contains "$OUT" "nginx reloaded" "its log"
block=$RD/sites/$ZONE.conf
for t in ecdsa-p256 rsa-2048; do
    grep -qxF "    ssl_certificate \"$COPIES/$ZONE/$t/fullchain.pem\";" "$block" ||
        { cat "$block" >&2; az_fail "the $t ssl_certificate is not the quoted path of the copy"; }
    grep -qxF "    ssl_certificate_key \"$COPIES/$ZONE/$t/privkey.pem\";" "$block" ||
        { cat "$block" >&2; az_fail "the $t ssl_certificate_key is not the quoted path of the copy"; }
    az_assert_eq "600 root" "$(stat -c '%a %U' "$COPIES/$ZONE/$t/privkey.pem")" "the $t key's copy"
done
[[ -f "$RD/sites/$RFC2317.conf" ]] || az_fail "no server block $RFC2317.conf"
assert_serves "$ZONE" www.example.com ecdsa-p256 "$ECDSA_ONLY"
assert_serves "$ZONE" example.com rsa-2048 "$RSA_ONLY"

az_log "a second run with nothing changed does not reload nginx"
root_deploy
az_assert_eq 0 "$RC" "acmezone-deploy's exit status, nothing changed ($OUT)"
az_assert_contains "$OUT" "nothing changed; nginx not reloaded" "its log"

az_log "a renewal (version 2 behind current) is served after the next run"
new_version "$ZONE" 2 ecdsa-p256 rsa-2048
root_deploy
az_assert_eq 0 "$RC" "acmezone-deploy's exit status after a renewal ($OUT)"
assert_serves "$ZONE" example.com ecdsa-p256 "$ECDSA_ONLY"
assert_serves "$ZONE" example.com rsa-2048 "$RSA_ONLY"

az_log "odd stores are refused, logged and not deployed; the good zones stay"
# evil NAME: a good zone to spoil, version 1, ECDSA only.
evil() { new_version "$1" 1 ecdsa-p256; }
OUTSIDE=$AZ_TMP/outside
new_cert "$OUTSIDE" ecdsa-p256 outside
chown -R "$OWNER:$OWNER_GROUP" "$OUTSIDE"
evil link-out.test
# A matching pair outside the store, linked in: only the escape check stops it.
rm -r "$STORE/link-out.test/.v-1/ecdsa-p256"
ln -s "$OUTSIDE" "$STORE/link-out.test/.v-1/ecdsa-p256"
evil current-across.test
ln -sfn "../$ZONE/.v-2" "$STORE/current-across.test/current"
ln -s "$ZONE" "$STORE/symlinked.test"
evil readable-key.test
chmod 0644 "$STORE/readable-key.test/.v-1/ecdsa-p256/privkey.pem"
evil root-file.test
chown root "$STORE/root-file.test/.v-1/ecdsa-p256/fullchain.pem"
evil other-key.test
cp "$OUTSIDE/privkey.pem" "$STORE/other-key.test/.v-1/ecdsa-p256/privkey.pem"
mkdir "$STORE/bad name"
chown -h -R "$OWNER:$OWNER_GROUP" "$STORE/link-out.test" "$STORE/current-across.test" "$STORE/symlinked.test" \
    "$STORE/other-key.test" "$STORE/bad name"
root_deploy
az_assert_eq 1 "$RC" "acmezone-deploy's exit status with refused zones ($OUT)"
for want in \
    "link-out.test: refused: $STORE/link-out.test/.v-1/ecdsa-p256/fullchain.pem resolves to $OUTSIDE/fullchain.pem, outside the zone's directory" \
    "current-across.test: refused: current resolves to $STORE/$ZONE/.v-2, outside $STORE/current-across.test" \
    "symlinked.test: refused: $STORE/symlinked.test is not a directory (a symlink?)" \
    "readable-key.test: refused: $STORE/readable-key.test/.v-1/ecdsa-p256/privkey.pem is readable by group or others (644)" \
    "root-file.test: refused: $STORE/root-file.test/.v-1/ecdsa-p256/fullchain.pem is not a regular file owned by $OWNER" \
    "other-key.test: refused: $STORE/other-key.test/.v-1/ecdsa-p256/privkey.pem is not the key of" \
    "[bad name]: refused: not a zone directory name the issuer writes"; do
    az_assert_contains "$OUT" "$want" "acmezone-deploy's log"
done
for z in link-out.test current-across.test symlinked.test readable-key.test root-file.test other-key.test "bad name"; do
    [[ ! -e "$RD/sites/$z.conf" && ! -e "$COPIES/$z" ]] || az_fail "refused zone $z was deployed"
done
az_assert_contains "$OUT" "nothing changed; nginx not reloaded" "the good zones were deployed already"
assert_serves "$ZONE" example.com ecdsa-p256 "$ECDSA_ONLY"

az_log "deploy-request, as the issuer's user, writes the request file"
REQ_DIR=$AZ_TMP/issuer-state
install -d -o "$OWNER" -g "$OWNER_GROUP" -m 0700 "$REQ_DIR"
# A copy the issuer's user can read, as the package installs it: the
# checkout may sit in a directory only its owner can enter.
install -d -m 0755 "$AZ_TMP/lib"
install -m 0755 "$REQUEST_HOOK" "$AZ_TMP/lib/deploy-request"
out=$(setpriv --reuid="$OWNER" --regid="$OWNER_GROUP" --clear-groups -- \
    env ACMEZONE_ZONE="$ZONE" ACMEZONE_DEPLOY_REQUEST="$REQ_DIR/deploy-request" \
    sh "$AZ_TMP/lib/deploy-request" 2>&1) ||
    az_fail "deploy-request failed: $out"
az_assert_contains "$(cat "$REQ_DIR/deploy-request")" " $ZONE" "the request file"
az_assert_eq "$OWNER" "$(stat -c %U "$REQ_DIR/deploy-request")" "the request file's owner"
az_log "ok"
