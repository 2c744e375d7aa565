#!/usr/bin/env python3
"""Synthesise what N issued zones leave behind, for case 5's idle pass and
status at 10,000 zones (10,000 real issuances do not fit the bench budget).

    synth_store.py CERTS_DIR STATE_DIR ZONES_FILE DIRECTORY_URL

For every zone in ZONES_FILE (one a line): a certificate store as
acmezone-issuer's CertStore writes it (issuer/certs/cert_store.h: .v-1 with
privkey.pem 0600, cert.pem, chain.pem, fullchain.pem; `current` -> .v-1; the
four stable names through `current`), an ECDSA P-256 leaf for exactly
{Z, *.Z} valid from an hour ago for 90 days (so not due under the default
renew-before), issued by a throwaway CA; and the zone's state file
(issuer/pass/zone_state.h) as a successful pass leaves it with a CA without
renewalInfo: last_result ok, the CA, and the certificate's ARI entry (its
certID, RFC 9773, next_poll in a day). One leaf key serves every zone (the
figures are about reading the store, not about keys).
"""
import base64
import datetime
import json
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def serial_content(n):
    """The content octets of the serial's DER INTEGER (two's complement)."""
    length = max(1, (n.bit_length() + 8) // 8)  # room for a leading 0 bit
    raw = n.to_bytes(length, "big")
    while len(raw) > 1 and raw[0] == 0 and raw[1] < 0x80:
        raw = raw[1:]
    return raw


def utc(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def write(path, data, mode=0o644):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def main():
    certs, state, zones_file, directory = sys.argv[1:5]
    zones = [z.strip() for z in open(zones_file) if z.strip()]
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "case 5 synthetic CA")])
    ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    chain_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    key_pem = leaf_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
    os.makedirs(certs, exist_ok=True)
    os.makedirs(os.path.join(state, "zones"), mode=0o700, exist_ok=True)
    for zone in zones:
        serial = x509.random_serial_number()
        leaf = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, zone)]))
            .issuer_name(ca_name)
            .public_key(leaf_key.public_key())
            .serial_number(serial)
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=90))
            .add_extension(
                x509.SubjectAlternativeName([x509.DNSName(zone), x509.DNSName("*." + zone)]),
                critical=False,
            )
            .add_extension(aki, critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        cert_pem = leaf.public_bytes(serialization.Encoding.PEM)
        zdir = os.path.join(certs, zone)
        vdir = os.path.join(zdir, ".v-1")
        os.makedirs(vdir)
        write(os.path.join(vdir, "privkey.pem"), key_pem, 0o600)
        write(os.path.join(vdir, "cert.pem"), cert_pem)
        write(os.path.join(vdir, "chain.pem"), chain_pem)
        write(os.path.join(vdir, "fullchain.pem"), cert_pem + chain_pem)
        os.symlink(".v-1", os.path.join(zdir, "current"))
        for f in ("privkey.pem", "cert.pem", "chain.pem", "fullchain.pem"):
            os.symlink("current/" + f, os.path.join(zdir, f))
        cert_id = b64url(ski.digest) + "." + b64url(serial_content(serial))
        doc = {
            "last_attempt": utc(now - datetime.timedelta(hours=1)),
            "last_result": "ok",
            "last_success": utc(now - datetime.timedelta(hours=1)),
            "failures": 0,
            "ca": directory,
            "ari": [
                {
                    "cert_id": cert_id,
                    "directory": directory,
                    "next_poll": utc(now + datetime.timedelta(days=1)),
                }
            ],
        }
        write(
            os.path.join(state, "zones", zone + ".json"),
            (json.dumps(doc, indent=3) + "\n").encode(),
            0o600,
        )


if __name__ == "__main__":
    main()
