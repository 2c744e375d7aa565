#!/usr/bin/env python3
"""Bench case 6's fleet: N `acmezone-fetch --watch` processes, each with its
own fetch.conf (its own client certificate and target), and the time each one
installs a version (to the millisecond: acmezone-fetch's log lines carry no
time, so every line is stamped here as it arrives on the process's stderr).

    fleet_watch.py FETCH_BINARY ZONE OUT_FILE TIMEOUT_S CONF...

Writes lines to OUT_FILE (appended, flushed at once) for case6_serve.sh:
    ready T              every process installed its first version (T: epoch s)
    converged T_LAST     every process installed a second version; T_LAST is
                         the time of the last of those installs
    timeout WHAT         TIMEOUT_S passed first (WHAT: how many got there)
    exited HOST RC LINE  a fetcher exited (with its last log line)
Ends after `converged` or `timeout`, or on SIGTERM; then it stops every
fetcher (SIGTERM, then SIGKILL after 10 s). Every wait is bounded.
"""
import os
import re
import selectors
import signal
import subprocess
import sys
import time


def main():
    fetch, zone, out_path, timeout = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    confs = sys.argv[5:]
    # "acmezone: info: ZONE: installed version N from ..."
    installed = re.compile(r": " + re.escape(zone) + r": installed version (\d+) ")
    out = open(out_path, "a", buffering=1)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    sel = selectors.DefaultSelector()
    procs = {}
    installs = {}  # host -> [(version, time)]
    last_line = {}
    for conf in confs:
        host = os.path.basename(os.path.dirname(conf))
        p = subprocess.Popen([fetch, "--config", conf, "--watch"], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        procs[host] = p
        installs[host] = []
        sel.register(p.stderr, selectors.EVENT_READ, host)
    buffers = {h: b"" for h in procs}
    deadline = time.monotonic() + timeout
    ready = False
    try:
        while not stop:
            left = deadline - time.monotonic()
            if left <= 0:
                got = sum(1 for v in installs.values() if len(v) >= (2 if ready else 1))
                out.write(f"timeout {got} of {len(procs)} fetchers installed "
                          f"{'a second' if ready else 'a first'} version\n")
                return
            for key, _ in sel.select(timeout=min(left, 0.5)):
                host = key.data
                chunk = os.read(key.fileobj.fileno(), 65536)
                now = time.time()
                if not chunk:
                    sel.unregister(key.fileobj)
                    rc = procs[host].wait(timeout=10)
                    out.write(f"exited {host} {rc} {last_line.get(host, '')}\n")
                    continue
                buffers[host] += chunk
                *lines, buffers[host] = buffers[host].split(b"\n")
                for line in lines:
                    text = line.decode(errors="replace")
                    last_line[host] = text[:200]
                    m = installed.search(text)
                    if m:
                        installs[host].append((int(m.group(1)), now))
            if not ready and all(len(v) >= 1 for v in installs.values()):
                ready = True
                out.write(f"ready {time.time():.3f}\n")
            if ready and all(len(v) >= 2 for v in installs.values()):
                last = max(v[1][1] for v in installs.values())
                out.write(f"converged {last:.3f}\n")
                return
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.terminate()
        end = time.monotonic() + 10
        for p in procs.values():
            try:
                p.wait(timeout=max(0.1, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


if __name__ == "__main__":
    main()
