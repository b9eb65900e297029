"""Ed25519 keys for signed policy bundles: generating a pair, reading one, naming it by a key id.

A key id is the first 16 hex digits of the SHA-256 of the raw 32-byte public key: public, stable,
short enough for a log line, and what a bundle's signature names so a replica holding two public
keys (rotation) knows which one to check. Private keys never appear in any message: errors name
the file or the environment variable they came from, never the content.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SIGNING_KEY_ENV = "POLICYENGINE_SIGNING_KEY"


class KeyProblem(ValueError):
    """A key that cannot be read or used; the message is one line and never holds key material."""


@dataclass(frozen=True)
class PublicKey:
    """A verification key and its id."""

    key_id: str
    key: Any  # cryptography's Ed25519PublicKey

    def verify(self, signature: bytes, data: bytes) -> bool:
        """True when `signature` is this key's signature of `data`."""
        from cryptography.exceptions import InvalidSignature

        try:
            self.key.verify(signature, data)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class SigningKey:
    """A private signing key and the id of its public half (its repr never shows the key)."""

    key_id: str
    key: Any  # cryptography's Ed25519PrivateKey

    def sign(self, data: bytes) -> bytes:
        return self.key.sign(data)

    def __repr__(self) -> str:
        return f"SigningKey(key_id={self.key_id!r})"


def key_id(public_key: Any) -> str:
    """The key id of an Ed25519 public key: 16 hex digits of the SHA-256 of its raw bytes."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def generate(out: str | Path) -> tuple[Path, Path, str]:
    """Write a new key pair into the folder `out` as `<key id>.key` (PKCS#8 PEM, mode 0600) and
    `<key id>.pub` (SubjectPublicKeyInfo PEM); return both paths and the key id. Refuses to
    overwrite an existing file."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import (
        Encoding,
        NoEncryption,
        PrivateFormat,
        PublicFormat,
    )

    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    private = Ed25519PrivateKey.generate()
    kid = key_id(private.public_key())
    key_path, pub_path = folder / f"{kid}.key", folder / f"{kid}.pub"
    pem = private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    pub_path.write_bytes(private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    return key_path, pub_path, kid


def _private_from_pem(pem: bytes, where: str) -> SigningKey:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise KeyProblem(f"{where}: not an unencrypted PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyProblem(f"{where}: not an Ed25519 private key")
    return SigningKey(key_id(key.public_key()), key)


def signing_key(path: str | Path | None = None, env: str = SIGNING_KEY_ENV) -> SigningKey:
    """The signing key from a PEM file, else from the environment variable `env` (its PEM text);
    a missing or unreadable key is a KeyProblem naming where it was looked for."""
    if path is not None:
        try:
            pem = Path(path).read_bytes()
        except OSError as exc:
            raise KeyProblem(f"{path}: error: cannot read the signing key: {exc.strerror or exc}") from None
        return _private_from_pem(pem, f"{path}: error")
    value = os.environ.get(env)
    if not value:
        raise KeyProblem(f"error: no signing key: pass --signing-key FILE or set {env}")
    return _private_from_pem(value.encode("utf-8"), f"${env}: error")


def public_key(source: str | Path | Any) -> PublicKey:
    """A public key from a PEM file path (or an Ed25519PublicKey object)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    if isinstance(source, Ed25519PublicKey):
        return PublicKey(key_id(source), source)
    if isinstance(source, PublicKey):
        return source
    try:
        data = Path(source).read_bytes()
    except OSError as exc:
        raise KeyProblem(f"{source}: error: cannot read the public key: {exc.strerror or exc}") from None
    try:
        key = load_pem_public_key(data)
    except (ValueError, TypeError):
        raise KeyProblem(f"{source}: error: not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyProblem(f"{source}: error: not an Ed25519 public key")
    return PublicKey(key_id(key), key)


def public_keys(sources: Iterable[str | Path | Any]) -> dict[str, PublicKey]:
    """Public keys by key id (two during a rotation)."""
    keys = [public_key(s) for s in sources]
    return {k.key_id: k for k in keys}
