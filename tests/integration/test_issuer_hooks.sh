#!/usr/bin/env bash
# Keys, chains and hooks end to end: real named with the plugin, real Pebble
# offering an alternate chain (PEBBLE_ALTERNATE_ROOTS=1).
#   (1) key-type = ecdsa-p256 rsa-2048: both certificates issued in one run,
#       each verifies, holds its key type, and both sit in the one version
#       directory `current` points to
#   (2) preferred-chain = the CN of Pebble's second root: both stored chains
#       lead to that root (openssl verify against /roots/1), not /roots/0;
#       a CN no chain has keeps the default chain and says so
#   (3) status --pins (table and --json) prints, per key type, the pins
#       openssl computes from the stored certificate and the next key;
#       the next issuance uses the announced next key
#   (4) deploy-hook: its environment (written to a file by the hook) names
#       the zone, the key types and paths that exist and hold those types;
#       zones-example/hooks/nginx-deploy renders a server block with both into
#       a real nginx (Debian's, its own prefix, config and loopback port, beside
#       a default server with another certificate): for SNI ZONE and www.ZONE,
#       with ECDSA-only and RSA-only signature algorithms, nginx serves exactly
#       the stored certificate of that type; after `issue --force` it serves
#       the new one (another serial): the hook reloaded it. A template broken
#       on purpose fails `nginx -t`: the previous server block stays byte for
#       byte, nginx keeps serving the previous certificates, the issue exits 0
#       and the hook's failure is in the log and in status (cleared by the
#       next good deploy)
#   (5) notify-hook: a JSON "failed" document when the zone fails (named
#       stopped), none on the second failure, "recovered" once it succeeds
#   (6) the metrics file: the expected samples, with values that match
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pebble.sh"
source "$(dirname "$0")/issuer_lib.sh"
source "$(dirname "$0")/nginx_lib.sh"
az_setup

ZONE=hooks.example.org
OTHER=plain.example.org
az_plugin_setup "$ZONE" "$OTHER"
az_start_named "$AZ_PLUGIN_FRAGMENT"
AZ_PEBBLE_ENV="PEBBLE_ALTERNATE_ROOTS=1 PEBBLE_CHAIN_LENGTH=2"
az_start_pebble "$AZ_NAMED_PORT"

ROOT1=$AZ_TMP/pebble/root1.pem
az_pebble_curl /roots/1 -o "$ROOT1" || az_fail "pebble: no alternate root at /roots/1"
cn_of() { openssl x509 -in "$1" -noout -subject -nameopt multiline | sed -n 's/^ *commonName *= //p'; }
ROOT0_CN=$(cn_of "$AZ_PEBBLE_ROOT")
ROOT1_CN=$(cn_of "$ROOT1")
[[ -n $ROOT1_CN && $ROOT1_CN != "$ROOT0_CN" ]] ||
    az_fail "pebble's roots are not distinct: [$ROOT0_CN] [$ROOT1_CN]"
az_log "roots: [$ROOT0_CN] (default) and [$ROOT1_CN] (alternate)"

# A real nginx: its own prefix, config, pid and a loopback port; a default
# server with a certificate of its own answers the names no site block claims.
NGX=$AZ_TMP/nginx
az_nginx_up "$NGX"
NGINX_PORT=$AZ_NGINX_PORT NGINX_ARGS=$AZ_NGINX_ARGS NGINX_PID=$AZ_NGINX_PID
ECDSA_ONLY=ecdsa_secp256r1_sha256
RSA_ONLY=rsa_pss_rsae_sha256:rsa_pkcs1_sha256
fp_file() { openssl x509 -in "$1" -noout -fingerprint -sha256; }
# served SNI SIGALGS [X509-ARGS...]: the certificate nginx serves for SNI when
# the client offers only SIGALGS, through `openssl x509 X509-ARGS`.
served() {
    timeout 10 openssl s_client -connect "127.0.0.1:$NGINX_PORT" -servername "$1" -sigalgs "$2" \
        </dev/null 2>/dev/null | openssl x509 "${@:3}" 2>/dev/null
}
served_fp() { served "$1" "$2" -noout -fingerprint -sha256; }
az_wait_for 30 served_fp "www.$ZONE" "$ECDSA_ONLY" ||
    az_fail "nginx does not answer TLS on 127.0.0.1:$NGINX_PORT: $(tail -n 20 "$AZ_TMP/nginx.log")"
