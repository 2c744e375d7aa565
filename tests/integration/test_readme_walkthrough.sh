#!/usr/bin/env bash
# README.md's "The operator's first hour", run as written: every ```sh block
# between <!-- walkthrough:begin --> and <!-- walkthrough:end --> is taken
# from the README, in order, and run by one bash (set -euo pipefail, so any
# failing command fails the test), in a sandbox:
#   - the walkthrough's variables (ACMEZONE_ETC, ...) point at directories
#     in $AZ_TMP, loopback ports, Pebble (for Let's Encrypt staging) and the
#     built plugin; the issuer runs as the current user (root) instead of
#     acmezone, which only the package creates
#   - named is already running, as on the operator's host: example.com and
#     other.org from zones-example/ (other.org without its CNAME: step 4 adds
#     one), plus an include of $ACMEZONE_BIND_ETC/named.conf.local
#   - PATH starts with shims: rndc (the test named's rndc.conf), dig (the
#     test named's port), acmezone-issuer and acmezone-fetch (the built
#     ones) and systemctl (`restart named` only: it asks this script, which
#     started named, to restart it with az_restart_named, and waits until
#     that is done)
#   - step 9's second host, web1, is a second directory ($AZ_TMP/web1) with
#     its own etc/acmezone and target; the issuer's serve listens on a free
#     loopback port and is reached as localhost
# Afterwards the test checks what the walkthrough claims: both certificates
# verify against Pebble's root with names {Z, *.Z}, `check` found both zones
# ok, no challenge value is
# left, and the configuration left by step 8 names Let's Encrypt production;
# step 7b (the catalog): example.net, a zone that joined the catalog with
# nsupdate, has its certificate and `status` names its catalog; step 9: web1
# holds the issuer's version of both zones and step 9 stopped the serve it
# started.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pebble.sh"
source "$(dirname "$0")/issuer_lib.sh"
az_setup

readme=$ACMEZONE_SOURCE_DIR/README.md
script=$AZ_TMP/walkthrough.sh
awk '
    /<!-- walkthrough:begin -->/ { inside = 1; next }
    /<!-- walkthrough:end -->/ { inside = 0; next }
    inside && /^```sh$/ { block = 1; n++; print "# ---- block " n; next }
    block && /^```$/ { block = 0; next }
    block { print }
    END { if (inside || block) exit 1 }
' "$readme" >"$script" || az_fail "README.md: walkthrough markers or sh fences are not closed"
blocks=$(grep -c '^# ---- block ' "$script" || true)
((blocks >= 12)) || az_fail "README.md: expected at least 12 sh blocks in the walkthrough, found $blocks"
az_log "walkthrough: $blocks sh blocks, $(grep -vc '^# ---- block ' "$script") lines"

# -- the operator's host, before the walkthrough --------------------------
etc=$AZ_TMP/etc/acmezone
bind_etc=$AZ_TMP/etc/bind
mkdir -p "$etc" "$bind_etc" "$AZ_TMP/var/lib/acmezone" "$AZ_TMP/var/lib/bind" "$AZ_TMP/shims"
cp "$ACMEZONE_SOURCE_DIR/zones-example/zones/example.com.zone" "$bind_etc/db.example.com"
grep -v '_acme-challenge' "$ACMEZONE_SOURCE_DIR/zones-example/zones/other.org.zone" >"$bind_etc/db.other.org"
: >"$bind_etc/named.conf.local"
cat >"$AZ_TMP/named.fragment" <<EOF
zone "example.com" { type primary; file "$bind_etc/db.example.com"; };
zone "other.org" { type primary; file "$bind_etc/db.other.org"; };
include "$bind_etc/named.conf.local";
EOF
az_start_named "$AZ_TMP/named.fragment"
az_start_pebble "$AZ_NAMED_PORT"

cat >"$AZ_TMP/shims/rndc" <<EOF
#!/bin/sh
exec /usr/sbin/rndc -c "$AZ_NAMED_DIR/rndc.conf" "\$@"
EOF
cat >"$AZ_TMP/shims/dig" <<EOF
#!/bin/sh
exec /usr/bin/dig -p $AZ_NAMED_PORT +norec +time=2 +tries=1 "\$@"
EOF
ln -s "$ACMEZONE_ISSUER" "$AZ_TMP/shims/acmezone-issuer"
restart_request=$AZ_TMP/restart-named.request
restart_done=$AZ_TMP/restart-named.done
cat >"$AZ_TMP/shims/systemctl" <<EOF
#!/bin/sh
[ "\$*" = "restart named" ] || { echo "systemctl (test shim): only 'restart named', not '\$*'" >&2; exit 1; }
rm -f "$restart_done"
: >"$restart_request"
timeout 60 sh -c 'until [ -e "$restart_done" ]; do sleep 0.1; done' ||
    { echo "systemctl (test shim): named not restarted within 60 s" >&2; exit 1; }
EOF
ln -s "$ACMEZONE_FETCH" "$AZ_TMP/shims/acmezone-fetch"
web1=$AZ_TMP/web1
mkdir -p "$web1/var/lib"
serve_port=$(az_free_port)
chmod 0755 "$AZ_TMP/shims/rndc" "$AZ_TMP/shims/dig" "$AZ_TMP/shims/systemctl"
control_port=$(az_free_port)

