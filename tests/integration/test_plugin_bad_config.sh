#!/usr/bin/env bash
# A bad plugin configuration stops named from loading the plugin, and
# named's log says what to fix: file, line and key; the key file's mode;
# the control address that cannot be bound; the database line's shape.
# Also: a changed plugin.conf on `rndc reload` is reported, not half-applied.
source "$(dirname "$0")/lib.sh"
az_setup

az_plugin_setup example.com
GOOD=$(cat "$AZ_PLUGIN_CONF")

# Starts named with the current plugin.conf, expects it to refuse, and
# expects `text` in its log.
expect_refused() {
    local what=$1 text=$2
    az_log "refused: $what"
    : >"$AZ_TMP/named.log"
    az_start_named_fails "$AZ_PLUGIN_FRAGMENT"
    az_assert_contains "$(cat "$AZ_NAMED_LOG")" "$text" "$what: named's log"
}

# `top LINE`: the good file with LINE added before [control].
top() { printf '%s\n' "$GOOD" | sed "/^\[control\]/i $1" >"$AZ_PLUGIN_CONF"; }

printf '%s\n' "$GOOD" | sed 's/^ttl = .*/ttl = 100000/' >"$AZ_PLUGIN_CONF"
line=$(grep -n '^ttl = 100000' "$AZ_PLUGIN_CONF" | cut -d: -f1)
expect_refused "ttl out of range" "$AZ_PLUGIN_CONF:$line: ttl: value 100000 out of range"

printf '%s\ngrant = nokey zonesub example.com\n' "$GOOD" >"$AZ_PLUGIN_CONF"
line=$(grep -n '^grant = nokey' "$AZ_PLUGIN_CONF" | cut -d: -f1)
expect_refused "grant naming an unknown key" \
    "$AZ_PLUGIN_CONF:$line: control.grant: key \"nokey\" is not in"

printf '%s\n' "$GOOD" | sed 's/^zone = example.com/zone = exa mple.com/' >"$AZ_PLUGIN_CONF"
expect_refused "a bad zone name" "$AZ_PLUGIN_CONF:1: zone:"

printf '%s\n' "$GOOD" >"$AZ_PLUGIN_CONF"
chmod 0644 "$AZ_KEY_FILE"
expect_refused "a world-readable key file" "$AZ_KEY_FILE"
chmod 0600 "$AZ_KEY_FILE"

# The control port taken by another socket (held open by python until the
# test kills it, not for a fixed time the check below must fit in).
python3 -c "
import signal, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(('127.0.0.1', $AZ_CONTROL_PORT))
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t.bind(('127.0.0.1', $AZ_CONTROL_PORT))
t.listen(1)
print('bound', flush=True)
signal.pause()
" >"$AZ_TMP/holder.out" 2>&1 &
holder=$!
az_track_pid $holder
az_wait_for 10 grep -q bound "$AZ_TMP/holder.out" || az_fail "could not occupy the control port"
expect_refused "control port in use" "127.0.0.1:$AZ_CONTROL_PORT"
kill "$holder"
wait "$holder" 2>/dev/null || true

cat >"$AZ_TMP/two-args.conf" <<CONF
dlz "acmezone" { database "dlopen $ACMEZONE_PLUGIN $AZ_PLUGIN_CONF extra"; };
CONF
az_log "refused: a database line with two arguments"
az_start_named_fails "$AZ_TMP/two-args.conf"
az_assert_contains "$(cat "$AZ_NAMED_LOG")" "exactly one argument, the configuration file" \
    "database line"

az_log "a good file loads; a changed file on rndc reload is reported"
az_start_named "$AZ_PLUGIN_FRAGMENT"
az_nsupdate "update add _acme-challenge.example.com 60 TXT \"kept\"" || az_fail "nsupdate"
top "max-values-per-name = 3"
az_rndc_reload
az_assert_contains "$(cat "$AZ_NAMED_LOG")" "changed, but the running core keeps the settings" \
    "reload with a changed plugin.conf"
az_assert_eq '"kept"' "$(az_dig +short _acme-challenge.example.com TXT)" "value after reload"
az_log "PASS"