az_assert_eq "$(fp_file "$NGX/default.pem")" "$(served_fp "$ZONE" "$ECDSA_ONLY")" \
    "before any deploy, nginx serves its default certificate"
az_log "nginx up on 127.0.0.1:$NGINX_PORT, pid $NGINX_PID"
# serves_zone DIR: true when nginx serves the certificates in DIR, each key
# type's exactly, for the zone name and a name under it.
serves_zone() {
    local d=$1 sni
    for sni in "$ZONE" "www.$ZONE"; do
        [[ $(served_fp "$sni" "$ECDSA_ONLY") == "$(fp_file "$d/ecdsa-p256/cert.pem")" ]] || return 1
        [[ $(served_fp "$sni" "$RSA_ONLY") == "$(fp_file "$d/rsa-2048/cert.pem")" ]] || return 1
    done
}
# assert_serves_zone DIR WHAT: waits (30 s at most) for a reload under way to
# be done, then asserts each certificate nginx serves, naming any that differs.
assert_serves_zone() {
    local d=$1 what=$2 sni end=$((SECONDS + 30))
    until serves_zone "$d" || ((SECONDS >= end)); do sleep 0.2; done
    for sni in "$ZONE" "www.$ZONE"; do
        az_assert_eq "$(fp_file "$d/ecdsa-p256/cert.pem")" "$(served_fp "$sni" "$ECDSA_ONLY")" \
            "$what: nginx's ECDSA certificate for $sni"
        az_assert_eq "$(fp_file "$d/rsa-2048/cert.pem")" "$(served_fp "$sni" "$RSA_ONLY")" \
            "$what: nginx's RSA certificate for $sni"
    done
    az_assert_eq "$(fp_file "$NGX/default.pem")" "$(served_fp "other.example.net" "$ECDSA_ONLY")" \
        "$what: a name of no site still gets nginx's default certificate"
}

HOOKS=$AZ_TMP/hooks
mkdir -p "$HOOKS"
cat >"$HOOKS/deploy" <<'EOF'
#!/bin/sh
# Records the environment the issuer gave this hook.
env | grep '^ACMEZONE_' | sort >"$HOOK_OUT/deploy.env.tmp"
mv "$HOOK_OUT/deploy.env.tmp" "$HOOK_OUT/deploy.env"
echo "deploy hook ran for $ACMEZONE_ZONE"
EOF
cat >"$HOOKS/notify" <<'EOF'
#!/bin/sh
# Appends each JSON document (one line) to a file.
n=$(ls "$HOOK_OUT" | grep -c '^notify-' || true)
cat >"$HOOK_OUT/notify-$n.json"
echo "event=$ACMEZONE_EVENT" >>"$HOOK_OUT/notify-$n.json.env"
EOF
chmod 0755 "$HOOKS/deploy" "$HOOKS/notify"
export HOOK_OUT=$HOOKS

# write_conf FILE TEMPLATE: the issuer's configuration; nginx-deploy renders
# TEMPLATE into the test's nginx, checks it with nginx -t and reloads it.
write_conf() {
    az_issuer_conf "$1" "$ZONE"
    cat >>"$1" <<EOF
key-type = ecdsa-p256 rsa-2048
next-key = yes
preferred-chain = $ROOT1_CN
[hooks]
deploy-hook = $HOOKS/deploy && NGINX_SITES_DIR=$NGX/sites NGINX_LISTEN=127.0.0.1:$NGINX_PORT NGINX_TEMPLATE=$2 NGINX_TEST="nginx -t $NGINX_ARGS" NGINX_RELOAD="nginx -s reload $NGINX_ARGS" $ACMEZONE_SOURCE_DIR/zones-example/hooks/nginx-deploy
notify-hook = $HOOKS/notify
timeout = 30
[status]
metrics-file = $AZ_TMP/metrics/acmezone.prom
EOF
}
CONF=$AZ_TMP/issuer.conf
write_conf "$CONF" "$ACMEZONE_SOURCE_DIR/zones-example/hooks/nginx-site.conf.template"
mkdir -p "$AZ_TMP/metrics"

