"""SCRAM-SHA-256 logins against the credential store, with libpq (psycopg) as the client; the
store's file format and `policyengine gateway passwd`. Attacks: a wrong password, an unknown
login (answered exactly like a wrong password), a replayed or tampered exchange."""

from __future__ import annotations

import base64
import hashlib
import hmac
import stat
from dataclasses import replace
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from policyengine.cli import app
from policyengine.wire.credentials import (
    CredentialError,
    ScramExchange,
    ScramFailure,
    load_credentials,
    make_verifier,
    parse_credentials,
    set_password,
)
from tests.wire.conftest import TRUST, start

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("creds") / "gateway-credentials"
    set_password(path, "bob", make_verifier("s3cret-bob"))
    set_password(path, "mallory", make_verifier("mallory-pw"))  # has a password, is no consumer
    return path


@pytest.fixture(scope="module")
def scram(wire_gateway, store):
    settings = replace(TRUST, auth="scram-sha-256", credentials=str(store), auth_failure_delay=0.05)
    yield from start(wire_gateway, settings, load_credentials(store))


def test_right_password_logs_in(scram) -> None:
    with psycopg.connect(scram.dsn() + " password=s3cret-bob", autocommit=True) as conn:
        rows = conn.execute("SELECT customer_email FROM sales.orders").fetchall()
    assert rows and all(e.startswith("***@") for (e,) in rows)


@pytest.mark.parametrize(("user", "password"), [("bob", "wrong"), ("bob", "S3CRET-BOB"), ("nobody", "s3cret-bob")])
def test_wrong_password_and_unknown_login_look_the_same(scram, user: str, password: str) -> None:
    with pytest.raises(psycopg.OperationalError) as info:
        psycopg.connect(scram.dsn(user) + f" password='{password}'")
    assert f'password authentication failed for user "{user}"' in str(info.value)


def test_password_without_consumer_is_refused(scram) -> None:
    with pytest.raises(psycopg.OperationalError, match='role "mallory" is not a known consumer'):
        psycopg.connect(scram.dsn("mallory") + " password=mallory-pw")


def _client_final(exchange: ScramExchange, password: str, first_bare: str, server_first: str,
                  header: str = "n,,") -> str:
    attrs = dict(a.split("=", 1) for a in server_first.split(","))
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(attrs["s"]), int(attrs["i"]))
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    without = f"c={base64.b64encode(header.encode()).decode()},r={attrs['r']}"
    auth = f"{first_bare},{server_first},{without}".encode()
    signature = hmac.new(hashlib.sha256(client_key).digest(), auth, hashlib.sha256).digest()
    proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
    return f"{without},p={base64.b64encode(proof).decode()}"


def test_scram_exchange_checks_proof_nonce_and_binding() -> None:
    verifier = make_verifier("pw")
    good = ScramExchange(verifier)
    first = good.server_first_message("n,,n=,r=clientnonce")
    assert good.server_final_message(_client_final(good, "pw", "n=,r=clientnonce", first)).startswith("v=")
    wrong = ScramExchange(verifier)
    first = wrong.server_first_message("n,,n=,r=clientnonce")
    with pytest.raises(ScramFailure):
        wrong.server_final_message(_client_final(wrong, "nope", "n=,r=clientnonce", first))
    replay = ScramExchange(verifier)  # a recorded final message against a new server nonce
    replay.server_first_message("n,,n=,r=clientnonce")
    with pytest.raises(ScramFailure):
        replay.server_final_message(_client_final(good, "pw", "n=,r=clientnonce", first))
    for bad in ("p=tls-server-end-point,,n=,r=x", "n,a=admin,n=,r=x", "n,,r=x", "n,,n=,r=", "garbage"):
        with pytest.raises(ScramFailure):
            ScramExchange(verifier).server_first_message(bad)


def test_store_holds_verifiers_not_passwords(store) -> None:
    text = store.read_text(encoding="utf-8")
    assert "s3cret-bob" not in text and "SCRAM-SHA-256$4096:" in text
    assert stat.S_IMODE(store.stat().st_mode) == 0o600


@pytest.mark.parametrize("line", ["bob plaintext", "bob SCRAM-SHA-256$4096:!!$a:b", "bob md5abc",
                                  "bob SCRAM-SHA-256$10:c2FsdA==$" + "A" * 44 + ":" + "A" * 44])
def test_malformed_store_is_a_located_error(line: str) -> None:
    with pytest.raises(CredentialError, match=r"^creds:2:1: error") as info:
        parse_credentials("# comment\n" + line, "creds")
    assert "plaintext" not in str(info.value) and "md5abc" not in str(info.value)


def test_passwd_command_writes_a_verifier(tmp_path: Path) -> None:
    path = tmp_path / "creds"
    runner = CliRunner()
    config = tmp_path / "policyengine.yaml"
    config.write_text(f"policies: {ROOT}/policies/\ncatalog: {ROOT}/examples/mesh/products/\n"
                      f"consumers: {ROOT}/examples/mesh/consumers.yaml\ngateway:\n  auth: scram-sha-256\n"
                      "  credentials: creds\n", encoding="utf-8")
    result = runner.invoke(app, ["gateway", "passwd", "carol", "--password-stdin", "--config", str(config)],
                           input="carol-pw\n")
    assert result.exit_code == 0, result.output
    assert set(load_credentials(path)) == {"carol"} and "carol-pw" not in path.read_text(encoding="utf-8")
    again = runner.invoke(app, ["gateway", "passwd", "carol", "--password-stdin", "--config", str(config)],
                          input="other\n")
    assert again.exit_code == 0 and len(path.read_text(encoding="utf-8").splitlines()) == 2  # replaced
    bad = runner.invoke(app, ["gateway", "passwd", "bad name", "--password-stdin", "--config", str(config)],
                        input="x\n")
    assert bad.exit_code == 2 and "Traceback" not in bad.output
