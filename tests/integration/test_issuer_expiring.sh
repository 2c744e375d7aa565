#!/usr/bin/env bash
# The notify-hook's "expiring" notice end to end: real named with the plugin,
# real Pebble issuing 10-day certificates (certificateValidityPeriod), and
# notify-expiring-days = 30, above that lifetime.
#   (1) a successful issuance notifies nothing: a renewed certificate is not
#       "expiring"
#   (2) the renewal fails (Pebble down): one "failed" and one "expiring"
#       document, the latter with the zone, the stored certificate's notAfter,
#       its days left (consistent with its own time) and the failure
#   (3) the next failing attempt (`issue --force`) and a `run` (the
#       certificate is not due yet: the zone is not attempted) notify nothing
#       more: "failed" is sent once and "expiring" at most once a day
#       (issuer/outputs/hooks.h). And run's exit status as README documents it: a zone
#       with no certificate whose attempt failed makes `run` exit 1, and the
#       next `run`, which skips it in its backoff, exits 0 (status exits 1)
#   (4) Pebble back: the renewal succeeds and "recovered" follows, naming the
#       new certificate's notAfter
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pebble.sh"
source "$(dirname "$0")/issuer_lib.sh"
az_setup

ZONE=expiring.example.org
FRESH=fresh.example.org  # in its own configuration: never issued here
VALIDITY=864000  # 10 days
az_plugin_setup "$ZONE" "$FRESH"
az_start_named "$AZ_PLUGIN_FRAGMENT"
az_start_pebble "$AZ_NAMED_PORT"
# pebble.sh writes Pebble's configuration; short-lived certificates need one
# more key in it (Pebble's default is 5 years).
az_stop_pebble
python3 - "$AZ_TMP/pebble/pebble-config.json" "$VALIDITY" <<'EOF' ||
import json, sys
path, validity = sys.argv[1], int(sys.argv[2])
conf = json.load(open(path))
conf["pebble"]["certificateValidityPeriod"] = validity
json.dump(conf, open(path, "w"), indent=2)
EOF
    az_fail "could not set certificateValidityPeriod in Pebble's configuration"
az_restart_pebble
grep -q "Using certificate validity period of $VALIDITY seconds" "$AZ_PEBBLE_LOG" ||
    az_fail "pebble ignored certificateValidityPeriod: $(tail -n 20 "$AZ_PEBBLE_LOG")"

HOOKS=$AZ_TMP/hooks
mkdir -p "$HOOKS"
cat >"$HOOKS/notify" <<'EOF'
#!/bin/sh
# Each JSON document to notify-NNN.json, its ACMEZONE_EVENT beside it.
n=$(find "$HOOK_OUT" -name 'notify-*.json' | wc -l)
f=$(printf '%s/notify-%03d' "$HOOK_OUT" "$n")
cat >"$f.json"
echo "event=$ACMEZONE_EVENT zone=$ACMEZONE_ZONE" >"$f.env"
EOF
chmod 0755 "$HOOKS/notify"
export HOOK_OUT=$HOOKS
CONF=$AZ_TMP/issuer.conf
az_issuer_conf "$CONF" "$ZONE"
cat >>"$CONF" <<EOF
[hooks]
notify-hook = $HOOKS/notify
notify-expiring-days = 30
timeout = 30
EOF
CONF_FRESH=$AZ_TMP/issuer-fresh.conf
az_issuer_conf "$CONF_FRESH" "$FRESH"
# An unreachable CA is given up on after 3 s, not 30.
sed -i 's/^retry-deadline = .*/retry-deadline = 3/' "$CONF" "$CONF_FRESH"
grep -q "^retry-deadline = 3$" "$CONF" || az_fail "no retry-deadline in $CONF to shorten"
D=$AZ_CERTS/$ZONE
events() { cat "$HOOKS"/notify-*.env 2>/dev/null | cut -d' ' -f1 | sed 's/^event=//' | tr '\n' ' '; }
enddate() { openssl x509 -in "$D/cert.pem" -noout -enddate | cut -d= -f2; }

# (1)
az_issuer "$CONF" run
[[ $AZ_ISSUER_RC -eq 0 ]] || az_fail "run exited $AZ_ISSUER_RC: $(tail -n 40 "$AZ_ISSUER_ERR")"
az_verify_cert "$ZONE"
lifetime=$(($(date -d "$(enddate)" +%s) - $(date -d "$(openssl x509 -in "$D/cert.pem" -noout \
    -startdate | cut -d= -f2)" +%s)))
((lifetime > VALIDITY - 60 && lifetime <= VALIDITY)) ||
    az_fail "the certificate lives $lifetime s, not the $VALIDITY s Pebble was given"