az_log "run: $ZONE with two key types"
az_issuer "$CONF" run
[[ $AZ_ISSUER_RC -eq 0 ]] || az_fail "run exited $AZ_ISSUER_RC: $(tail -n 40 "$AZ_ISSUER_ERR")"
D=$AZ_CERTS/$ZONE
RUN_LOG=$(cat "$AZ_ISSUER_ERR")

# (1) both certificates, each of its type, in the one current version.
CURRENT=$(readlink -f "$D/current")
for t in ecdsa-p256 rsa-2048; do
    f=$D/$t
    [[ -f $f/cert.pem && -f $f/chain.pem && -f $f/privkey.pem && -f $f/fullchain.pem ]] ||
        az_fail "$t: certificate files missing in $f"
    az_assert_eq "$CURRENT/$t" "$(readlink -f "$f")" "$t: in the current version"
    out=$(openssl verify -CAfile "$ROOT1" -untrusted "$f/chain.pem" "$f/cert.pem" 2>&1) ||
        az_fail "$t: openssl verify against the alternate root failed: $out"
    if openssl verify -CAfile "$AZ_PEBBLE_ROOT" -untrusted "$f/chain.pem" "$f/cert.pem" \
        >/dev/null 2>&1; then
        az_fail "$t: the stored chain verifies against the default root: not the preferred chain"
    fi
    az_assert_eq "$(openssl pkey -in "$f/privkey.pem" -pubout)" \
        "$(openssl x509 -in "$f/cert.pem" -noout -pubkey)" "$t: private key matches certificate"
    az_assert_eq 600 "$(stat -L -c %a "$f/privkey.pem")" "$t: privkey.pem mode"
    sans=$(openssl x509 -in "$f/cert.pem" -noout -ext subjectAltName | tail -n +2 |
        tr ',' '\n' | sed 's/^ *//' | grep -v '^$' | sort | tr '\n' ' ')
    az_assert_eq "$(printf 'DNS:%s\n' "*.$ZONE" "$ZONE" | sort | tr '\n' ' ')" "$sans" \
        "$t: subjectAltName"
done
text=$(openssl x509 -in "$D/ecdsa-p256/cert.pem" -noout -text)
az_assert_contains "$text" "NIST CURVE: P-256" "ecdsa-p256 certificate's key"
text=$(openssl x509 -in "$D/rsa-2048/cert.pem" -noout -text)
az_assert_contains "$text" "Public-Key: (2048 bit)" "rsa-2048 certificate's key"
az_assert_contains "$text" "rsaEncryption" "rsa-2048 certificate's key"
az_assert_eq "$(cat "$D/ecdsa-p256/cert.pem")" "$(cat "$D/cert.pem")" \
    "the top-level cert.pem is the first key type's"
az_assert_contains "$(cat "$AZ_ISSUER_ERR")" "using the alternate chain" "log of the chain choice"
az_log "two key types in $(basename "$CURRENT"), both on the alternate chain"

# (3) pins: what openssl computes from the stored files.
pin_of_key() { openssl pkey -in "$1" -pubout -outform DER | openssl dgst -sha256 -binary | base64; }
hex_of_key() {
    openssl pkey -in "$1" -pubout -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1
}
az_issuer "$CONF" status --pins --json
az_assert_eq 0 "$AZ_ISSUER_RC" "status --pins exit code"
for t in ecdsa-p256 rsa-2048; do
    [[ -f $D/next/$t.pem ]] || az_fail "no next $t key in $D/next"
    az_assert_eq 600 "$(stat -c %a "$D/next/$t.pem")" "next $t key mode"
    python3 - "$AZ_ISSUER_OUT" "$ZONE" "$t" "$(pin_of_key "$D/$t/privkey.pem")" \
        "$(hex_of_key "$D/$t/privkey.pem")" "$(pin_of_key "$D/next/$t.pem")" \
        "$(hex_of_key "$D/next/$t.pem")" <<'EOF' || az_fail "status --pins --json: $(cat "$AZ_ISSUER_OUT")"
