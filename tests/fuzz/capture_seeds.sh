#!/usr/bin/env bash
# Captures the seeds of corpus/fuzz_dns_answer and corpus/fuzz_tcp_framing
# from the real programs, on loopback at free ports:
#   tests/fuzz/capture_seeds.sh CORPUS_DIR
# fuzz_dns_answer/named_*.bin: a named (recursion off) serving the zones
# below is asked over UDP, with RD set as the issuer asks its resolver; each
# answer's wire form is kept. fuzz_tcp_framing/*.bin: what dig +tcp and
# nsupdate -v send to a TCP listener that answers nothing, with octet 0
# (the target's read size) in front. Needs named, dig, nsupdate, python3.
set -euo pipefail
out=$(realpath "$1")
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/acmezone-seeds.XXXXXX")
named_pid=
cleanup() {
    if [[ -n $named_pid ]]; then
        kill "$named_pid" 2>/dev/null || true
        wait "$named_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
mkdir -p "$out/fuzz_dns_answer" "$out/fuzz_tcp_framing"

# --- named's answers
port=$(free_port)
cat >"$work/named.conf" <<CONF
options { directory "$work"; listen-on port $port { 127.0.0.1; }; listen-on-v6 { none; };
          pid-file none; recursion no; dnssec-validation no; };
controls { };
zone "example.com" { type primary; file "example.com.zone"; };
zone "example.net" { type primary; file "example.net.zone"; };
CONF
cat >"$work/example.com.zone" <<'ZONE'
$TTL 300
@ IN SOA ns1.example.com. hostmaster.example.com. 2026010101 3600 600 86400 60
@ IN NS ns1.example.com.
@ IN NS ns2.example.net.
ns1 IN A 192.0.2.53
ns1 IN AAAA 2001:db8::53
@ IN CAA 0 issue "letsencrypt.org; validationmethods=dns-01"
@ IN CAA 0 issuewild ";"
@ IN CAA 0 iodef "mailto:security@example.com"
strict IN CAA 128 tbs "unknown"
strict IN CAA 0 issue "pki.goog"
_acme-challenge IN TXT "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"
_acme-challenge IN TXT "split" "into" "strings"
_acme-challenge.www IN CNAME _acme-challenge.www.example.net.
_acme-challenge.loop IN CNAME _acme-challenge.loop.example.com.
sub IN NS ns.sub.example.com.
ns.sub IN A 192.0.2.54
ZONE
cat >"$work/example.net.zone" <<'ZONE'
$TTL 300
@ IN SOA ns2.example.net. hostmaster.example.net. 1 3600 600 86400 60
@ IN NS ns2.example.net.
ns2 IN A 198.51.100.53
ns2 IN AAAA 2001:db8:1::53
_acme-challenge.www IN TXT "delegated-value"
ZONE
named -g -c "$work/named.conf" >"$work/named.log" 2>&1 &
named_pid=$!
for _ in $(seq 100); do
    dig +short +tries=1 +time=1 @127.0.0.1 -p "$port" example.com SOA >/dev/null 2>&1 && break
    sleep 0.1
done
python3 - "$port" "$out/fuzz_dns_answer" <<'PY'
import socket, struct, sys
port, out = int(sys.argv[1]), sys.argv[2]
T = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "TXT": 16, "AAAA": 28, "CAA": 257}
def query(qid, name, qtype):
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\0" + struct.pack(">HH", T[qtype], 1)
asks = [
    ("soa_apex", "example.com", "SOA"),
    ("soa_nodata_authority", "_acme-challenge.example.com", "SOA"),
    ("soa_nxdomain_authority", "nothere.example.com", "SOA"),
    ("ns_with_glue", "example.com", "NS"),
    ("a_ns1", "ns1.example.com", "A"),
    ("aaaa_ns1", "ns1.example.com", "AAAA"),
    ("caa_issue_issuewild_iodef", "example.com", "CAA"),
    ("caa_critical_unknown_tag", "strict.example.com", "CAA"),
    ("caa_nodata", "www.example.com", "CAA"),
    ("cname_to_other_zone", "_acme-challenge.www.example.com", "CNAME"),
    ("cname_loop", "_acme-challenge.loop.example.com", "CNAME"),
    ("cname_nodata", "_acme-challenge.example.com", "CNAME"),
    ("txt_two_values", "_acme-challenge.example.com", "TXT"),
    ("txt_through_cname", "_acme-challenge.www.example.com", "TXT"),
    ("ns_referral_glue", "sub.example.com", "NS"),
    ("a_referral", "host.sub.example.com", "A"),
    ("refused_outside_zones", "example.org", "SOA"),
]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
for i, (file, name, qtype) in enumerate(asks):
    s.sendto(query(0x4100 + i, name, qtype), ("127.0.0.1", port))
    data, _ = s.recvfrom(65535)
    open(f"{out}/named_{file}.bin", "wb").write(data)
PY

# --- TCP streams of dig and nsupdate
# capture FILE COMMAND...: runs COMMAND against a listener at $port (set
# before the call, since COMMAND names it) that keeps what the client sends
# (until a second of quiet or the close).
capture() {
    local file=$1
    shift
    python3 - "$port" "$file" <<'PY' &
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(1)
c, _ = s.accept()
c.settimeout(1.0)
data = b""
try:
    while True:
        b = c.recv(65536)
        if not b:
            break
        data += b
except socket.timeout:
    pass
open(sys.argv[2], "wb").write(data)
PY
    local pid=$!
    for _ in $(seq 100); do
        ss -ltn "sport = :$port" | grep -q LISTEN && break
        sleep 0.05
    done
    "$@" >/dev/null 2>&1 || true
    wait "$pid"
}
port=$(free_port)
capture "$work/soa.tcp" dig +tcp +tries=1 +time=2 -p "$port" @127.0.0.1 _acme-challenge.example.com SOA
port=$(free_port)
capture "$work/txt.tcp" dig +tcp +tries=1 +time=2 +cookie -p "$port" @127.0.0.1 \
    _acme-challenge.www.example.com TXT
printf 'server 127.0.0.1 %s\nzone example.com\nupdate add _acme-challenge.example.com. 0 IN TXT "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"\nsend\n' \
    PORT >"$work/nsupdate.in"
port=$(free_port)
capture "$work/update.tcp" bash -c \
    "sed 's/PORT/$port/' '$work/nsupdate.in' | timeout 5 nsupdate -v -t 2 -k '$root/zones-example/keys.conf'"
python3 - "$work" "$out/fuzz_tcp_framing" <<'PY'
import sys
work, d = sys.argv[1:]
soa, txt, upd = (open(f"{work}/{n}.tcp", "rb").read() for n in ("soa", "txt", "update"))
open(d + "/dig_soa_one_read.bin", "wb").write(bytes([255]) + soa)
open(d + "/nsupdate_update_reads_of_7.bin", "wb").write(bytes([6]) + upd)
open(d + "/dig_txt_then_nsupdate_pipelined_reads_of_100.bin", "wb").write(bytes([99]) + txt + upd)
open(d + "/dig_soa_then_partial_update_octet_by_octet.bin", "wb").write(bytes([0]) + soa + upd[:60])
open(d + "/length_prefix_split_reads_of_1.bin", "wb").write(bytes([0]) + soa[:1])
PY
