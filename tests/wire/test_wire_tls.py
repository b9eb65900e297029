"""TLS over the wire: SSLRequest answered 'S' and a real handshake with the configured
certificate, `sslmode=require`/`verify-full` with psycopg and psql, client certificates (verified
against the configured CA; the CN is the login only when `cert_login` is set), a login in clear
refused when TLS is required, and bytes sent in clear after SSLRequest refused (CVE-2021-23214).
The certificates are made at test time with `cryptography` (no network, no files kept)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import shutil
import socket
import ssl
import struct
import subprocess
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from policyengine.wire.credentials import make_verifier
from policyengine.wire.server import settings_from
from policyengine.wire.tls import TlsSettings
from tests.wire.conftest import TRUST, error_code, read_messages, start, startup


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _issue(folder: Path, stem: str, cn: str, issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
           *, ca: bool = False, server: bool = False) -> tuple[x509.Name, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    issuer_name, issuer_key = issuer if issuer else (_name(cn), key)
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(issuer_name)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if server:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
    cert = builder.sign(issuer_key, hashes.SHA256())
    (folder / f"{stem}.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / f"{stem}.key").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                           serialization.PrivateFormat.PKCS8,
                                                           serialization.NoEncryption()))
    os.chmod(folder / f"{stem}.key", 0o600)  # libpq refuses a client key others can read
    return _name(cn), key


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("tls")
    ca = _issue(folder, "ca", "policyengine test CA", None, ca=True)
    _issue(folder, "server", "localhost", ca, server=True)
    _issue(folder, "bob", "bob", ca)
    _issue(folder, "rogue-bob", "bob", None)  # self-signed: names bob, signed by nobody trusted
    return folder


def _tls(certs: Path, **changes) -> TlsSettings:
    return TlsSettings(cert=str(certs / "server.crt"), key=str(certs / "server.key"), **changes)


@pytest.fixture(scope="module")
def tls_server(wire_gateway, certs):
    # SCRAM with carol's password only: bob can log in by his client certificate alone
    settings = replace(TRUST, auth="scram-sha-256", auth_failure_delay=0.01,
                       tls=_tls(certs, ca=str(certs / "ca.crt"), required=True, cert_login=True))
    yield from start(wire_gateway, settings, credentials={"carol": make_verifier("carol-pw")})


@pytest.fixture(scope="module")
def tls_trust(wire_gateway, certs):
    settings = replace(TRUST, tls=_tls(certs))
    yield from start(wire_gateway, settings)


def test_ssl_request_answered_s_and_a_handshake(tls_trust, certs) -> None:
    sock = socket.create_connection(("127.0.0.1", tls_trust.port), timeout=10)
    sock.sendall(struct.pack("!ii", 8, 80877103))
    assert sock.recv(1) == b"S"
    context = ssl.create_default_context(cafile=str(certs / "ca.crt"))
    with context.wrap_socket(sock, server_hostname="localhost") as tls:
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
        tls.sendall(startup())
        assert [k for k, _ in read_messages(tls)][-1] == b"Z"


def test_gssenc_request_answered_n(tls_trust) -> None:
    sock = socket.create_connection(("127.0.0.1", tls_trust.port), timeout=10)
    sock.sendall(struct.pack("!ii", 8, 80877104))
    assert sock.recv(1) == b"N"
    sock.close()


@pytest.mark.parametrize("mode", ["require", "verify-full"])
def test_psycopg_sslmode(tls_trust, certs, mode: str) -> None:
    with psycopg.connect(f"{tls_trust.dsn()} sslmode={mode} sslrootcert={certs / 'ca.crt'}",
                         autocommit=True) as conn:
        assert conn.pgconn.ssl_in_use
        rows = conn.execute("SELECT customer_email FROM sales.orders LIMIT 3").fetchall()
    assert rows and all(email.startswith("***@") for (email,) in rows)


def test_plaintext_still_allowed_when_not_required(tls_trust) -> None:
    with psycopg.connect(tls_trust.dsn() + " sslmode=disable", autocommit=True) as conn:
        assert not conn.pgconn.ssl_in_use


def test_plaintext_login_refused_when_tls_required(tls_server) -> None:
    with pytest.raises(psycopg.OperationalError, match="requires TLS"):
        psycopg.connect(tls_server.dsn() + " sslmode=disable")


def test_client_certificate_is_the_login(tls_server, certs) -> None:
    cert = f"sslcert={certs / 'bob.crt'} sslkey={certs / 'bob.key'} sslrootcert={certs / 'ca.crt'}"
    with psycopg.connect(f"{tls_server.dsn('bob')} sslmode=verify-full {cert}", autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM sales.orders").fetchone()[0] > 0
    # bob's certificate does not log in carol
    with pytest.raises(psycopg.OperationalError, match="certificate authentication failed"):
        psycopg.connect(f"{tls_server.dsn('carol')} sslmode=require {cert}")


def test_scram_over_tls(tls_server, certs) -> None:
    with psycopg.connect(f"{tls_server.dsn('carol')} sslmode=verify-full sslrootcert={certs / 'ca.crt'} "
                         "password=carol-pw", autocommit=True) as conn:
        assert conn.pgconn.ssl_in_use and conn.execute("SELECT count(*) FROM sales.orders").fetchone()[0] > 0


def test_untrusted_certificate_is_refused(tls_server, certs) -> None:
    rogue = f"sslcert={certs / 'rogue-bob.crt'} sslkey={certs / 'rogue-bob.key'}"
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(f"{tls_server.dsn('bob')} sslmode=require {rogue}")


def test_no_certificate_falls_back_to_the_password(tls_server) -> None:
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(f"{tls_server.dsn('bob')} sslmode=require password=guess")


def test_cleartext_bytes_after_ssl_request_are_refused(tls_trust) -> None:
    """A startup packet sent in clear right behind SSLRequest must not be read as if it had
    come through TLS (a man in the middle could inject it)."""
    sock = socket.create_connection(("127.0.0.1", tls_trust.port), timeout=10)
    sock.sendall(struct.pack("!ii", 8, 80877103) + startup())
    reply = sock.recv(1 << 16)
    sock.close()
    assert reply[:1] == b"E" and error_code(reply[5:]) == "08P01"


def test_psql_sslmode_require(tls_trust) -> None:
    psql = shutil.which("psql")
    if psql is None:
        if os.environ.get("CI") == "true":
            pytest.fail("psql is missing (Debian's postgresql-client; .ci/run installs it)")
        pytest.skip("psql not installed (apt-get install postgresql-client)")
    out = subprocess.run([psql, f"host=127.0.0.1 port={tls_trust.port} user=bob dbname=mesh sslmode=require",
                          "-X", "-A", "-t", "-c", "SELECT count(*) FROM sales.orders"],
                         capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0 and int(out.stdout.strip()) > 0, out.stderr


@pytest.mark.parametrize(("section", "message"), [
    ({"cert": "a.crt"}, "needs both 'cert' and 'key'"),
    ({"cert": "a", "key": "b", "required": "yes"}, "'gateway.tls.required' must be a boolean"),
    ({"cert": "a", "key": "b", "cert_login": True}, "needs 'gateway.tls.ca'"),
    ({"cert": "a", "key": "b", "ciphers": "x"}, "unknown key 'gateway.tls.ciphers'"),
    ("on", "must be a mapping"),
])
def test_bad_tls_settings_name_the_key(section, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        settings_from({"tls": section})


def test_unreadable_certificate_is_one_line(tmp_path) -> None:
    from policyengine.wire.tls import TlsError, server_context

    (tmp_path / "x.crt").write_text("not a certificate")
    with pytest.raises(TlsError, match="cannot load the certificate") as info:
        server_context(TlsSettings(cert=str(tmp_path / "x.crt"), key=str(tmp_path / "x.key")))
    assert "\n" not in str(info.value)
