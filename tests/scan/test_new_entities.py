"""Entity types Presidio lacks (issue 12): IMEI, crypto wallets, credentials, passports. Each is
validated or header-gated; each case has a look-alike that must stay untagged."""

from __future__ import annotations

import hashlib
import random
import string
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from policyengine.catalog.taxonomy import builtin_taxonomy
from policyengine.scan import scan_paths
from policyengine.scan.validators import btc_ok, imei_ok, luhn_ok, passport_ok, secret_ok

rng = random.Random(21)
N = 80
B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def scan_table(tmp_path: Path, columns: dict[str, list]) -> dict[str, set[str]]:
    path = tmp_path / "t.parquet"
    pq.write_table(pa.table(columns), path)
    return {c["column"]: set(c["entities"]) for c in scan_paths([path], model="none").columns}


def imei() -> str:
    body = "35" + "".join(rng.choice(string.digits) for _ in range(12))
    return next(body + c for c in string.digits if luhn_ok(body + c))


def b58check(version: int) -> str:
    raw = bytes([version]) + rng.randbytes(20)
    raw += hashlib.sha256(hashlib.sha256(raw).digest()).digest()[:4]
    n, out = int.from_bytes(raw, "big"), ""
    while n:
        n, r = divmod(n, 58)
        out = B58[r] + out
    return "1" * (len(raw) - len(raw.lstrip(b"\0"))) + out


def bech32(hrp: str = "bc") -> str:
    def polymod(values: list[int]) -> int:
        gen = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
        chk = 1
        for v in values:
            top = chk >> 25
            chk = (chk & 0x1FFFFFF) << 5 ^ v
            for i in range(5):
                chk ^= gen[i] if (top >> i) & 1 else 0
        return chk

    data = [0] + [rng.randrange(32) for _ in range(32)]
    values = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp] + data
    mod = polymod(values + [0] * 6) ^ 1
    return hrp + "1" + "".join(BECH32[d] for d in data + [(mod >> 5 * (5 - i)) & 31 for i in range(6)])


def test_validators() -> None:
    assert btc_ok("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa") and not btc_ok("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb")
    assert btc_ok(bech32()) and btc_ok(b58check(5)) and not btc_ok("bc1" + "q" * 39)
    assert imei_ok("490154203237518") and not imei_ok("490154203237519") and not imei_ok("111111111111111")
    assert secret_ok("AKIA2Q3LZ7WXYV4MNB6T") and not secret_ok("AKIAXXXXXXXXXXXXXXXX") and not secret_ok("AKIAIOSFODNN7EXAMPLE")
    assert passport_ok("C01X00T47") and passport_ok("533380006") and not passport_ok("AAAAAAAAA") and not passport_ok("ABCDEFG")


def test_every_new_entity_has_a_tag() -> None:
    tax = builtin_taxonomy()
    assert tax.tag_for_entity("IMEI") == "pii.device_id"
    assert tax.tag_for_entity("CRYPTO") == "pii.crypto_wallet"
    assert tax.tag_for_entity("CREDENTIAL") == "confidential.credential"
    assert tax.tag_for_entity("PASSPORT") == "pii.national_id"


def test_imei_needs_its_header(tmp_path: Path) -> None:
    values = [imei() for _ in range(N)]
    ints = [int(v) for v in values]
    got = scan_table(tmp_path, {"imei": values, "device_imei": ints, "c01": values})
    assert got == {"imei": {"IMEI"}, "device_imei": {"IMEI"}, "c01": set()}


def test_bitcoin_addresses_by_checksum(tmp_path: Path) -> None:
    good = [rng.choice([b58check(0), b58check(5), bech32()]) for _ in range(N)]
    bad = [v[:-1] + ("2" if v[-1] != "2" else "3") for v in good]  # same shape, checksum broken
    got = scan_table(tmp_path, {"payout": good, "ref": bad})
    assert got == {"payout": {"CRYPTO"}, "ref": set()}


def test_ethereum_addresses_need_a_wallet_header(tmp_path: Path) -> None:
    values = ["0x" + "".join(rng.choice("0123456789abcdef") for _ in range(40)) for _ in range(N)]
    got = scan_table(tmp_path, {"wallet_address": values, "tx_hash": values, "c02": values})
    assert got == {"wallet_address": {"CRYPTO"}, "tx_hash": set(), "c02": set()}


def aws_key() -> str:
    return "AKIA" + "".join(rng.choice(string.ascii_uppercase + "234567") for _ in range(16))


def test_cloud_keys_and_tokens(tmp_path: Path) -> None:
    keys = [aws_key() for _ in range(N)]
    tokens = ["ghp_" + "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(36)) for _ in range(N)]
    placeholders = [["AKIA" + "X" * 16, "AKIA" + "A" * 16, "AKIAIOSFODNN7EXAMPLE"][i % 3] for i in range(N)]
    got = scan_table(tmp_path, {"c03": keys, "c04": tokens, "c05": placeholders})
    assert got == {"c03": {"CREDENTIAL"}, "c04": {"CREDENTIAL"}, "c05": set()}


def test_private_key_blocks_in_text(tmp_path: Path) -> None:
    body = lambda: "".join(rng.choice(string.ascii_letters + string.digits + "+/") for _ in range(64))  # noqa: E731
    values = [f"-----BEGIN {rng.choice(['RSA ', 'EC ', 'OPENSSH ', ''])}PRIVATE KEY-----\n{body()}\n{body()}\n-----END PRIVATE KEY-----"
              if i % 4 == 0 else f"deploy note {i}: rotated the staging certificate and restarted the proxy" for i in range(N)]
    public = [f"-----BEGIN PUBLIC KEY-----\n{body()}\n-----END PUBLIC KEY-----" for _ in range(N)]
    got = scan_table(tmp_path, {"notes": values, "public_key": public})
    assert got == {"notes": {"CREDENTIAL"}, "public_key": set()}


def test_password_columns_by_name(tmp_path: Path) -> None:
    secrets = ["".join(rng.choice(string.ascii_letters + string.digits + "!$%") for _ in range(12)) for _ in range(N)]
    got = scan_table(tmp_path, {
        "password": secrets, "Passwort": secrets, "pwd": secrets,
        "password_reset": [rng.choice(["yes", "no"]) for _ in range(N)],
        "comment": secrets,
    })
    assert got == {"password": {"CREDENTIAL"}, "Passwort": {"CREDENTIAL"}, "pwd": {"CREDENTIAL"},
                   "password_reset": set(), "comment": set()}


def test_passport_numbers_need_their_header(tmp_path: Path) -> None:
    mixed = [rng.choice(string.ascii_uppercase) + "".join(rng.choice(string.digits + "CFGHJKLMNPRTVWXYZ") for _ in range(8))
             for _ in range(N)]
    mixed = [v if sum(c.isdigit() for c in v) >= 5 else v[:1] + "12345" + v[6:] for v in mixed]
    nine = [str(rng.randint(100_000_000, 999_999_999)) for _ in range(N)]
    got = scan_table(tmp_path, {"passport_no": mixed, "Reisepass": nine, "c06": mixed, "batch": nine})
    assert got == {"passport_no": {"PASSPORT"}, "Reisepass": {"PASSPORT"}, "c06": set(), "batch": set()}
