#!/usr/bin/env python3
"""acme_fault_proxy.py: an HTTPS proxy in front of Pebble that answers some
requests with an ACME error instead of forwarding them, so a test can check
how acmezone-issuer retries rateLimited / serverInternal answers.

    acme_fault_proxy.py --listen PORT --upstream https://127.0.0.1:P \
        --cert tls.pem --key tls.key --ca tls-ca.pem --log FILE \
        --rule POST:/order-plz:2:500:serverInternal:1 ...

A rule METHOD:PATH-PREFIX:COUNT:STATUS:TYPE:RETRY-AFTER[:SKIP] lets the first
SKIP matching requests through (default 0), then answers the next COUNT
(COUNT -1: all of them) with STATUS and a problem
document of type urn:ietf:params:acme:error:TYPE, with a Retry-After header
when RETRY-AFTER > 0. Everything else is forwarded unchanged, Host header
included, so Pebble builds its URLs (and checks the JWS "url") with the
proxy's address. Each injected answer is one line in --log. Listens on
127.0.0.1 only; stops on SIGTERM.

A fault METHOD:PATH-PREFIX:COUNT:KIND[:SKIP] (--fault, same matching as a
rule) forwards the request to Pebble and spoils Pebble's answer on the way
back, keeping its status and headers (Replay-Nonce included):
  malformed  the body cut in half, Content-Length to match: not JSON
  truncated  Content-Length of the whole body, half of it sent, then the
             connection closed
  slow       Content-Length of the whole body, then one octet every 0.5 s
             for at most --slow-seconds (default 20), then the rest; with
             --slow-release FILE, the rest as soon as FILE exists (a test
             holds the answer until it has done what must happen meanwhile)

ACME Renewal Information (RFC 9773), which Pebble 2.4 lacks, with --ari: the
directory gains "renewalInfo": https://HOST/renewalInfo, and GET
/renewalInfo/CERTID answers a suggestedWindow (RFC 3339 UTC) of
--ari-window CERTID=START:END (seconds from the request; repeatable) or else
--ari-default START:END (default 30 to 31 days ahead), with Retry-After:
--ari-retry-after (default 21600); a --rule matching GET /renewalInfo/
answers first. Each renewalInfo answer is a line
"GET /renewalInfo/CERTID -> window START END" in --log, and each newOrder
a line "newOrder replaces=CERTID" ("replaces=-" without one), read from the
JWS payload.

CAA identities, which Pebble 2.4's directory does not list, with
--caa-identity NAME (repeatable): the directory's meta.caaIdentities.
"""
import argparse
import base64
import http.client
import http.server
import json
import os
import ssl
import sys
import threading
import time
import urllib.parse

args = None
lock = threading.Lock()
rules = []
faults = []


class Rule:
    def __init__(self, text):
        fields = text.split(":")
        method, prefix, count, status, typ, retry = fields[:6]
        self.skip = int(fields[6]) if len(fields) > 6 else 0
        self.method, self.prefix = method, prefix
        self.left, self.status = int(count), int(status)
        self.type, self.retry = typ, int(retry)

    def take(self, method, path):
        if method != self.method or not path.startswith(self.prefix) or self.left == 0:
            return False
        if self.skip > 0:
            self.skip -= 1
            return False
        if self.left > 0:
            self.left -= 1
        return True


