#!/usr/bin/env bash
# The Debian packages, as an operator gets them: scripts/package builds
# acmezone-bind-plugin, acmezone-issuer and acmezone-fetch; lintian finds no
# error in any; apt-get installs the three; the files, the system user and
# the modes are what the packages promise, systemd-analyze verify accepts
# every unit; named loads the installed module with the
# shipped plugin.conf (only the key file and the control port changed), and
# the installed acmezone-issuer, run as user acmezone with the shipped
# issuer.conf (only the CA, the key file and the ports changed), gets a
# certificate from Pebble; its deploy-hook (the installed deploy-request)
# asks for a deploy, and the installed acmezone-deploy.service's command, run
# as root as the unit runs it, deploys that certificate into a real nginx on
# a loopback port. The installed serve unit's command, as acmezone, serves
# that certificate over mutual TLS, and the installed acmezone-fetch, with
# the shipped example fetch.conf (only the server, its CA and the client
# certificate changed; `check` accepts it), installs it as the fetch unit
# runs it. Then an upgrade (the same packages with a higher
# version) keeps the state, a changed conffile and the user; a purge leaves
# nothing behind (files, directories, user, group).
#
# This installs packages on the machine: it must run as root, and it refuses
# to run when acmezone packages or an acmezone user are already there (it
# would purge them). The EXIT trap purges what it installed, pass or fail.
#
# ACMEZONE_DEBS_DIR=DIR uses the three .debs already in DIR instead of running
# scripts/package (to debug this test without rebuilding).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pebble.sh"
source "$(dirname "$0")/issuer_lib.sh"
source "$(dirname "$0")/nginx_lib.sh"
source "$(dirname "$0")/pki_lib.sh"
# named runs as bind and the issuer as acmezone, and both read files in
# $AZ_TMP: it is made under /tmp (mode 1777 everywhere), not under $TMPDIR,
# which may be a directory only root can enter (libpam-tmpdir's /tmp/user/0
# is 0700), and opened to others (0711: they may pass, not list). Nothing
# they read comes from the checkout, which may lie under a 0700 directory
# (mktemp -d, a Debian 12 home): it is copied here with the modes it needs.
TMPDIR=/tmp az_setup
chmod 0711 "$AZ_TMP"
umask 022 # what named.conf and the other files written here get, whatever the caller's umask

packages=(acmezone-bind-plugin acmezone-issuer acmezone-fetch)
installed_by_us=0

