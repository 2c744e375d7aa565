#!/usr/bin/env python3
"""Seeds of fuzz_catalog_zone: AXFR answer messages of the catalog
catalog.example, written by hand in wire form (no library needed):
    tests/fuzz/make_catalog_seeds.py tests/fuzz/corpus/fuzz_catalog_zone"""
import struct
import sys
from pathlib import Path

TYPES = {"SOA": 6, "NS": 2, "PTR": 12, "TXT": 16, "A": 1}


def name(text):
    out = b""
    for label in text.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def rdata(rtype, value):
    if rtype in ("PTR", "NS"):
        return name(value)
    if rtype == "TXT":
        return bytes([len(value)]) + value.encode()
    if rtype == "A":
        return bytes(int(x) for x in value.split("."))
    mname, rname, serial, refresh, retry, expire, minimum = value.split()
    return name(mname) + name(rname) + struct.pack(
        "!IIIII", *(int(x) for x in (serial, refresh, retry, expire, minimum)))


def message(records):
    out = struct.pack("!HHHHHH", 0x1234, 0x8400, 1, len(records), 0, 0)
    out += name("catalog.example") + struct.pack("!HH", 252, 1)
    for owner, rtype, value in records:
        data = rdata(rtype, value)
        out += name(owner) + struct.pack("!HHIH", TYPES[rtype], 1, 0, len(data)) + data
    return out


SOA = ("catalog.example", "SOA", "invalid. invalid. 7 3600 600 86400 0")
HEAD = [SOA, ("catalog.example", "NS", "invalid."), ("version.catalog.example", "TXT", "2")]
SEEDS = {
    "good.bin": HEAD + [
        ("m1.zones.catalog.example", "PTR", "example.com"),
        ("group.m1.zones.catalog.example", "TXT", "web"),
        ("m2.zones.catalog.example", "PTR", "example.net"),
        ("coo.m2.zones.catalog.example", "PTR", "other.example"),
        ("x.ext.catalog.example", "PTR", "custom.example"),
        ("odd.m2.zones.catalog.example", "A", "192.0.2.1"),
        SOA],
    "empty.bin": HEAD + [SOA],
    "version1.bin": [SOA, ("version.catalog.example", "TXT", "1"), SOA],
    "duplicate.bin": HEAD + [("a.zones.catalog.example", "PTR", "example.com"),
                             ("b.zones.catalog.example", "PTR", "example.com"), SOA],
    "outside.bin": HEAD + [("m1.elsewhere.catalog.example", "PTR", "example.com"), SOA],
}

directory = Path(sys.argv[1])
for file_name, records in SEEDS.items():
    (directory / file_name).write_bytes(message(records))