import json, sys
rows = json.load(open(sys.argv[1]))
zone, t, cur, cur_hex, nxt, nxt_hex = sys.argv[2:]
row = [r for r in rows if r["zone"] == zone and r["key_type"] == t]
assert len(row) == 1, rows
r = row[0]
assert r["current"] == {"sha256_base64": cur, "sha256_hex": cur_hex}, (r, cur, cur_hex)
assert r["next"] == {"sha256_base64": nxt, "sha256_hex": nxt_hex}, (r, nxt, nxt_hex)
assert cur != nxt, r
EOF
done
az_issuer "$CONF" status --pins
az_assert_contains "$(cat "$AZ_ISSUER_OUT")" "$(pin_of_key "$D/next/rsa-2048.pem")" \
    "status --pins table shows the next rsa-2048 pin"
az_assert_contains "$(cat "$AZ_ISSUER_OUT")" "$(hex_of_key "$D/rsa-2048/privkey.pem")" \
    "status --pins table shows the current rsa-2048 TLSA hex"
az_log "status --pins matches openssl"

# (4) the deploy hook's environment.
ENVF=$HOOKS/deploy.env
[[ -f $ENVF ]] || az_fail "the deploy hook did not run (no $ENVF): $(tail -n 20 "$AZ_ISSUER_ERR")"
envvar() { sed -n "s|^$1=||p" "$ENVF"; }
az_assert_eq "$ZONE" "$(envvar ACMEZONE_ZONE)" "ACMEZONE_ZONE"
az_assert_eq "$D" "$(envvar ACMEZONE_DIR)" "ACMEZONE_DIR"
az_assert_eq "ecdsa-p256 rsa-2048" "$(envvar ACMEZONE_KEY_TYPES)" "ACMEZONE_KEY_TYPES"
az_assert_eq "ecdsa-p256" "$(envvar ACMEZONE_KEY_TYPE)" "ACMEZONE_KEY_TYPE"
az_assert_eq "$D/fullchain.pem" "$(envvar ACMEZONE_FULLCHAIN)" "ACMEZONE_FULLCHAIN"
for t in ECDSA_P256 RSA_2048; do
    for v in KEY CERT CHAIN FULLCHAIN; do
        p=$(envvar "ACMEZONE_${v}_$t")
        [[ -n $p && -s $p ]] || az_fail "ACMEZONE_${v}_$t=[$p] is not a non-empty file"
    done
done
az_assert_contains "$(openssl x509 -in "$(envvar ACMEZONE_CERT_RSA_2048)" -noout -text)" \
    "Public-Key: (2048 bit)" "ACMEZONE_CERT_RSA_2048 holds the RSA certificate"
az_assert_contains "$(openssl pkey -in "$(envvar ACMEZONE_KEY_ECDSA_P256)" -noout -text)" \
    "NIST CURVE: P-256" "ACMEZONE_KEY_ECDSA_P256 holds the ECDSA key"
az_assert_contains "$RUN_LOG" "$ZONE: deploy-hook: deploy hook ran for $ZONE" "hook output in the log"
# zones-example/hooks/nginx-deploy, run after it: one server block with both
# key types' files, checked by nginx -t, and nginx reloaded onto it.
SITE=$NGX/sites/$ZONE.conf
[[ -f $SITE ]] || az_fail "nginx-deploy wrote no $SITE: $(tail -n 20 "$AZ_ISSUER_ERR")"
az_assert_contains "$(cat "$SITE")" "server_name $ZONE *.$ZONE;" "nginx server_name"
az_assert_contains "$(cat "$SITE")" "listen 127.0.0.1:$NGINX_PORT ssl;" "nginx listen"
for t in ecdsa-p256 rsa-2048; do
    az_assert_contains "$(cat "$SITE")" "ssl_certificate \"$D/$t/fullchain.pem\";" "nginx $t certificate"
    az_assert_contains "$(cat "$SITE")" "ssl_certificate_key \"$D/$t/privkey.pem\";" "nginx $t key"
