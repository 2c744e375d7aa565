#!/usr/bin/env bash
# switch_timing.sh — how long `acmezone-issuer switch --all` takes for N zones
# (default 100) with every CA unreachable: named with the plugin claiming the
# zones and two Pebbles of their own (the live CA and the standby CA,
# PEBBLE_VA_NOSLEEP=1), one `run` that gives every zone its live and standby
# sets, then both Pebbles stopped and `switch --all` timed: wall, user and
# system CPU by GNU time, and the milliseconds the issuer's own log gives for
# the renames. No deploy hook is configured (the hooks' own time is theirs).
# Prints one line; exit 1 when a zone lacks a set or is not switched.
#
#   tests/bench/switch_timing.sh [BUILD_DIR]     (default ./build)
#   SWITCH_N=1000 tests/bench/switch_timing.sh   another zone count
# Uses the integration tests' helpers (lib.sh, pebble.sh, issuer_lib.sh); run
# it under nice on a shared machine.
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$root/build}" && pwd)
export ACMEZONE_ISSUER=${ACMEZONE_ISSUER:-$build/issuer/acmezone-issuer}
export ACMEZONE_PLUGIN=${ACMEZONE_PLUGIN:-$build/plugin/acmezone_dlz.so}
export ACMEZONE_SOURCE_DIR=$root
# shellcheck source=../integration/lib.sh
source "$root/tests/integration/lib.sh"
# shellcheck source=../integration/pebble.sh
source "$root/tests/integration/pebble.sh"
# shellcheck source=../integration/issuer_lib.sh
source "$root/tests/integration/issuer_lib.sh"
az_setup

N=${SWITCH_N:-100}
ZONES=()
for ((i = 1; i <= N; i++)); do ZONES+=("sw$i.example.com"); done
az_plugin_setup "${ZONES[@]}"
az_start_named "$AZ_PLUGIN_FRAGMENT"
export PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0
az_start_pebble "$AZ_NAMED_PORT" standby
SB_DIR=$AZ_PEBBLE_DIR
SB_TLS_CA=$AZ_PEBBLE_TLS_CA
SB_PID=$AZ_PEBBLE_PID
az_start_pebble "$AZ_NAMED_PORT" # the live CA

CONF=$AZ_TMP/issuer.conf
az_issuer_conf "$CONF" "${ZONES[@]}"
sed -i "s|^parallel = .*|parallel = 16|" "$CONF"
sed -i "/^\[acme\]/a standby-directory = $SB_DIR\nstandby-ca-file = $SB_TLS_CA\nstandby-rate-limits = none" "$CONF"
started=$(date +%s)
az_issuer "$CONF" run
az_assert_eq 0 "$AZ_ISSUER_RC" "run: live and standby sets for $N zones; stderr: $(tail -n 20 "$AZ_ISSUER_ERR")"
for z in "${ZONES[@]}"; do
    [[ -L $AZ_CERTS/$z/current && -L $AZ_CERTS/$z/standby ]] || az_fail "$z: no live or no standby set"
done
az_log "live and standby sets for $N zones in $(($(date +%s) - started)) s"

az_stop_pebble # the live CA
AZ_PEBBLE_PID=$SB_PID
az_stop_pebble # the standby CA
out=$AZ_TMP/switch.err
rc=0
/usr/bin/time -f 'time %e %U %S' -o "$AZ_TMP/switch.time" \
    "$ACMEZONE_ISSUER" --config "$CONF" switch --all 2>"$out" || rc=$?
az_assert_eq 0 "$rc" "switch --all; stderr: $(tail -n 20 "$out")"
az_assert_contains "$(cat "$out")" "switch: $N of $N zone(s) switched in" "every zone switched"
read -r _ wall user sys <"$AZ_TMP/switch.time"
ms=$(sed -n 's/.*switch: [0-9]* of [0-9]* zone(s) switched in \([0-9]*\) ms.*/\1/p' "$out")
echo "switch --all: $N zones, both CAs unreachable: wall $wall s, user $user s, sys $sys s (renames and zone states: $ms ms by the issuer's log)"
