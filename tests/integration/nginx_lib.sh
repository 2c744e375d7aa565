# shellcheck shell=bash
# nginx_lib.sh — a real nginx for integration tests (Debian's nginx, its own
# prefix, configuration, pid and temporary files; loopback ports only).
# Source it after lib.sh.
#
#   az_nginx_conf DIR [PORT]   write DIR/nginx.conf: one http{} including
#                              DIR/sites/*.conf; with PORT, a default server
#                              on 127.0.0.1:PORT with a self-signed
#                              certificate of its own (DIR/default.pem) that
#                              answers 404. Makes DIR/sites and DIR/tmp; sets
#                              AZ_NGINX_ARGS ("-p DIR/ -c DIR/nginx.conf -e stderr")
#                              for nginx -t, -s reload and az_start_nginx.
#   az_start_nginx             nginx -t, then start nginx in the foreground
#                              (tracked, stopped on exit; log $AZ_TMP/nginx.log)
#   az_nginx_up DIR            both, on a free loopback port: sets AZ_NGINX_PORT,
#                              AZ_NGINX_ARGS and AZ_NGINX_PID
#   az_served_fp PORT SNI [SIGALGS]
#                              the SHA-256 fingerprint of the certificate nginx
#                              serves on 127.0.0.1:PORT for SNI (empty: none)

az_nginx_conf() {
    local dir=$1 port=${2:-} default=""
    command -v nginx >/dev/null ||
        az_fail "nginx is not installed (Debian package nginx; scripts/bootstrap installs it)"
    mkdir -p "$dir/sites" "$dir/tmp"
    if [[ -n $port ]]; then
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
            -subj "/CN=acmezone test: nginx default server" -keyout "$dir/default.key" \
            -out "$dir/default.pem" 2>/dev/null || az_fail "openssl: no default certificate for nginx"
        default="    server {
        listen 127.0.0.1:$port ssl default_server;
        ssl_certificate $dir/default.pem;
        ssl_certificate_key $dir/default.key;
        return 404;
    }"
    fi
    cat >"$dir/nginx.conf" <<CONF
# written by tests/integration/nginx_lib.sh
worker_processes 1;
pid $dir/nginx.pid;
error_log stderr notice;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
$default
    include $dir/sites/*.conf;
}
CONF
    AZ_NGINX_ARGS="-p $dir/ -c $dir/nginx.conf -e stderr"
}

az_start_nginx() {
    local out
    # shellcheck disable=SC2086
    out=$(nginx -t $AZ_NGINX_ARGS 2>&1) || az_fail "nginx -t on the test's own configuration: $out"
    # shellcheck disable=SC2086
    az_start_bg nginx nginx $AZ_NGINX_ARGS -g "daemon off;"
}

az_nginx_up() {
    AZ_NGINX_PORT=$(az_free_port)
    az_nginx_conf "$1" "$AZ_NGINX_PORT"
    az_start_nginx
    AZ_NGINX_PID=$AZ_BG_PID
}

az_served_fp() {
    local sigalgs=()
    [[ -z ${3:-} ]] || sigalgs=(-sigalgs "$3")
    timeout 10 openssl s_client -connect "127.0.0.1:$1" -servername "$2" "${sigalgs[@]}" \
        </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256 2>/dev/null
}
