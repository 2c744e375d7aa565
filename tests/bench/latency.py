#!/usr/bin/python3
"""Acknowledgement-to-served latency of TSIG-signed UPDATEs, bounded.

    latency.py UPDATE_PORT DNS_PORT ALG:KEYNAME:SECRET ZONE PREFIX COUNT [--rate]

COUNT times, one after the other: send an UPDATE adding TXT "PREFIX-i" at
_acme-challenge.PREFIX-i.ZONE to 127.0.0.1:UPDATE_PORT (UDP), wait for the
answer (must be NOERROR), then query 127.0.0.1:DNS_PORT for that TXT until
the value is served (at most 2 s). Prints one line:

    update_ms_median=… served_ms_median=… served_ms_p99=… first_query_served=…/COUNT

update_ms is the UPDATE's round trip (send to acknowledgement); served_ms
is the time from the acknowledgement to the first answer holding the value;
first_query_served counts values served by the very first query after the
acknowledgement. Exit 1 when any UPDATE failed or any value was not served.

With --rate, no query is sent: the COUNT UPDATEs go one after the other as
fast as they are acknowledged (one client, one in flight) and the line is
"updates_per_s=…" (bounded: 120 s).
"""
import statistics
import sys
import time

import dns.message
import dns.query
import dns.rcode
import dns.tsig
import dns.tsigkeyring
import dns.update

ALGS = {"hmac-sha256": dns.tsig.HMAC_SHA256, "hmac-sha512": dns.tsig.HMAC_SHA512}


def main():
    upd_port, dns_port = int(sys.argv[1]), int(sys.argv[2])
    alg, keyname, secret = sys.argv[3].split(":", 2)
    zone, prefix, count = sys.argv[4], sys.argv[5], int(sys.argv[6])
    rate_only = "--rate" in sys.argv[7:]
    started = time.monotonic()
    keyring = dns.tsigkeyring.from_text({keyname: secret})
    upd_ms, served_ms, first = [], [], 0
    deadline = time.monotonic() + 120
    for i in range(count):
        if time.monotonic() > deadline:
            print("latency.py: 120 s budget spent", file=sys.stderr)
            return 1
        owner = f"_acme-challenge.{prefix}-{i}.{zone}."
        value = f"{prefix}-{i}"
        u = dns.update.UpdateMessage(zone + ".", keyring=keyring, keyname=keyname,
                                     keyalgorithm=ALGS[alg])
        u.add(owner, 600, "TXT", f'"{value}"')
        t0 = time.monotonic()
        r = dns.query.udp(u, "127.0.0.1", port=upd_port, timeout=3)
        t1 = time.monotonic()
        if r.rcode() != dns.rcode.NOERROR:
            print(f"latency.py: UPDATE {i} answered {dns.rcode.to_text(r.rcode())}",
                  file=sys.stderr)
            return 1
        upd_ms.append((t1 - t0) * 1000)
        if rate_only:
            continue
        q = dns.message.make_query(owner, "TXT")
        q.flags &= ~dns.flags.RD
        tries = 0
        while True:
            tries += 1
            a = dns.query.udp(q, "127.0.0.1", port=dns_port, timeout=2)
            if any(value.encode() in s for rr in a.answer for rd in rr for s in rd.strings):
                break
            if time.monotonic() - t1 > 2:
                print(f"latency.py: {owner} not served 2 s after its acknowledgement",
                      file=sys.stderr)
                return 1
        t2 = time.monotonic()
        served_ms.append((t2 - t1) * 1000)
        first += tries == 1
    if rate_only:
        print(f"{count / (time.monotonic() - started):.0f}")
        return 0
    served_ms.sort()
    p99 = served_ms[min(len(served_ms) - 1, int(len(served_ms) * 0.99))]
    print(f"update_ms_median={statistics.median(upd_ms):.3f} "
          f"served_ms_median={statistics.median(served_ms):.3f} served_ms_p99={p99:.3f} "
          f"first_query_served={first}/{count}")
    return 0


if __name__ == "__main__":
    import dns.flags  # noqa: E402  (used above through dns.flags)
    sys.exit(main())
