#!/usr/bin/env python3
"""dns_capture: capture a DNS UPDATE's wire on its way to a server, and send
captured octets again (a replay), for tests.

    dns_capture.py relay --target-port PORT [--target 127.0.0.1]
                         --port-file FILE --capture FILE [--seconds 120]
        A UDP relay on 127.0.0.1 (port chosen at run time, written to
        --port-file): every datagram is forwarded to the target and the
        answer relayed back. The first UPDATE (opcode 5) it forwards is
        written to --capture, exactly as sent, and its TSIG time signed
        (seconds since the epoch) to --capture's name plus ".time". Runs
        until --seconds have passed (at most 600).

    dns_capture.py replay --port PORT [--server 127.0.0.1] --wire FILE
        Sends the octets in FILE over UDP, once, and prints how the server
        answered: "rcode=NOTAUTH tsig_error=BADTIME" ("tsig_error=none"
        when the answer is unsigned, "timeout" after 3 s). Exit 0 when an
        answer came, 1 on timeout.
"""
import argparse
import os
import socket
import struct
import sys
import time

RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP",
          5: "REFUSED", 6: "YXDOMAIN", 7: "YXRRSET", 8: "NXRRSET", 9: "NOTAUTH",
          10: "NOTZONE"}
TSIG_ERRORS = {0: "NOERROR", 16: "BADSIG", 17: "BADKEY", 18: "BADTIME", 22: "BADTRUNC"}
TYPE_TSIG = 250


def skip_name(wire, pos):
    """The offset after the (possibly compressed) name at pos."""
    while True:
        n = wire[pos]
        if n & 0xC0 == 0xC0:
            return pos + 2
        pos += 1
        if n == 0:
            return pos
        pos += n


def tsig_of(wire):
    """(time signed, error) of the message's TSIG record, or None."""
    qd, an, ns, ar = struct.unpack(">HHHH", wire[4:12])
    pos = 12
    for _ in range(qd):
        pos = skip_name(wire, pos) + 4
    found = None
    for _ in range(an + ns + ar):
        pos = skip_name(wire, pos)
        rtype, _cls, _ttl, rdlen = struct.unpack(">HHIH", wire[pos:pos + 10])
        pos += 10
        if rtype == TYPE_TSIG:
            r = skip_name(wire, pos)  # algorithm
            signed = int.from_bytes(wire[r:r + 6], "big")
            mac_size = struct.unpack(">H", wire[r + 8:r + 10])[0]
            error = struct.unpack(">H", wire[r + 10 + mac_size + 2:r + 10 + mac_size + 4])[0]
            found = (signed, error)
        pos += rdlen
    return found


def relay(a):
    if not 0 < a.seconds <= 600:
        print("dns_capture: --seconds 1..600", file=sys.stderr)
        return 2
    front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    front.bind(("127.0.0.1", 0))
    with open(a.port_file + ".tmp", "w") as f:
        f.write(f"{front.getsockname()[1]}\n")
    os.rename(a.port_file + ".tmp", a.port_file)
    captured = False
    end = time.monotonic() + a.seconds
    while time.monotonic() < end:
        front.settimeout(max(0.1, end - time.monotonic()))
        try:
            request, client = front.recvfrom(65535)
        except socket.timeout:
            break
        if len(request) >= 12 and not captured and (request[2] >> 3) & 0xF == 5:
            tsig = tsig_of(request)
            with open(a.capture, "wb") as f:
                f.write(request)
            with open(a.capture + ".time", "w") as f:
                f.write(f"{tsig[0] if tsig else 0}\n")
            captured = True
        back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        back.settimeout(5)
        back.sendto(request, (a.target, a.target_port))
        try:
            answer = back.recv(65535)
            front.sendto(answer, client)
        except socket.timeout:
            pass
        back.close()
    return 0


def replay(a):
    with open(a.wire, "rb") as f:
        wire = f.read()
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.sendto(wire, (a.server, a.port))
    try:
        answer = s.recv(65535)
    except socket.timeout:
        print("timeout")
        return 1
    rcode = answer[3] & 0xF
    tsig = tsig_of(answer)
    error = "none" if tsig is None else TSIG_ERRORS.get(tsig[1], str(tsig[1]))
    print(f"rcode={RCODES.get(rcode, str(rcode))} tsig_error={error}")
    return 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("relay")
    r.add_argument("--target", default="127.0.0.1")
    r.add_argument("--target-port", type=int, required=True)
    r.add_argument("--port-file", required=True)
    r.add_argument("--capture", required=True)
    r.add_argument("--seconds", type=float, default=120)
    s = sub.add_parser("replay")
    s.add_argument("--server", default="127.0.0.1")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--wire", required=True)
    a = p.parse_args()
    return relay(a) if a.command == "relay" else replay(a)


if __name__ == "__main__":
    sys.exit(main())