done
az_assert_contains "$RUN_LOG" "$ZONE: deploy-hook: nginx-deploy: $ZONE: $SITE written, nginx reloaded" \
    "nginx-deploy's report in the log"
assert_serves_zone "$D" "first deploy"
az_assert_eq "$(openssl x509 -in "$D/ecdsa-p256/cert.pem")" \
    "$(served "www.$ZONE" "$ECDSA_ONLY")" "the ECDSA certificate nginx serves, byte for byte"
SERIAL_EC=$(openssl x509 -in "$D/ecdsa-p256/cert.pem" -noout -serial)
SERIAL_RSA=$(openssl x509 -in "$D/rsa-2048/cert.pem" -noout -serial)
az_log "deploy hook got the right environment; nginx serves $SERIAL_EC (ECDSA), $SERIAL_RSA (RSA)"

# (3) the next issuance certifies the announced next keys.
NEXT_EC=$(pin_of_key "$D/next/ecdsa-p256.pem")
NEXT_RSA=$(pin_of_key "$D/next/rsa-2048.pem")
rm -f "$ENVF"
az_issuer "$CONF" issue "$ZONE" --force
[[ $AZ_ISSUER_RC -eq 0 ]] || az_fail "issue --force exited $AZ_ISSUER_RC: $(tail -n 40 "$AZ_ISSUER_ERR")"
az_assert_eq "$NEXT_EC" "$(pin_of_key "$D/ecdsa-p256/privkey.pem")" "ecdsa-p256: the next key is used"
az_assert_eq "$NEXT_RSA" "$(pin_of_key "$D/rsa-2048/privkey.pem")" "rsa-2048: the next key is used"
[[ $(pin_of_key "$D/next/ecdsa-p256.pem") != "$NEXT_EC" ]] || az_fail "no new next ecdsa-p256 key"
[[ -f $ENVF ]] || az_fail "the deploy hook did not run after the second issuance"
az_log "the announced next keys were used; new next keys made"
# (4) nginx was reloaded onto the new certificates.
[[ $(openssl x509 -in "$D/ecdsa-p256/cert.pem" -noout -serial) != "$SERIAL_EC" &&
    $(openssl x509 -in "$D/rsa-2048/cert.pem" -noout -serial) != "$SERIAL_RSA" ]] ||
    az_fail "issue --force stored no new certificates"
assert_serves_zone "$D" "after issue --force"
az_assert_eq "$(openssl x509 -in "$D/rsa-2048/cert.pem" -noout -serial)" \
    "$(served "www.$ZONE" "$RSA_ONLY" -noout -serial)" "nginx's RSA serial after the renewal"
az_log "nginx serves the renewed certificates: $(served "$ZONE" "$ECDSA_ONLY" -noout -serial)"

# (4) a template that nginx -t refuses: the previous block stays, nginx keeps
# the previous certificates, the issuance stands and the failure is reported.
BROKEN=$AZ_TMP/nginx-site-broken.conf.template
sed 's/^\( *server_name .*\)$/\1\n    no_such_directive_for_the_test on;/' \
    "$ACMEZONE_SOURCE_DIR/zones-example/hooks/nginx-site.conf.template" >"$BROKEN"
grep -q no_such_directive_for_the_test "$BROKEN" || az_fail "could not break the template's copy"
CONF_BROKEN=$AZ_TMP/issuer-broken.conf
write_conf "$CONF_BROKEN" "$BROKEN"
site_before=$(sha256sum <"$SITE")
fp_ec_before=$(fp_file "$D/ecdsa-p256/cert.pem")
fp_rsa_before=$(fp_file "$D/rsa-2048/cert.pem")
az_issuer "$CONF_BROKEN" issue "$ZONE" --force
[[ $AZ_ISSUER_RC -eq 0 ]] ||
    az_fail "issue with a failing deploy hook exited $AZ_ISSUER_RC: $(tail -n 20 "$AZ_ISSUER_ERR")"
