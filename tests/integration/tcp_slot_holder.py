#!/usr/bin/env python3
"""tcp_slot_holder: holds many TCP connections to a DNS server, each sending
an unsigned query every few seconds, and reports what it saw.

    tcp_slot_holder.py --port PORT [--host 127.0.0.1] [--source 127.0.0.1]
        [--connections 300] [--interval 3] [--query-name example.com]
        [--hold 90] --ready FILE --summary FILE

Opens --connections connections from --source (each sends an SOA query for
--query-name at once, then one every --interval seconds while it is open)
and sorts each into:
  refused  closed by the server (EOF or reset) before any answer: closed at
           accept, or never accepted within 20 s
  held     answered at least once; "closed" when the server later closed it
When every connection is refused or answered once (or 20 s passed) it
writes --ready (the counts so far, as JSON). It stops when every held
connection was closed by the server, or --hold seconds after ready, and
writes --summary (JSON): opened, refused, held, closed (held ones the
server closed), still_open, min_answers and max_answers (over held ones),
max_held_seconds (first answer to close, over closed ones). Exit 0 when it
wrote the summary, 2 on bad arguments. Bounded: at most 1000 connections,
--hold at most 600 s.
"""
import argparse
import errno
import json
import os
import selectors
import socket
import struct
import sys
import time

SETTLE_SECONDS = 20


def query(qid, name):
    """An unsigned SOA query (RD clear), with its TCP length prefix."""
    wire = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0)
    for label in name.strip(".").split("."):
        wire += bytes([len(label)]) + label.encode()
    wire += b"\x00" + struct.pack(">HH", 6, 1)
    return struct.pack(">H", len(wire)) + wire


class Conn:
    def __init__(self, index, sock, now):
        self.index = index
        self.sock = sock
        self.opened = now
        self.inbuf = b""
        self.answers = 0
        self.first_answer = None
        self.closed = None
        self.next_send = now

    def state(self):
        if self.closed is not None and self.answers == 0:
            return "refused"
        if self.answers > 0:
            return "held"
        return "pending"


def write_json(path, data):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, sort_keys=True)
        f.write("\n")
    os.rename(tmp, path)


def counts(conns, now):
    held = [c for c in conns if c.answers > 0]
    closed = [c for c in held if c.closed is not None]
    return {
        "opened": len(conns),
        "refused": sum(1 for c in conns if c.state() == "refused"),
        "pending": sum(1 for c in conns if c.state() == "pending"),
        "held": len(held),
        "closed": len(closed),
        "still_open": sum(1 for c in conns if c.closed is None),
        "min_answers": min((c.answers for c in held), default=0),
        "max_answers": max((c.answers for c in held), default=0),
        "max_held_seconds": round(max((c.closed - c.first_answer for c in closed), default=0), 1),
        "elapsed_seconds": round(now - conns[0].opened, 1) if conns else 0,
    }


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--source", default="127.0.0.1")
    p.add_argument("--connections", type=int, default=300)
    p.add_argument("--interval", type=float, default=3.0)
    p.add_argument("--query-name", default="example.com")
    p.add_argument("--hold", type=float, default=90.0)
    p.add_argument("--ready", required=True)
    p.add_argument("--summary", required=True)
    a = p.parse_args()
    if not 1 <= a.connections <= 1000 or not 0 < a.hold <= 600 or a.interval <= 0:
        print("tcp_slot_holder: --connections 1..1000, --hold 0..600, --interval > 0",
              file=sys.stderr)
        return 2

    sel = selectors.DefaultSelector()
    conns = []
    start = time.monotonic()
    for i in range(a.connections):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((a.source, 0))
        s.setblocking(False)
        rc = s.connect_ex((a.host, a.port))
        if rc not in (0, errno.EINPROGRESS):
            s.close()
            c = Conn(i, None, start)
            c.closed = start
            conns.append(c)
            continue
        c = Conn(i, s, start)
        conns.append(c)
        sel.register(s, selectors.EVENT_READ, c)

    def close(c, now):
        if c.closed is None:
            c.closed = now
            sel.unregister(c.sock)
            c.sock.close()

    ready_at = None
    while True:
        now = time.monotonic()
        for c in conns:
            if c.closed is None and now >= c.next_send:
                try:
                    c.sock.send(query(c.index & 0xFFFF, a.query_name))
                except BlockingIOError:
                    pass  # not connected yet (or buffer full): try on the next round
                except OSError:
                    close(c, now)
                    continue
                else:
                    c.next_send = now + a.interval
        if ready_at is None:
            settled = all(c.state() != "pending" for c in conns)
            if settled or now - start > SETTLE_SECONDS:
                for c in conns:
                    if c.state() == "pending":
                        close(c, now)  # never accepted: counted as refused
                ready_at = now
                write_json(a.ready, counts(conns, now))
        if ready_at is not None:
            open_held = [c for c in conns if c.closed is None]
            if not open_held or now - ready_at > a.hold:
                break
        due = min((c.next_send for c in conns if c.closed is None), default=now + 0.5)
        for key, _ in sel.select(timeout=max(0.05, min(0.5, due - now))):
            c = key.data
            try:
                data = c.sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            now = time.monotonic()
            if not data:
                close(c, now)
                continue
            c.inbuf += data
            while len(c.inbuf) >= 2:
                n = struct.unpack(">H", c.inbuf[:2])[0]
                if len(c.inbuf) < 2 + n:
                    break
                c.inbuf = c.inbuf[2 + n:]
                c.answers += 1
                if c.first_answer is None:
                    c.first_answer = now
    summary = counts(conns, time.monotonic())
    for c in conns:
        if c.closed is None:
            c.sock.close()
    write_json(a.summary, summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