az_assert_eq "" "$(events)" "notifications after a successful issuance"
NOT_AFTER_1=$(enddate)
az_log "issued, valid until $NOT_AFTER_1 (10 days: under notify-expiring-days = 30); nothing notified"

# (2)
az_stop_pebble
az_issuer "$CONF" issue "$ZONE" --force
az_assert_eq 1 "$AZ_ISSUER_RC" "issue exit code with Pebble down"
az_assert_eq "failed expiring " "$(events)" "notifications after the failed renewal"
az_assert_eq "event=expiring zone=$ZONE" "$(cat "$HOOKS/notify-001.env")" "the hook's environment"
python3 - "$HOOKS/notify-001.json" "$ZONE" "$NOT_AFTER_1" "$VALIDITY" <<'EOF' ||
import datetime, json, math, sys
path, zone, enddate, validity = sys.argv[1:]
lines = open(path).read().splitlines()
assert len(lines) == 1, lines  # one document, one line
d = json.loads(lines[0])
assert set(d) == {"event", "zone", "error", "not_after", "days_left", "time"}, d
assert d["event"] == "expiring" and d["zone"] == zone, d
na = datetime.datetime.strptime(enddate, "%b %d %H:%M:%S %Y %Z").replace(
    tzinfo=datetime.timezone.utc)
assert d["not_after"] == na.strftime("%Y-%m-%dT%H:%M:%SZ"), (d, enddate)
t = datetime.datetime.strptime(d["time"], "%Y-%m-%dT%H:%M:%SZ").replace(
    tzinfo=datetime.timezone.utc)
# days left at the document's own time (given to the second), floored to 0.1
left = [(na - t - datetime.timedelta(seconds=s)).total_seconds() / 86400 for s in (0, 1)]
assert d["days_left"] in [math.floor(x * 10) / 10 for x in left], (d, left)
assert 0 < d["days_left"] <= int(validity) / 86400 <= 30, d
assert zone in d["error"], d  # the failure that left it unrenewed
EOF
    az_fail "the expiring document: $(cat "$HOOKS/notify-001.json")"
az_log "expiring: $(cat "$HOOKS/notify-001.json")"

# (3)
az_issuer "$CONF" issue "$ZONE" --force
az_assert_eq 1 "$AZ_ISSUER_RC" "second failing issue exit code"
az_assert_eq "failed expiring " "$(events)" "notifications after the second failure"
az_issuer "$CONF" run
az_assert_eq 0 "$AZ_ISSUER_RC" "run exit code, the zone failing but not due"
az_assert_contains "$(cat "$AZ_ISSUER_ERR")" "$ZONE: valid until $(date -u -d "$NOT_AFTER_1" \
    +%Y-%m-%dT%H:%M:%SZ), not due" "run does not attempt the zone"
az_assert_eq "failed expiring " "$(events)" "notifications after a run"
az_log "neither failed nor expiring repeated by a failing issue and a run"
az_issuer "$CONF_FRESH" run
az_assert_eq 1 "$AZ_ISSUER_RC" "run exit code, $FRESH attempted and failed"
az_issuer "$CONF_FRESH" run
az_assert_eq 0 "$AZ_ISSUER_RC" "run exit code, $FRESH (no certificate) skipped in its backoff"
az_assert_contains "$(cat "$AZ_ISSUER_ERR")" "$FRESH: missing, failed 1 time(s); next attempt at" \
    "run skips $FRESH in its backoff"
az_issuer "$CONF_FRESH" status
az_assert_eq 1 "$AZ_ISSUER_RC" "status exit code, $FRESH without a certificate"
az_log "run: 1 when $FRESH failed, then 0 while it waits in backoff; status: 1"

# (4)
az_restart_pebble
az_issuer "$CONF" issue "$ZONE" --force
[[ $AZ_ISSUER_RC -eq 0 ]] || az_fail "issue with Pebble back exited $AZ_ISSUER_RC: $(tail -n 40 "$AZ_ISSUER_ERR")"
az_assert_eq "failed expiring recovered " "$(events)" "notifications after the recovery"
python3 - "$HOOKS/notify-002.json" "$ZONE" "$(enddate)" <<'EOF' ||
import datetime, json, sys
path, zone, enddate = sys.argv[1:]
d = json.load(open(path))
assert d["event"] == "recovered" and d["zone"] == zone and d["error"] == "", d
na = datetime.datetime.strptime(enddate, "%b %d %H:%M:%S %Y %Z")
assert d["not_after"] == na.strftime("%Y-%m-%dT%H:%M:%SZ"), (d, enddate)
EOF
    az_fail "the recovered document: $(cat "$HOOKS/notify-002.json")"
az_log "recovered: $(cat "$HOOKS/notify-002.json")"
az_log "PASS"
