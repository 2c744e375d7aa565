#!/usr/bin/env python3
"""Client certificates for bench case 6's fleet, in one process (200 `openssl
req` + `openssl ca` runs take a minute on a busy 2-core machine):

    fleet_certs.py CA_DIR OUT_DIR N

For i in 1..N: OUT_DIR/fleet<i>.bench.test.key (P-256, 0600 from the first
byte) and .pem, signed by CA_DIR/ca.pem and ca.key (pki_lib.sh's az_make_ca),
with what az_client_ext gives: subjectAltName DNS:fleet<i>.bench.test and
extendedKeyUsage clientAuth; CN the same name; valid from an hour ago for 2 days.
"""
import datetime
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def main():
    ca_dir, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    ca_cert = x509.load_pem_x509_certificate(open(os.path.join(ca_dir, "ca.pem"), "rb").read())
    ca_key = serialization.load_pem_private_key(
        open(os.path.join(ca_dir, "ca.key"), "rb").read(), password=None)
    now = datetime.datetime.now(datetime.timezone.utc)
    for i in range(1, n + 1):
        name = f"fleet{i}.bench.test"
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        fd = os.open(os.path.join(out, name + ".key"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM,
                                      serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        with open(os.path.join(out, name + ".pem"), "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))


if __name__ == "__main__":
    main()