LOG=$(cat "$AZ_ISSUER_ERR")
az_assert_contains "$(grep -F "$ZONE: deploy-hook: " <<<"$LOG" | grep -F "[emerg]")" \
    "unknown directive \"no_such_directive_for_the_test\" in $SITE:" "nginx -t's complaint in the log"
az_assert_contains "$LOG" \
    "$ZONE: deploy-hook: nginx-deploy: nginx -t $NGINX_ARGS failed with the new $SITE; the previous one is back" \
    "nginx-deploy's report in the log"
az_assert_contains "$LOG" "$ZONE: deploy-hook exited 1 (the new certificate is in place)" \
    "the issuer reports the hook's failure"
az_assert_eq "$site_before" "$(sha256sum <"$SITE")" "the previous server block, byte for byte"
az_assert_eq "" "$(find "$NGX/sites" -name '.*.conf.*')" "nginx-deploy's temporary files left"
[[ $(fp_file "$D/ecdsa-p256/cert.pem") != "$fp_ec_before" ]] || az_fail "no new certificate stored"
kill -0 "$NGINX_PID" 2>/dev/null || az_fail "nginx died: $(tail -n 20 "$AZ_TMP/nginx.log")"
for sni in "$ZONE" "www.$ZONE"; do
    az_assert_eq "$fp_ec_before" "$(served_fp "$sni" "$ECDSA_ONLY")" \
        "nginx keeps the previous ECDSA certificate for $sni (not reloaded)"
    az_assert_eq "$fp_rsa_before" "$(served_fp "$sni" "$RSA_ONLY")" \
        "nginx keeps the previous RSA certificate for $sni (not reloaded)"
done
az_issuer "$CONF" status --json
az_assert_eq 0 "$AZ_ISSUER_RC" "status exit code after a failed deploy hook"
python3 - "$AZ_ISSUER_OUT" "$ZONE" <<'EOF' || az_fail "status --json: $(cat "$AZ_ISSUER_OUT")"
import json, sys
rows = [r for r in json.load(open(sys.argv[1])) if r["zone"] == sys.argv[2]]
assert len(rows) == 1, rows
r = rows[0]
assert r["deploy_hook_error"] == "deploy-hook exited 1", r
assert r["last_result"] == "ok" and r["state"] == "valid", r
EOF
az_log "nginx -t refused the broken block: previous block and certificates kept, failure in status"

# (2) a preferred CN that no chain has: the default chain, and a log line.
CONF2=$AZ_TMP/issuer-plain.conf
az_issuer_conf "$CONF2" "$OTHER"
printf '%s\n' "preferred-chain = No Such Root" >>"$CONF2"
az_issuer "$CONF2" run
[[ $AZ_ISSUER_RC -eq 0 ]] || az_fail "run ($OTHER) exited $AZ_ISSUER_RC: $(tail -n 40 "$AZ_ISSUER_ERR")"
az_verify_cert "$OTHER"  # against /roots/0: the default chain
az_assert_contains "$(cat "$AZ_ISSUER_ERR")" "using the default chain" "no preferred chain: logged"
az_log "no matching chain: the default one, logged"

# (5) notify: failed once, then recovered once.
az_stop_named
az_issuer "$CONF" issue "$ZONE" --force
az_assert_eq 1 "$AZ_ISSUER_RC" "issue exit code with named stopped"
az_issuer "$CONF" issue "$ZONE" --force
az_assert_eq 1 "$AZ_ISSUER_RC" "second failing issue exit code"
az_assert_contains "$(cat "$AZ_TMP/metrics/acmezone.prom")" \
    "acmezone_consecutive_failures{zone=\"$ZONE\"} 2" "metrics: two failures in a row"