# -- the walkthrough --------------------------------------------------------
start=$(date +%s)
rc=0
# In a session of its own: step 9 starts serve in the background, and a
# command failing after that would leave it running; the session is ended
# with the test, whatever happens (timeout, whose pid this is, leads it).
setsid env PATH="$AZ_TMP/shims:$PATH" \
    ACMEZONE_ETC="$etc" \
    ACMEZONE_BIND_ETC="$bind_etc" \
    ACMEZONE_PLUGIN="$ACMEZONE_PLUGIN" \
    ACMEZONE_PLUGIN_STATE="$AZ_TMP/var/lib/bind/acmezone" \
    ACMEZONE_ISSUER_STATE="$AZ_TMP/var/lib/acmezone" \
    ACMEZONE_ISSUER_USER="$(id -un)" \
    ACMEZONE_CONTROL_PORT="$control_port" \
    ACMEZONE_RESOLVER="127.0.0.1:$AZ_NAMED_PORT" \
    ACMEZONE_CA="$AZ_PEBBLE_DIR" \
    ACMEZONE_CA_FILE="$AZ_PEBBLE_TLS_CA" \
    ACMEZONE_CHECK_SERVER="127.0.0.1:$AZ_NAMED_PORT" \
    ACMEZONE_NAMED_PORT="$AZ_NAMED_PORT" \
    ACMEZONE_BIND_STATE="$AZ_TMP/var/lib/bind" \
    ACMEZONE_ISSUER_HOST=localhost \
    ACMEZONE_SERVE_LISTEN="127.0.0.1:$serve_port" \
    ACMEZONE_WEB1_ETC="$web1/etc/acmezone" \
    ACMEZONE_WEB1_TARGET="$web1/var/lib/acmezone-fetch" \
    timeout 600 bash -euo pipefail -x "$script" </dev/null >"$AZ_TMP/walkthrough.out" \
    2>"$AZ_TMP/walkthrough.err" &
walkthrough_pid=$!
end_walkthrough_session() { kill -TERM -- "-$walkthrough_pid" 2>/dev/null || true; }
az_at_exit end_walkthrough_session
# The systemctl shim's requests, served until the walkthrough ends.
while kill -0 "$walkthrough_pid" 2>/dev/null; do
    if [[ -e $restart_request ]]; then
        rm -f "$restart_request"
        az_log "walkthrough: systemctl restart named"
        az_restart_named
        : >"$restart_done"
    fi
    sleep 0.1
done
wait "$walkthrough_pid" || rc=$?
if ((rc != 0)); then
    tail -n 40 "$AZ_TMP/walkthrough.err" >&2
    az_fail "the README walkthrough failed (exit $rc) at the command traced last above"
fi
az_log "walkthrough ran in $(($(date +%s) - start)) s"

# -- what it claims ---------------------------------------------------------
AZ_CERTS=$AZ_TMP/var/lib/acmezone/certs
az_verify_cert example.com
az_verify_cert other.org
az_verify_cert example.net
az_assert_no_txt _acme-challenge.example.com
az_assert_no_txt other-org.acme.example.com
az_assert_no_txt _acme-challenge.example.net
az_assert_eq 0640 "$(stat -c %04a "$etc/keys.conf")" "keys.conf mode"
az_assert_eq 0640 "$(stat -c %04a "$etc/issuer-keys.conf")" "issuer-keys.conf mode"
az_assert_eq bind "$(stat -c %G "$etc/keys.conf")" "keys.conf group"
grep -qx 'directory = https://acme-v02.api.letsencrypt.org/directory' "$etc/issuer.conf" ||
    az_fail "step 8 did not leave the production directory in issuer.conf"
! grep -q '^ca-file' "$etc/issuer.conf" || az_fail "step 8 left a ca-file in issuer.conf"
az_assert_contains "$(cat "$AZ_TMP/walkthrough.out")" "example.com: ok" "step 6 checks example.com"
az_assert_contains "$(cat "$AZ_TMP/walkthrough.out")" "other.org: ok" "step 6 checks other.org"
az_assert_contains "$(cat "$AZ_TMP/walkthrough.out")" "DNS:*.other.org" "step 7 shows other.org's names"
az_assert_contains "$(grep '^example\.net ' "$AZ_TMP/walkthrough.out" | head -n 1)" \
    "(from catalog catalog.example.com)" "step 7b's status names example.net's catalog"
az_assert_contains "$(cat "$AZ_TMP/walkthrough.out")" "DNS:*.example.net" "step 7b shows example.net's names"
# step 9: the second host holds the issuer's current version of both zones,
# its files the issuer's; serve was stopped (nothing listens on its port).
for zone in example.com other.org; do
    az_assert_eq "$(readlink "$AZ_CERTS/$zone/current")" "$(readlink "$web1/var/lib/acmezone-fetch/$zone/current")" \
        "web1's installed version of $zone"
    for f in cert.pem chain.pem fullchain.pem privkey.pem; do
        cmp -s "$AZ_CERTS/$zone/$f" "$web1/var/lib/acmezone-fetch/$zone/$f" ||
            az_fail "web1's $zone/$f differs from the issuer's"
    done
done
az_assert_contains "$(cat "$AZ_TMP/walkthrough.out")" "this host is web1.example.net" "step 9 checks web1's fetch.conf"
grep -q "host=web1.example.net GET /v1/zones/other.org zone=other.org .*status=200" \
    "$AZ_TMP/var/lib/acmezone/serve.log" || az_fail "serve logged no fetch of other.org by web1 (allow-regex)"
! (exec 3<>"/dev/tcp/127.0.0.1/$serve_port") 2>/dev/null ||
    az_fail "something still listens on serve's port $serve_port after step 9 stopped it"
echo "PASS: the README's first-hour walkthrough runs as written ($blocks blocks)"
