#!/usr/bin/env python3
"""Regenerate the test-only certificates of test_tls.py (needs python3-cryptography).

    cert-a.pem / key-a.pem   self-signed, ECDSA P-256, CN=uimap-test-a
    cert-b.pem / key-b.pem   self-signed, RSA 2048,    CN=uimap-test-b

Both name localhost, 127.0.0.1 and ::1, and are valid from 2000 to 2125, so that a
wrong clock does not break the tests. The keys are public test fixtures: never use
them for anything else.
"""

import datetime
import ipaddress
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HERE = os.path.dirname(os.path.abspath(__file__))


def make(name, key):
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"uimap-test-{name}")])
    san = x509.SubjectAlternativeName([
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1")),
    ])
    cert = (x509.CertificateBuilder()
            .subject_name(subject).issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc))
            .not_valid_after(datetime.datetime(2125, 1, 1, tzinfo=datetime.timezone.utc))
            .add_extension(san, critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    with open(os.path.join(HERE, f"cert-{name}.pem"), "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(os.path.join(HERE, f"key-{name}.pem"), "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM,
                                  serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))


if __name__ == "__main__":
    make("a", ec.generate_private_key(ec.SECP256R1()))
    make("b", rsa.generate_private_key(public_exponent=65537, key_size=2048))