purge_packages() {
    local p present=()
    for p in "${packages[@]}"; do
        if dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qv '^not-installed$'; then
            present+=("$p")
        fi
    done
    if ((${#present[@]})); then
        echo "[test] purging ${present[*]}" >&2
        DEBIAN_FRONTEND=noninteractive dpkg --purge "${present[@]}" >>"$AZ_TMP/dpkg.log" 2>&1 ||
            echo "[test] WARNING: dpkg --purge ${present[*]} failed: see $AZ_TMP/dpkg.log" >&2
    fi
}
purge_if_ours() {
    if ((installed_by_us)); then
        purge_packages
    fi
}
# On exit, after named and Pebble are stopped: pass or fail, nothing stays.
az_at_exit purge_if_ours

[[ $(id -u) -eq 0 ]] || az_fail "this test installs packages: run it as root"
for p in "${packages[@]}"; do
    if dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qv '^not-installed$'; then
        az_fail "$p is already on this machine: this test would purge it; remove it first"
    fi
done
! getent passwd acmezone >/dev/null || az_fail "a user acmezone exists already: this test would delete it"
for d in /etc/acmezone /var/lib/acmezone /var/lib/bind/acmezone /var/lib/acmezone-deploy \
    /var/lib/acmezone-fetch; do
    [[ ! -e $d ]] || az_fail "$d exists already: this test would remove it"
done

# -- build ---------------------------------------------------------------
arch=$(dpkg --print-architecture)
if [[ -n ${ACMEZONE_DEBS_DIR:-} ]]; then
    debs_dir=$ACMEZONE_DEBS_DIR
    az_log "using the packages in $debs_dir (ACMEZONE_DEBS_DIR)"
else
    debs_dir=$AZ_TMP/debs
    start=$(date +%s)
    "$ACMEZONE_SOURCE_DIR/scripts/package" "$debs_dir" >"$AZ_TMP/package.out" ||
        az_fail "scripts/package failed"
    az_log "scripts/package took $(($(date +%s) - start)) s"
fi
version=$(sed -nE 's/^project\(acmezone VERSION ([0-9][0-9.]*).*/\1/p' "$ACMEZONE_SOURCE_DIR/CMakeLists.txt")
plugin_deb=$debs_dir/acmezone-bind-plugin_${version}_$arch.deb
issuer_deb=$debs_dir/acmezone-issuer_${version}_$arch.deb
fetch_deb=$debs_dir/acmezone-fetch_${version}_$arch.deb
[[ -f $plugin_deb && -f $issuer_deb && -f $fetch_deb ]] ||
    az_fail "packages missing: $plugin_deb $issuer_deb $fetch_deb"
# acmezone-fetch: its program and man page, and nothing of the issuer's
fetch_files=$(dpkg-deb --contents "$fetch_deb" | awk '{ print $NF }')
for f in ./usr/bin/acmezone-fetch ./usr/share/man/man1/acmezone-fetch.1.gz; do
    grep -qx -- "$f" <<<"$fetch_files" || az_fail "acmezone-fetch lacks $f: $fetch_files"
done

# -- lintian: no error ---------------------------------------------------
lintian_out=$(lintian --tag-display-limit 0 "$plugin_deb" "$issuer_deb" "$fetch_deb" 2>&1) || true
echo "$lintian_out" >"$AZ_TMP/lintian.txt"
if grep -q '^E: ' <<<"$lintian_out"; then
    az_fail "lintian reports errors: $(grep '^E: ' <<<"$lintian_out")"
fi
grep -q . <<<"$lintian_out" && az_log "lintian (no errors): $(tr '\n' ';' <<<"$lintian_out")"

# -- install -------------------------------------------------------------
installed_by_us=1
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "$plugin_deb" "$issuer_deb" "$fetch_deb" >"$AZ_TMP/apt.log" 2>&1 ||
    az_fail "apt-get install failed: $(tail -n 20 "$AZ_TMP/apt.log")"
for p in "${packages[@]}"; do
    az_assert_eq "install ok installed" "$(dpkg-query -W -f='${Status}' "$p")" "$p status"
done

# expect_path PATH TYPE MODE OWNER:GROUP
expect_path() {
    local path=$1 type=$2 mode=$3 owner=$4 got
    [[ -e $path ]] || az_fail "$path is missing"
    got=$(stat -c '%F %a %U:%G' "$path")
    az_assert_eq "$type $mode $owner" "$got" "$path"
}
# readable_by USER FILE...: fail, naming the directory in the way, unless
# USER can read each FILE (as named and the issuer will have to).
readable_by() {
    local user=$1 f
    shift
    for f in "$@"; do
        runuser -u "$user" -- test -r "$f" ||
            az_fail "user $user cannot read $f; modes along the path: $(namei -mo "$f" | tail -n +2 | tr -s ' ' | tr '\n' ';')"
    done
}
expect_path /usr/lib/bind/acmezone_dlz.so "regular file" 644 root:root
expect_path /usr/sbin/acmezone-issuer "regular file" 755 root:root
expect_path /etc/acmezone/plugin.conf "regular file" 644 root:root
expect_path /etc/acmezone/issuer.conf "regular file" 644 root:root
expect_path /var/lib/acmezone directory 700 acmezone:acmezone
expect_path /var/lib/bind/acmezone directory 700 bind:bind
expect_path /lib/systemd/system/acmezone-issuer.service "regular file" 644 root:root
expect_path /lib/systemd/system/acmezone-issuer.timer "regular file" 644 root:root
expect_path /lib/systemd/system/acmezone-issuer-daemon.service "regular file" 644 root:root
expect_path /usr/share/man/man8/acmezone-issuer.8.gz "regular file" 644 root:root
expect_path /usr/share/man/man8/acmezone_dlz.8.gz "regular file" 644 root:root
expect_path /usr/share/doc/acmezone-bind-plugin/examples/named.conf.fragment "regular file" 644 root:root
# The root half of deploying to nginx (acmezone-deploy.path/.service).
for f in acmezone-deploy deploy-request nginx-deploy; do
    expect_path "/usr/lib/acmezone/$f" "regular file" 755 root:root
done
expect_path /etc/acmezone/nginx-site.conf.template "regular file" 644 root:root
expect_path /etc/acmezone/deploy.conf "regular file" 644 root:root
expect_path /lib/systemd/system/acmezone-deploy.path "regular file" 644 root:root
expect_path /lib/systemd/system/acmezone-deploy.service "regular file" 644 root:root
expect_path /lib/systemd/system/acmezone-serve.service "regular file" 644 root:root
# acmezone-fetch: the program, its units and the example configuration (a
# conffile: no secret in it, only paths, so 0644 as the other examples).
expect_path /usr/bin/acmezone-fetch "regular file" 755 root:root
expect_path /usr/share/man/man1/acmezone-fetch.1.gz "regular file" 644 root:root
expect_path /etc/acmezone/fetch.conf "regular file" 644 root:root
for u in acmezone-fetch.service acmezone-fetch.timer acmezone-fetch-watch.service; do
    expect_path "/lib/systemd/system/$u" "regular file" 644 root:root
done
grep -qE '^ /etc/acmezone/fetch.conf [0-9a-f]{32}$' <<<"$(dpkg-query -W -f='${Conffiles}' acmezone-fetch)" ||
    az_fail "/etc/acmezone/fetch.conf is not a conffile of acmezone-fetch: $(dpkg-query -W -f='${Conffiles}' acmezone-fetch)"
man -w acmezone-fetch >/dev/null 2>&1 || az_fail "man acmezone-fetch: not found"
man -w acmezone-issuer >/dev/null 2>&1 || az_fail "man acmezone-issuer: not found"
man -w acmezone_dlz >/dev/null 2>&1 || az_fail "man acmezone_dlz: not found"
nm -D --defined-only /usr/lib/bind/acmezone_dlz.so | awk '{print $3}' | grep -v '^dlz_' | grep -q . &&
    az_fail "the installed module exports more than dlz_*: $(nm -D --defined-only /usr/lib/bind/acmezone_dlz.so)"

pw=$(getent passwd acmezone) || az_fail "no user acmezone after install"
uid=$(cut -d: -f3 <<<"$pw")
((uid < 1000)) || az_fail "user acmezone is not a system user (uid $uid)"
az_assert_eq /var/lib/acmezone "$(cut -d: -f6 <<<"$pw")" "acmezone's home"
[[ $(cut -d: -f7 <<<"$pw") == */nologin || $(cut -d: -f7 <<<"$pw") == /bin/false ]] ||
    az_fail "user acmezone has a login shell: $pw"
getent group acmezone >/dev/null || az_fail "no group acmezone after install"
runuser -u bind -- test -w /var/lib/bind/acmezone || az_fail "bind cannot write /var/lib/bind/acmezone"

# The units: hardened as promised, and the command they run is the installed one.
unit=/lib/systemd/system/acmezone-issuer.service
daemon_unit=/lib/systemd/system/acmezone-issuer-daemon.service
for u in "$unit" "$daemon_unit"; do
    for line in "User=acmezone" "ProtectSystem=strict" "ReadWritePaths=/var/lib/acmezone" \
        "PrivateTmp=yes" "NoNewPrivileges=yes" "CapabilityBoundingSet="; do
        grep -qxF "$line" "$u" || az_fail "$u lacks the line: $line"
    done
done
grep -qxF "ExecStart=/usr/sbin/acmezone-issuer --config /etc/acmezone/issuer.conf run" "$unit" ||
    az_fail "$unit does not run the installed issuer's run"
grep -qxF "ExecStart=/usr/sbin/acmezone-issuer --config /etc/acmezone/issuer.conf daemon" "$daemon_unit" ||
    az_fail "$daemon_unit does not run the installed issuer's daemon"
grep -qxF 'ExecReload=/bin/kill -HUP $MAINPID' "$daemon_unit" || az_fail "$daemon_unit: no ExecReload by SIGHUP"
grep -qxF "Conflicts=acmezone-issuer.service acmezone-issuer.timer" "$daemon_unit" ||
    az_fail "$daemon_unit does not conflict with the timer and its service"
# systemd-analyze comes with the package systemd (scripts/bootstrap installs it).
command -v systemd-analyze >/dev/null ||
    az_fail "systemd-analyze not found: scripts/bootstrap installs the package systemd"
deploy_unit=/lib/systemd/system/acmezone-deploy.service
deploy_path=/lib/systemd/system/acmezone-deploy.path
grep -qxF "PathChanged=/var/lib/acmezone/deploy-request" "$deploy_path" ||
    az_fail "$deploy_path does not watch /var/lib/acmezone/deploy-request"
for line in "ExecStart=/usr/lib/acmezone/acmezone-deploy" "EnvironmentFile=-/etc/acmezone/deploy.conf" \
    "NoNewPrivileges=yes" "ProtectSystem=full" "ReadWritePaths=-/etc/nginx"; do
    grep -qxF "$line" "$deploy_unit" || az_fail "$deploy_unit lacks the line: $line"
done
! grep -q '^User=' "$deploy_unit" || az_fail "$deploy_unit must run as root (it edits nginx's configuration)"
# serve: as acmezone, hardened as the issuer's units, the store read-only,
# SIGHUP to re-read, no capability (it binds no port below 1024 by default).
serve_unit=/lib/systemd/system/acmezone-serve.service
for line in "User=acmezone" "ProtectSystem=strict" "ReadOnlyPaths=-/var/lib/acmezone/certs" \
    "PrivateTmp=yes" "NoNewPrivileges=yes" "CapabilityBoundingSet=" "ProtectHome=yes" \
    "PrivateDevices=yes" "SystemCallFilter=@system-service" \
    "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX" \
    "ExecStart=/usr/sbin/acmezone-issuer --config /etc/acmezone/issuer.conf serve" \
    'ExecReload=/bin/kill -HUP $MAINPID'; do
    grep -qxF "$line" "$serve_unit" || az_fail "$serve_unit lacks the line: $line"
done
# fetch: a oneshot as root (keys given to key-group) from a randomised
# timer, or the --watch service instead; both write only their target.
fetch_unit=/lib/systemd/system/acmezone-fetch.service
fetch_timer=/lib/systemd/system/acmezone-fetch.timer
watch_unit=/lib/systemd/system/acmezone-fetch-watch.service
for u in "$fetch_unit" "$watch_unit"; do
    for line in "ProtectSystem=strict" "StateDirectory=acmezone-fetch" "PrivateTmp=yes" \
        "NoNewPrivileges=yes" "CapabilityBoundingSet=CAP_CHOWN" "ProtectHome=yes" \
        "SystemCallFilter=@system-service"; do
        grep -qxF "$line" "$u" || az_fail "$u lacks the line: $line"
    done
    ! grep -q '^User=' "$u" || az_fail "$u must run as root (it gives keys to key-group)"
done
for line in "Type=oneshot" "ExecStart=/usr/bin/acmezone-fetch --config /etc/acmezone/fetch.conf" \
    "SuccessExitStatus=3"; do
    grep -qxF "$line" "$fetch_unit" || az_fail "$fetch_unit lacks the line: $line"
done
for line in "ExecStart=/usr/bin/acmezone-fetch --config /etc/acmezone/fetch.conf --watch" \
    "Conflicts=acmezone-fetch.service acmezone-fetch.timer"; do
    grep -qxF "$line" "$watch_unit" || az_fail "$watch_unit lacks the line: $line"
done
grep -qE '^RandomizedDelaySec=[1-9]' "$fetch_timer" || az_fail "$fetch_timer has no RandomizedDelaySec"
out=$(SYSTEMD_LOG_LEVEL=warning systemd-analyze verify "$unit" /lib/systemd/system/acmezone-issuer.timer \
    "$daemon_unit" "$deploy_unit" "$deploy_path" "$serve_unit" "$fetch_unit" "$fetch_timer" \
    "$watch_unit" 2>&1) ||
    az_fail "systemd-analyze verify: $out"
[[ -z $out ]] || az_fail "systemd-analyze verify warns: $out"
az_log "systemd-analyze verify: units clean"
[[ ! -e /etc/systemd/system/timers.target.wants/acmezone-issuer.timer ]] ||
    az_fail "the timer was enabled on installation (the operator enables it after configuring)"
[[ ! -e /etc/systemd/system/multi-user.target.wants/acmezone-issuer-daemon.service ]] ||
    az_fail "the daemon was enabled on installation"
[[ ! -e /etc/systemd/system/paths.target.wants/acmezone-deploy.path ]] ||
    az_fail "acmezone-deploy.path was enabled on installation (the operator opts in)"
for w in multi-user.target.wants/acmezone-serve.service timers.target.wants/acmezone-fetch.timer \
    multi-user.target.wants/acmezone-fetch-watch.service; do
    [[ ! -e /etc/systemd/system/$w ]] || az_fail "$w was enabled on installation (the operator opts in)"
done

# -- named with the installed module and the shipped plugin.conf ----------
# named runs as bind, as Debian runs it (-u bind: named changes user before
# it loads its configuration, so the plugin's files are opened as bind).
# Its directory, rndc key, plugin.conf, TSIG key and zone file (a copy, not
# the checkout's) are readable by bind as they would be in /etc/bind and
# /etc/acmezone; readable_by checks that before named starts.
install -d -o bind -g bind -m 0750 "$AZ_TMP/named-main"
bind_etc=$AZ_TMP/etc-bind
install -d -o root -g bind -m 0750 "$bind_etc"
install -o root -g bind -m 0640 "$ACMEZONE_SOURCE_DIR/zones-example/zones/example.com.zone" \
    "$bind_etc/example.com.zone"
az_keygen rndc-key "$AZ_TMP/named-main/rndc.key"
chown bind:bind "$AZ_TMP/named-main/rndc.key"
AZ_NAMED_ARGS="-u bind"
AZ_KEY_NAME=acme-key
AZ_KEY_FILE=$AZ_TMP/keys.conf
az_keygen "$AZ_KEY_NAME" "$AZ_KEY_FILE"
chgrp bind "$AZ_KEY_FILE"
chmod 0640 "$AZ_KEY_FILE"
AZ_KEY_SECRET=$(az_key_secret "$AZ_KEY_FILE")
AZ_CONTROL_PORT=$(az_free_port)
grep -q '^\[control\]' /etc/acmezone/plugin.conf || az_fail "shipped plugin.conf has no [control]"
# [control] is its last section: the new listen and keys lines land there.
{
    grep -vE '^(listen|keys) *=' /etc/acmezone/plugin.conf
    echo "listen = 127.0.0.1:$AZ_CONTROL_PORT"
    echo "keys = $AZ_KEY_FILE"
} >"$AZ_TMP/plugin.conf"
chmod 0644 "$AZ_TMP/plugin.conf"
cat >"$AZ_TMP/named.fragment" <<EOF
dlz "acmezone" {
    database "dlopen /usr/lib/bind/acmezone_dlz.so $AZ_TMP/plugin.conf";
};
zone "example.com" { type primary; file "$bind_etc/example.com.zone"; };
EOF
chmod 0644 "$AZ_TMP/named.fragment"
readable_by bind "$AZ_TMP/named.fragment" "$AZ_TMP/plugin.conf" "$AZ_KEY_FILE" \
    "$AZ_TMP/named-main/rndc.key" "$bind_etc/example.com.zone"
az_start_named "$AZ_TMP/named.fragment"
az_nsupdate "update add _acme-challenge.example.com 60 TXT installed" ||
    az_fail "nsupdate to the installed plugin failed"
az_assert_eq '"installed"' "$(az_dig _acme-challenge.example.com TXT +short)" "value served"
az_nsupdate "update delete _acme-challenge.example.com TXT installed" || az_fail "delete failed"
[[ -n $(ls -A /var/lib/bind/acmezone) ]] || az_fail "the plugin wrote nothing to /var/lib/bind/acmezone"

# -- the installed issuer, as user acmezone, with the shipped issuer.conf ---
az_start_pebble "$AZ_NAMED_PORT"
conf_dir=$AZ_TMP/issuer-etc
install -d -m 0750 -g acmezone "$conf_dir"
(umask 027 && cp "$AZ_KEY_FILE" "$conf_dir/issuer-keys.conf")
chgrp acmezone "$conf_dir/issuer-keys.conf"
install -m 0644 "$AZ_PEBBLE_TLS_CA" "$conf_dir/pebble-ca.pem"
sed -E -e "s|^directory = .*|directory = $AZ_PEBBLE_DIR\nca-file = $conf_dir/pebble-ca.pem|" \
    -e "s|^control = .*|control = 127.0.0.1:$AZ_CONTROL_PORT|" \
    -e "s|^keys = .*|keys = $conf_dir/issuer-keys.conf|" \
    -e "s|^resolver = .*|resolver = 127.0.0.1:$AZ_NAMED_PORT\ncheck-server = 127.0.0.1:$AZ_NAMED_PORT|" \
    /etc/acmezone/issuer.conf >"$conf_dir/issuer.conf"
! grep -q '^\[hooks\]' "$conf_dir/issuer.conf" ||
    az_fail "shipped issuer.conf has a [hooks] section now: set deploy-hook there instead"
printf '[hooks]\ndeploy-hook = /usr/lib/acmezone/deploy-request\n' >>"$conf_dir/issuer.conf"
for k in "ca-file = " "check-server = " "state-dir = /var/lib/acmezone" "dir = /var/lib/acmezone/certs"; do
    grep -q "^$k" "$conf_dir/issuer.conf" || az_fail "derived issuer.conf lacks \"$k\": shipped file changed?"
done
chmod 0644 "$conf_dir/issuer.conf"
readable_by acmezone "$conf_dir/issuer.conf" "$conf_dir/issuer-keys.conf" "$conf_dir/pebble-ca.pem"
# From /, not the test's working directory (the build tree, in the checkout).
cat >"$AZ_TMP/issuer-as-acmezone" <<'EOF'
#!/bin/sh
cd / && exec runuser -u acmezone -- /usr/sbin/acmezone-issuer "$@"
EOF
chmod 0755 "$AZ_TMP/issuer-as-acmezone"
ACMEZONE_ISSUER=$AZ_TMP/issuer-as-acmezone
AZ_CERTS=/var/lib/acmezone/certs
az_issuer "$conf_dir/issuer.conf" run
az_assert_eq 0 "$AZ_ISSUER_RC" "installed acmezone-issuer run (as acmezone): $(cat "$AZ_ISSUER_ERR")"
az_verify_cert example.com
az_assert_no_txt _acme-challenge.example.com
owner=$(stat -L -c %U "$AZ_CERTS/example.com/privkey.pem")
az_assert_eq acmezone "$owner" "privkey.pem owner"
[[ -f /var/lib/acmezone/account.key ]] || az_fail "no ACME account key in /var/lib/acmezone"
az_assert_eq "600 acmezone" "$(stat -c '%a %U' /var/lib/acmezone/account.key)" \
    "ACME account key mode and owner"
fingerprint=$(openssl x509 -in "$AZ_CERTS/example.com/cert.pem" -noout -fingerprint -sha256)

# -- the root deploy, as installed -------------------------------------------
# The issuer's deploy-hook (the installed deploy-request, as acmezone) wrote
# the file acmezone-deploy.path watches. systemd is not PID 1 here: the
# unit's ExecStart (read with systemd-analyze) runs as root with the unit's
# EnvironmentFile plus this test's nginx (its own prefix and loopback port),
# and that nginx then serves the certificate the issuer got.
request=/var/lib/acmezone/deploy-request
[[ -f $request ]] ||
    az_fail "the issuer's deploy-hook /usr/lib/acmezone/deploy-request wrote no $request: $(cat "$AZ_ISSUER_ERR")"
az_assert_eq acmezone "$(stat -c %U "$request")" "$request's owner"
az_assert_contains "$(cat "$request")" " example.com" "$request"
deploy_exec=$(systemd-analyze cat-config "$deploy_unit" 2>/dev/null | sed -n 's/^ExecStart=//p')
az_assert_eq /usr/lib/acmezone/acmezone-deploy "$deploy_exec" "$deploy_unit's ExecStart"
NGX=$AZ_TMP/nginx
NGINX_PORT=$(az_free_port)
az_nginx_conf "$NGX" "$NGINX_PORT"
NGINX_ARGS=$AZ_NGINX_ARGS
az_start_nginx
status=0
(
    set -a
    # shellcheck disable=SC1091 # the installed file: KEY=VALUE lines, as EnvironmentFile= reads them
    . /etc/acmezone/deploy.conf
    set +a
    cd / && env NGINX_SITES_DIR="$NGX/sites" NGINX_LISTEN="127.0.0.1:$NGINX_PORT" \
        NGINX_TEST="nginx -t $NGINX_ARGS" NGINX_RELOAD="nginx -s reload $NGINX_ARGS" "$deploy_exec"
) >"$AZ_TMP/deploy.out" 2>&1 || status=$?
az_assert_eq 0 "$status" "the installed acmezone-deploy, as root: $(cat "$AZ_TMP/deploy.out")"
az_assert_contains "$(cat "$AZ_TMP/deploy.out")" "example.com: deployed (" "acmezone-deploy's log"
expect_path /var/lib/acmezone-deploy directory 700 root:root
grep -q "ssl_certificate \"/var/lib/acmezone-deploy/example.com/" "$NGX/sites/example.com.conf" ||
    az_fail "the server block does not name the root-owned copies: $(cat "$NGX/sites/example.com.conf")"
served_fp() { az_served_fp "$NGINX_PORT" www.example.com; }
serves_issued() { [[ $(served_fp) == "$fingerprint" ]]; }
az_wait_for 30 serves_issued ||
    az_fail "nginx does not serve the issued certificate after the deploy: served [$(served_fp)], issued [$fingerprint]"
az_log "the installed acmezone-deploy put the installed issuer's certificate into nginx"

# -- SuccessExitStatus=3: a run that finds the state lock held -------------
# The unit counts exit 3 as success (another pass holds the lock: nothing to
# do). systemd is not PID 1 in the test environment (no systemctl start), so
# this reads the installed unit as systemd would, with systemd-analyze, and
# runs its own ExecStart as its own User= while a pass holds the lock: the
# status that command gives must be one the unit accepts.
unit_value() { # KEY: the values of KEY= in the installed unit, one per line
    systemd-analyze cat-config "$unit" 2>/dev/null | sed -n "s/^$1=//p"
}
exec_start=$(unit_value ExecStart)
unit_user=$(unit_value User)
read -r -a success <<<"0 $(unit_value SuccessExitStatus)"
[[ -n $exec_start && -n $unit_user ]] || az_fail "$unit: no ExecStart= or User= read"
lock=/var/lib/acmezone/lock
[[ -e $lock ]] || az_fail "no state lock $lock after a run"
# Its own process group (setsid), so that the kill below reaches flock and
# its sleep too: runuser does not pass SIGTERM on, and the lock stayed held.
setsid runuser -u acmezone -- flock "$lock" sleep 300 &
holder=$!
az_track_pid "$holder"
az_wait_for 10 bash -c "! flock -n '$lock' true" || az_fail "could not take the state lock $lock"
# The shipped /etc/acmezone/issuer.conf names keys this test does not have
# (the issuer reads its configuration before the lock, and exits 2 on it):
# ExecStart runs with the derived configuration in its place.
shipped_conf=/etc/acmezone/issuer.conf
[[ $exec_start == *" --config $shipped_conf "* ]] || az_fail "$unit: ExecStart does not name $shipped_conf"
exec_start=${exec_start/" --config $shipped_conf "/" --config $conf_dir/issuer.conf "}
status=0
# shellcheck disable=SC2086 # ExecStart's words, as systemd splits them (no quotes in it)
(cd / && runuser -u "$unit_user" -- $exec_start) >"$AZ_TMP/locked.out" 2>&1 || status=$?
kill -- -"$holder" 2>/dev/null || true
az_wait_for 10 flock -n "$lock" true || az_fail "the state lock $lock stays held after its holder ended"
az_assert_eq 3 "$status" "the unit's ExecStart with the lock held: $(cat "$AZ_TMP/locked.out")"
[[ " ${success[*]} " == *" $status "* ]] ||
    az_fail "$unit: exit $status (lock held) is not in SuccessExitStatus (${success[*]})"
az_log "ExecStart with the state lock held exits $status, which $unit counts as success"

# -- serve and fetch, as installed ---------------------------------------------
# The serve unit's ExecStart, as its User=, with the derived issuer.conf and
# a [serve] for this test's hosts CA (pki_lib.sh), serves the certificate
# the installed issuer got; the installed acmezone-fetch, with the shipped
# fetch.conf (only server, server-ca, client-cert and client-key changed),
# installs it as the fetch unit runs it, into the shipped target.
# unit_line UNIT KEY: the value of KEY= in an installed unit, as systemd reads it
unit_line() { systemd-analyze cat-config "$1" 2>/dev/null | sed -n "s/^$2=//p"; }
shipped_fetch=/etc/acmezone/fetch.conf
# The shipped example parses; check names the files it lacks here (exit 1,
# not 2: the configuration itself is good) and contacts no server.
status=0
/usr/bin/acmezone-fetch --config "$shipped_fetch" check >"$AZ_TMP/check-shipped.out" 2>&1 || status=$?
az_assert_eq 1 "$status" "check of the shipped fetch.conf (its files are not on this host): $(cat "$AZ_TMP/check-shipped.out")"
az_assert_contains "$(cat "$AZ_TMP/check-shipped.out")" \
    "$shipped_fetch: server-ca = /etc/acmezone/fetch/server-ca.pem: " "check names the missing server CA"
AZ_PKI=$AZ_TMP/pki
install -d -m 0755 "$AZ_PKI"
az_make_ca "$AZ_PKI/ca" "acmezone test hosts CA"
az_pki_leaf "$AZ_PKI/ca" server "$(az_server_ext)"
az_pki_leaf "$AZ_PKI/ca" web1.example.net "$(az_client_ext web1.example.net)"
chmod 0644 "$AZ_PKI/ca/ca.pem" "$AZ_PKI/server.pem"
chown acmezone "$AZ_PKI/server.key"
SERVE_PORT=$(az_free_port)
serve_conf=$conf_dir/serve.conf
{
    cat "$conf_dir/issuer.conf"
    printf '[serve]\nlisten = 127.0.0.1:%s\n' "$SERVE_PORT"
    printf 'cert = %s\nkey = %s\n' "$AZ_PKI/server.pem" "$AZ_PKI/server.key"
    printf 'client-ca = %s\nallow = example.com web1.example.net\n' "$AZ_PKI/ca/ca.pem"
} >"$serve_conf"
chmod 0644 "$serve_conf"
readable_by acmezone "$serve_conf" "$AZ_PKI/server.pem" "$AZ_PKI/server.key" "$AZ_PKI/ca/ca.pem"
serve_exec=$(unit_line "$serve_unit" ExecStart)
[[ $serve_exec == *" --config $shipped_conf "* ]] || az_fail "$serve_unit: ExecStart does not name $shipped_conf"
serve_exec=${serve_exec/" --config $shipped_conf "/" --config $serve_conf "}
# setpriv execs (runuser would stay between, and not pass SIGTERM on).
# shellcheck disable=SC2086 # ExecStart's words, as systemd splits them
(cd / && exec setpriv --reuid="$(unit_line "$serve_unit" User)" \
    --regid="$(unit_line "$serve_unit" Group)" --init-groups $serve_exec) >>"$AZ_TMP/serve.log" 2>&1 &
serve_pid=$!
az_track_pid "$serve_pid"
az_wait_for 20 grep -q "serve: listening on 127.0.0.1:$SERVE_PORT" "$AZ_TMP/serve.log" ||
    az_fail "the serve unit's command did not start: $(tail -5 "$AZ_TMP/serve.log")"
fetch_conf=$AZ_TMP/fetch.conf
sed -E -e "s|^server = .*|server = https://127.0.0.1:$SERVE_PORT|" \
    -e "s|^server-ca = .*|server-ca = $AZ_PKI/ca/ca.pem|" \
    -e "s|^client-cert = .*|client-cert = $AZ_PKI/web1.example.net.pem|" \
    -e "s|^client-key = .*|client-key = $AZ_PKI/web1.example.net.key|" \
    "$shipped_fetch" >"$fetch_conf"
for k in "zone = example.com" "target = /var/lib/acmezone-fetch"; do
    grep -qx "$k" "$fetch_conf" || az_fail "derived fetch.conf lacks \"$k\": shipped file changed?"
done
/usr/bin/acmezone-fetch --config "$fetch_conf" check >"$AZ_TMP/check.out" 2>&1 ||
    az_fail "check of the derived fetch.conf: $(cat "$AZ_TMP/check.out")"
az_assert_contains "$(cat "$AZ_TMP/check.out")" "this host is web1.example.net" "check's summary"
fetch_exec=$(unit_line "$fetch_unit" ExecStart)
[[ $fetch_exec == *" --config $shipped_fetch"* ]] || az_fail "$fetch_unit: ExecStart does not name $shipped_fetch"
fetch_exec=${fetch_exec/" --config $shipped_fetch"/" --config $fetch_conf"}
status=0
# shellcheck disable=SC2086 # ExecStart's words, as systemd splits them
(cd / && timeout 120 $fetch_exec) >"$AZ_TMP/fetch.out" 2>&1 || status=$?
az_assert_eq 0 "$status" "the fetch unit's command: $(cat "$AZ_TMP/fetch.out")"
fetched=/var/lib/acmezone-fetch/example.com
az_assert_eq "$fingerprint" "$(openssl x509 -in "$fetched/cert.pem" -noout -fingerprint -sha256)" \
    "the certificate acmezone-fetch installed is the one the issuer got"
cmp -s "$AZ_CERTS/example.com/privkey.pem" "$fetched/privkey.pem" ||
    az_fail "the installed key differs from the issuer's"
az_assert_eq "600 root root" "$(stat -L -c '%a %U %G' "$fetched/privkey.pem")" "installed key (no key-group)"
grep -q "host=web1.example.net GET /v1/zones/example.com zone=example.com .*status=200" "$AZ_TMP/serve.log" ||
    az_fail "serve logged no fetch by web1: $(tail -5 "$AZ_TMP/serve.log")"
kill -TERM "$serve_pid"
az_wait_for 30 bash -c "! kill -0 $serve_pid" || az_fail "serve did not end on SIGTERM"
az_log "the installed serve unit's command served, the installed fetch unit's command installed"

# -- upgrade: the same packages with a higher version -----------------------
echo "# kept across upgrades" >>/etc/acmezone/issuer.conf
conf_sum=$(sha256sum /etc/acmezone/issuer.conf)
up_version=$version+upgradetest1
for deb in "$plugin_deb" "$issuer_deb" "$fetch_deb"; do
    d=$AZ_TMP/repack/$(basename "$deb" .deb)
    mkdir -p "$d"
    dpkg-deb -R "$deb" "$d"
    sed -i "s/^Version: .*/Version: $up_version/" "$d/DEBIAN/control"
    dpkg-deb --root-owner-group -b "$d" "$AZ_TMP/repack/$(basename "$deb" ".deb")-up.deb" >/dev/null
done
DEBIAN_FRONTEND=noninteractive dpkg --force-confdef --force-confold -i "$AZ_TMP"/repack/*-up.deb \
    >>"$AZ_TMP/dpkg.log" 2>&1 || az_fail "upgrade (dpkg -i) failed: $(tail -n 20 "$AZ_TMP/dpkg.log")"
for p in "${packages[@]}"; do
    az_assert_eq "$up_version" "$(dpkg-query -W -f='${Version}' "$p")" "$p version after upgrade"
done
az_assert_eq "$conf_sum" "$(sha256sum /etc/acmezone/issuer.conf)" "changed conffile kept on upgrade"
az_assert_eq "$uid" "$(id -u acmezone)" "acmezone's uid after upgrade"
expect_path /var/lib/acmezone directory 700 acmezone:acmezone
az_assert_eq "$fingerprint" \
    "$(openssl x509 -in "$AZ_CERTS/example.com/cert.pem" -noout -fingerprint -sha256)" \
    "certificate kept across the upgrade"
az_issuer "$conf_dir/issuer.conf" status
az_assert_eq 0 "$AZ_ISSUER_RC" "status after upgrade: $(cat "$AZ_ISSUER_OUT" "$AZ_ISSUER_ERR")"
az_assert_contains "$(cat "$AZ_ISSUER_OUT")" valid "status after upgrade"

# -- purge: nothing left ----------------------------------------------------
az_stop_named
az_stop_pebble
DEBIAN_FRONTEND=noninteractive dpkg --purge "${packages[@]}" >>"$AZ_TMP/dpkg.log" 2>&1 ||
    az_fail "dpkg --purge failed: $(tail -n 20 "$AZ_TMP/dpkg.log")"
installed_by_us=0
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || echo not-installed)
    az_assert_eq not-installed "$status" "$p after purge"
done
for path in /usr/lib/bind/acmezone_dlz.so /usr/sbin/acmezone-issuer /etc/acmezone \
    /var/lib/acmezone /var/lib/bind/acmezone /lib/systemd/system/acmezone-issuer.service \
    /lib/systemd/system/acmezone-issuer.timer /lib/systemd/system/acmezone-issuer-daemon.service \
    /lib/systemd/system/acmezone-deploy.path /lib/systemd/system/acmezone-deploy.service \
    /usr/lib/acmezone /var/lib/acmezone-deploy /usr/share/doc/acmezone-issuer \
    /usr/share/doc/acmezone-bind-plugin /usr/share/man/man8/acmezone-issuer.8.gz \
    /lib/systemd/system/acmezone-serve.service /usr/bin/acmezone-fetch \
    /lib/systemd/system/acmezone-fetch.service /lib/systemd/system/acmezone-fetch.timer \
    /lib/systemd/system/acmezone-fetch-watch.service /var/lib/acmezone-fetch \
    /usr/share/doc/acmezone-fetch /usr/share/man/man1/acmezone-fetch.1.gz; do
    [[ ! -e $path ]] || az_fail "$path is left after purge"
done
! getent passwd acmezone >/dev/null || az_fail "user acmezone is left after purge"
! getent group acmezone >/dev/null || az_fail "group acmezone is left after purge"
echo "PASS: packages build, lint without errors, install, issue, upgrade and purge cleanly"
