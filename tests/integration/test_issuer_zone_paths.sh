#!/usr/bin/env bash
# Zone names that become paths (issue 20 item 1), through the issuer's own
# configuration loading and a real run. '/' is valid in DNS labels (RFC 2317
# classless reverse zones), so the zones file may hold "0/25.2.0.192.in-addr.arpa",
# but also "/<state-dir>/ca-failover" (a leading '/': an absolute path) or
# "example.com/next". (The state file of zone <state>/ca-failover would be the
# issuer's own ca-failover.json.) The run fails every zone (the CA's port is closed: the
# state file is written on that failure path, no CA involved); then:
#   - <state>/zones holds exactly one file per zone, each one path component
#     ('/' written as %2f), and nothing was written outside the state dir
#     (no <outside>/x.json; ca-failover.json holds no zone's state)
#   - `status --json` reads every zone's state back by its name (failures 1)
source "$(dirname "$0")/lib.sh"
az_setup

[[ -n ${ACMEZONE_ISSUER:-} && -x $ACMEZONE_ISSUER ]] ||
    az_fail "ACMEZONE_ISSUER is not set to the built acmezone-issuer"

# Zone names are lower-cased, so the paths they name must be lower case to
# be reachable at all: a base of our own, removed at exit.
BASE=/tmp/acmezone-zone-paths-$$-$RANDOM
mkdir -m 0700 "$BASE"
az_at_exit rm -rf "$BASE"
STATE=$BASE/state
OUTSIDE=$BASE/outside
mkdir -p "$STATE" "$OUTSIDE"
tsig-keygen -a hmac-sha256 acme-key >"$AZ_TMP/keys.conf"
chmod 600 "$AZ_TMP/keys.conf"
# Ports nothing listens on: a port reserved then closed.
DEAD=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

ZONES=("0/25.2.0.192.in-addr.arpa" "$STATE/ca-failover" "$OUTSIDE/x" "example.com/next"
    "example.com")

printf '%s\n' "${ZONES[@]}" >"$AZ_TMP/zones.txt"
cat >"$AZ_TMP/issuer.conf" <<CONF
[acme]
directory = https://127.0.0.1:$DEAD/dir
contact = mailto:hostmaster@example.com
state-dir = $STATE
retry-deadline = 0
rate-limits = none
[zones]
zones-file = $AZ_TMP/zones.txt
[publish]
control = 127.0.0.1:$DEAD
key = acme-key
keys = $AZ_TMP/keys.conf
[dns]
resolver = 127.0.0.1:$DEAD
check-server = 127.0.0.1:$DEAD
[certs]
dir = $STATE/certs
CONF

# Everything but the state dir (which holds the certificate store too).
tree() { find "$BASE" -path "$STATE" -prune -o -print | sort; }
tree_before=$(tree)
rc=0
timeout 120 "$ACMEZONE_ISSUER" --config "$AZ_TMP/issuer.conf" run >"$AZ_TMP/run.out" \
    2>"$AZ_TMP/run.err" || rc=$?
[[ $rc -ne 124 ]] || az_fail "the run did not finish within 120 s"
az_assert_eq 1 "$rc" "the run's exit status (every zone failed)"
if grep -q "could not record" "$AZ_TMP/run.err"; then
    cat "$AZ_TMP/run.err" >&2
    az_fail "a zone's state could not be recorded"
fi
diff <(echo "$tree_before") <(tree) >&2 || az_fail "files appeared outside $STATE (above)"
python3 -c 'import json,sys; sys.exit("failures" in json.load(open(sys.argv[1])))' \
    "$STATE/ca-failover.json" || az_fail "a zone's state was written over the issuer's ca-failover.json"
[[ ! -e $OUTSIDE/x.json ]] || az_fail "$OUTSIDE/x.json was written"

az_log "one state file per zone (and its spare, once written twice), each one path component"
expected=$(for z in "${ZONES[@]}"; do printf '%s.json\n' "${z//\//%2f}"; done | sort)
actual=$(find "$STATE/zones" -mindepth 1 -printf '%P\n' | sed -E 's/^\.(.*)\.spare$/\1/' | sort -u)
az_assert_eq "$expected" "$actual" "the files in $STATE/zones, spares (.NAME.spare) named as NAME"


az_log "status --json reads every zone back by its name"
"$ACMEZONE_ISSUER" --config "$AZ_TMP/issuer.conf" status --json >"$AZ_TMP/status.json" || true
az_assert_eq "$(printf '%s\n' "${ZONES[@]}" | sort)" \
    "$(python3 -c 'import json,sys; print("\n".join(sorted(z["zone"] for z in json.load(open(sys.argv[1])))))' "$AZ_TMP/status.json")" \
    "the zones status reads back"
for z in "${ZONES[@]}"; do
    az_assert_eq 1 "$(python3 -c 'import json,sys; print([r["failures"] for r in json.load(open(sys.argv[1])) if r["zone"] == sys.argv[2]][0])' "$AZ_TMP/status.json" "$z")" \
        "status: failures of $z"
done
az_log "ok"
