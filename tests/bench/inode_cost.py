#!/usr/bin/env python3
"""inode_cost.py — what making a file costs on the file system of DIR, and
what freeing files just before does to that cost.

    tests/bench/inode_cost.py [DIR] [N]      (DIR default /tmp, N default 2000)

Makes N empty files in a new directory under DIR and reports the system time
per creation; deletes them; makes N more there at once and reports again. On ext4
without a journal the second figure is many times the first: its inode
allocator skips, one buffer-cache lookup each, every inode freed in the last
60 s (360 s while its inode-table block is dirty), so a file costs more for
every file freed shortly before it (fs/ext4/ialloc.c, recently_deleted()).
Leaves nothing behind. Not part of scripts/bench: it measures the machine.
"""
import os
import shutil
import sys
import tempfile


def creations(d, n, tag):
    before = os.times()
    for i in range(n):
        os.close(os.open(os.path.join(d, f"{tag}{i}"), os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600))
    after = os.times()
    return 1e6 * (after.system - before.system) / n


def main():
    parent = sys.argv[1] if len(sys.argv) > 1 else "/tmp"
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    d = tempfile.mkdtemp(prefix="inode-cost.", dir=parent)
    try:
        fresh = creations(d, n, "a")
        for i in range(n):
            os.unlink(os.path.join(d, f"a{i}"))
        after_free = creations(d, n, "b")  # the same directory: the same block group
    finally:
        shutil.rmtree(d)
    print(f"{parent}: {fresh:.0f} us of system time a file made; "
          f"{after_free:.0f} us right after {n} files in its directory were freed")


if __name__ == "__main__":
    main()
