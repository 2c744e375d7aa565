#!/usr/bin/env python3
"""check_sync_order.py LOG MIN_UPDATES: reads the events sync_order_shim.so
recorded in named (see its header) and checks that every acknowledged UPDATE
(an answer with opcode UPDATE and rcode NOERROR on the control socket) left
only after bytes were written to a state file after its request arrived AND
that same file was then synced (fsync/fdatasync, or written with O_DSYNC),
both before the answer's send began. Fails when fewer than MIN_UPDATES
acknowledged UPDATEs are seen (the shim saw nothing: the check would pass
vacuously). Exit 0 when all hold, 1 naming each answer that broke it."""
import sys

UPDATE = 5


def main():
    path, min_updates = sys.argv[1], int(sys.argv[2])
    events = []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3:
                events.append((int(parts[0]), parts[1], int(parts[2]), parts[3:]))
    events.sort()
    pending = {}  # (fd, id) -> seq of the request's arrival
    writes = []  # (seq, fd) of writes to state files
    syncs = []  # (seq, fd)
    acked = 0
    bad = []
    for seq, kind, fd, rest in events:
        if kind == "recv" and int(rest[1]) == UPDATE:
            pending[(fd, int(rest[0]))] = seq
        elif kind == "write":
            writes.append((seq, fd))
        elif kind == "sync":
            syncs.append((seq, fd))
        elif kind == "send" and int(rest[1]) == UPDATE and int(rest[2]) == 0:
            acked += 1
            arrived = pending.pop((fd, int(rest[0])), None)
            if arrived is None:
                bad.append(f"answer #{seq} (id {rest[0]}): no request with that id seen on fd {fd}")
                continue
            durable = any(
                w_seq > arrived and any(s_fd == w_fd and w_seq < s_seq < seq for s_seq, s_fd in syncs)
                for w_seq, w_fd in writes
                if w_seq < seq
            )
            if not durable:
                written = [w for w in writes if arrived < w[0] < seq]
                synced = [s for s in syncs if arrived < s[0] < seq]
                later = [s for s in syncs if s[0] > seq][:1]
                bad.append(
                    f"answer #{seq} (id {rest[0]}, request #{arrived}) left before its bytes were "
                    f"synced: writes in between {written}, syncs in between {synced}, "
                    f"next sync after it {later}"
                )
    print(f"check_sync_order: {acked} acknowledged UPDATEs, {len(writes)} state writes, "
          f"{len(syncs)} syncs")
    if acked < min_updates:
        print(f"FAIL: expected at least {min_updates} acknowledged UPDATEs in {path}")
        return 1
    for b in bad[:20]:
        print("FAIL:", b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
