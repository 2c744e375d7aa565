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
# NGINX_DEPLOY overrides the hook (to run another version of it).
source "$(dirname "$0")/lib.sh"
az_setup

command -v nginx >/dev/null ||
    az_fail "nginx is not installed (Debian package nginx; scripts/bootstrap installs it)"
HOOK=${NGINX_DEPLOY:-$ACMEZONE_SOURCE_DIR/zones-example/hooks/nginx-deploy}
NGX=$AZ_TMP/nginx
mkdir -p "$NGX/sites" "$NGX/tmp"
cat >"$NGX/nginx.conf" <<CONF
pid $NGX/nginx.pid;
error_log stderr notice;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $NGX/tmp/body;
    proxy_temp_path $NGX/tmp/proxy;
    fastcgi_temp_path $NGX/tmp/fastcgi;
    uwsgi_temp_path $NGX/tmp/uwsgi;
    scgi_temp_path $NGX/tmp/scgi;
    include $NGX/sites/*.conf;
}
CONF
NGINX_ARGS="-p $NGX/ -c $NGX/nginx.conf -e stderr"

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
az_log "ok"