class Fault(Rule):
    KINDS = ("malformed", "truncated", "slow")

    def __init__(self, text):
        fields = text.split(":")
        method, prefix, count, kind = fields[:4]
        if kind not in self.KINDS:
            raise SystemExit(f"--fault {text}: KIND must be one of {', '.join(self.KINDS)}")
        self.skip = int(fields[4]) if len(fields) > 4 else 0
        self.method, self.prefix, self.left, self.kind = method, prefix, int(count), kind

    def send(self, handler, data):
        """Writes the spoiled body of a response whose headers are not ended yet."""
        if self.kind == "malformed":
            data = data[: len(data) // 2]
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        if self.kind == "malformed":
            handler.wfile.write(data)
        elif self.kind == "truncated":
            handler.wfile.write(data[: len(data) // 2])
            handler.wfile.flush()
            handler.close_connection = True
        else:  # slow; bounded by --slow-seconds, ended by --slow-release FILE
            try:
                sent, start = 0, time.monotonic()
                while (
                    sent < len(data)
                    and time.monotonic() - start < args.slow_seconds
                    and not (args.slow_release and os.path.exists(args.slow_release))
                ):
                    handler.wfile.write(data[sent : sent + 1])
                    handler.wfile.flush()
                    sent += 1
                    time.sleep(0.5)
                handler.wfile.write(data[sent:])
            except OSError:  # the client gave up first
                handler.close_connection = True


def rfc3339(offset):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + offset))


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def ari_answer(handler, method):
    """Serves renewalInfo and logs newOrder's "replaces"; True when answered here."""
    if method == "POST" and handler.path.startswith("/order-plz"):
        replaces = "-"
        try:
            jws = json.loads(handler.ari_body)
            replaces = json.loads(b64url_decode(jws["payload"])).get("replaces", "-")
        except (ValueError, KeyError, TypeError):
            replaces = "unreadable"
        with lock, open(args.log, "a") as f:
            f.write(f"newOrder replaces={replaces}\n")
        return False
    if method != "GET" or not handler.path.startswith("/renewalInfo/"):
        return False
    cert_id = handler.path[len("/renewalInfo/"):]
    start, end = args.ari_default_window
    for spec in args.ari_window:
        cid, _, window = spec.partition("=")
        if cid == cert_id:
            start, end = (int(x) for x in window.split(":"))
    doc = json.dumps({"suggestedWindow": {"start": rfc3339(start), "end": rfc3339(end)}}).encode()
    with lock, open(args.log, "a") as f:
        f.write(f"GET {handler.path} -> window {start} {end}\n")
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Retry-After", str(args.ari_retry_after))
    handler.send_header("Content-Length", str(len(doc)))
    handler.end_headers()
    handler.wfile.write(doc)
    return True


def edit_directory(handler, method, data):
    """The directory with "renewalInfo" (--ari) and meta.caaIdentities
    (--caa-identity) added."""
    if not (args.ari or args.caa_identity) or method != "GET" or handler.path != "/dir":
        return data
    doc = json.loads(data)
    if args.ari:
        doc["renewalInfo"] = f"https://{handler.headers['Host']}/renewalInfo"
    if args.caa_identity:
        doc.setdefault("meta", {})["caaIdentities"] = args.caa_identity
    return json.dumps(doc).encode()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        pass

    def handle_any(self, method):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.ari_body = body
        with lock:
            rule = next((r for r in rules if r.take(method, self.path)), None)
            if rule:
                with open(args.log, "a") as f:
                    f.write(f"{method} {self.path} -> {rule.status} {rule.type}\n")
        if not rule and args.ari and ari_answer(self, method):
            return
        with lock:
            fault = None
            if not rule:
                fault = next((f for f in faults if f.take(method, self.path)), None)
            if fault:
                with open(args.log, "a") as f:
                    f.write(f"{method} {self.path} -> {fault.kind}\n")
        if rule:
            doc = json.dumps({"type": "urn:ietf:params:acme:error:" + rule.type,
                              "detail": "injected by the test", "status": rule.status}).encode()
            self.send_response(rule.status)
            self.send_header("Content-Type", "application/problem+json")
            self.send_header("Content-Length", str(len(doc)))
            if rule.retry > 0:
                self.send_header("Retry-After", str(rule.retry))
            self.end_headers()
            self.wfile.write(doc)
            return
        up = urllib.parse.urlsplit(args.upstream)
        ctx = ssl.create_default_context(cafile=args.ca)
        conn = http.client.HTTPSConnection(up.hostname, up.port, context=ctx, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
        conn.request(method, self.path, body=body if method == "POST" else None, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        data = edit_directory(self, method, data)
        self.send_response(resp.status)
        for k, v in resp.getheaders():
            if k.lower() not in ("connection", "transfer-encoding", "content-length"):
                self.send_header(k, v)
        if fault and method != "HEAD":
            fault.send(self, data)
            conn.close()
            return
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(data)
        conn.close()

    def do_GET(self):
        self.handle_any("GET")

    def do_HEAD(self):
        self.handle_any("HEAD")

    def do_POST(self):
        self.handle_any("POST")


def main():
    global args
    p = argparse.ArgumentParser()
    for name in ("--listen", "--upstream", "--cert", "--key", "--ca", "--log"):
        p.add_argument(name, required=True)
    p.add_argument("--rule", action="append", default=[])
    p.add_argument("--fault", action="append", default=[])
    p.add_argument("--slow-seconds", type=float, default=20)
    p.add_argument("--slow-release")
    p.add_argument("--ari", action="store_true")
    p.add_argument("--ari-window", action="append", default=[])
    p.add_argument("--ari-default", default="2592000:2678400")
    p.add_argument("--ari-retry-after", type=int, default=21600)
    p.add_argument("--caa-identity", action="append", default=[])
    args = p.parse_args()
    args.ari_default_window = tuple(int(x) for x in args.ari_default.split(":"))
    rules.extend(Rule(r) for r in args.rule)
    faults.extend(Fault(f) for f in args.fault)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", int(args.listen)), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    open(args.log, "a").close()
    print("listening", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