az_restart_named
az_issuer "$CONF" issue "$ZONE" --force
[[ $AZ_ISSUER_RC -eq 0 ]] || az_fail "issue after restart exited $AZ_ISSUER_RC: $(tail -n 40 "$AZ_ISSUER_ERR")"
# (4) the good template again: nginx serves the latest certificates, and
# status no longer shows the deploy hook's failure.
assert_serves_zone "$D" "after the good deploy"
az_issuer "$CONF" status --json
python3 - "$AZ_ISSUER_OUT" "$ZONE" <<'EOF' || az_fail "status --json: $(cat "$AZ_ISSUER_OUT")"
import json, sys
r = [r for r in json.load(open(sys.argv[1])) if r["zone"] == sys.argv[2]][0]
assert r["deploy_hook_error"] == "", r
EOF
python3 - "$HOOKS" "$ZONE" "$(openssl x509 -in "$D/cert.pem" -noout -enddate)" <<'EOF' ||
import glob, json, os, sys, datetime
hooks, zone, enddate = sys.argv[1:]
files = sorted(glob.glob(os.path.join(hooks, "notify-*.json")))
docs = [json.load(open(f)) for f in files]
assert [d["event"] for d in docs] == ["failed", "recovered"], docs
failed, recovered = docs
for d in docs:
    assert set(d) == {"event", "zone", "error", "not_after", "days_left", "time"}, d
    assert d["zone"] == zone, d
    assert d["time"].endswith("Z"), d
assert zone in failed["error"] and failed["error"], failed
assert isinstance(failed["days_left"], (int, float)) and failed["days_left"] > 1, failed
assert recovered["error"] == "", recovered
# recovered names the new certificate's notAfter
na = datetime.datetime.strptime(enddate.split("=", 1)[1], "%b %d %H:%M:%S %Y %Z")
assert recovered["not_after"] == na.strftime("%Y-%m-%dT%H:%M:%SZ"), (recovered, enddate)
envs = sorted(glob.glob(os.path.join(hooks, "notify-*.json.env")))
assert [open(e).read().strip() for e in envs] == ["event=failed", "event=recovered"], envs
EOF
    az_fail "notify documents: $(cat "$HOOKS"/notify-*.json)"
az_log "notify hook: failed once, recovered once"

# (6) the metrics file after the last pass.
M=$AZ_TMP/metrics/acmezone.prom
[[ -f $M ]] || az_fail "no metrics file $M"
az_assert_eq 644 "$(stat -c %a "$M")" "metrics file mode"
python3 - "$M" "$ZONE" "$(openssl x509 -in "$D/rsa-2048/cert.pem" -noout -enddate)" <<'EOF' ||
import re, sys, time, datetime
path, zone, enddate = sys.argv[1:]
samples = {}
types = {}
for line in open(path):
    line = line.rstrip("\n")
    if line.startswith("# TYPE "):
        _, _, name, t = line.split(" ")
        types[name] = t
        continue
    if line.startswith("#") or not line:
        continue
    m = re.fullmatch(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)', line)
    assert m, line
    samples[(m.group(1), m.group(2) or "")] = float(m.group(3))
na = datetime.datetime.strptime(enddate.split("=", 1)[1], "%b %d %H:%M:%S %Y %Z")
na = na.replace(tzinfo=datetime.timezone.utc).timestamp()
k = ("acmezone_certificate_not_after_seconds", '{zone="%s",key_type="rsa-2048"}' % zone)
assert samples.get(k) == na, (k, samples)
k = ("acmezone_certificate_not_after_seconds", '{zone="%s",key_type="ecdsa-p256"}' % zone)
assert k in samples, samples
k = ("acmezone_consecutive_failures", '{zone="%s"}' % zone)
assert samples.get(k) == 0, samples
k = ("acmezone_last_success_timestamp_seconds", '{zone="%s"}' % zone)
assert abs(samples[k] - time.time()) < 300, samples
assert abs(samples[("acmezone_pass_timestamp_seconds", "")] - time.time()) < 300, samples
for name in ("acmezone_certificate_not_after_seconds", "acmezone_consecutive_failures",
             "acmezone_last_success_timestamp_seconds", "acmezone_pass_timestamp_seconds"):
    assert types.get(name) == "gauge", (name, types)
EOF
    az_fail "metrics file: $(cat "$M")"
az_log "metrics file has the expected samples"
az_log "PASS"
