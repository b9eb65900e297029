"""The gateway's credential store: one SCRAM-SHA-256 verifier per login, never a password.

The file holds lines `login SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` (base64,
the form PostgreSQL keeps in pg_authid), `#` comments and blank lines. `policyengine gateway
passwd LOGIN` writes one. A verifier lets the server check a SCRAM exchange; it does not give
the password back (it can still be attacked offline by guessing, so the file is written 0600).
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass
from pathlib import Path

ITERATIONS = 4096  # PostgreSQL's default scram_iterations
_LOGIN = re.compile(r"^[A-Za-z0-9_.@-]{1,63}$")
_VERIFIER = re.compile(r"^SCRAM-SHA-256\$(\d{1,7}):([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$")


class CredentialError(ValueError):
    """A malformed credential file or login; the message gives file:line, never a verifier."""


@dataclass(frozen=True)
class Verifier:
    """What SCRAM needs to check a password: salt, StoredKey, ServerKey and the iteration count."""

    salt: bytes
    stored_key: bytes
    server_key: bytes
    iterations: int

    def text(self) -> str:
        salt, stored, server = (base64.b64encode(b).decode("ascii")
                                for b in (self.salt, self.stored_key, self.server_key))
        return f"SCRAM-SHA-256${self.iterations}:{salt}${stored}:{server}"


def make_verifier(password: str, iterations: int = ITERATIONS) -> Verifier:
    """A fresh verifier (random salt) for `password`."""
    from scramp import ScramMechanism

    if not password:
        raise CredentialError("the password is empty")
    salt, stored, server, count = ScramMechanism().make_auth_info(password, iteration_count=iterations)
    return Verifier(bytes(salt), bytes(stored), bytes(server), int(count))


def check_login(login: str) -> str:
    if not _LOGIN.match(login):
        raise CredentialError(f"login {login!r} must be 1-63 letters, digits, '_', '.', '@' or '-'")
    return login


def parse_credentials(text: str, source: str) -> dict[str, Verifier]:
    found: dict[str, Verifier] = {}
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        login, _, verifier = stripped.partition(" ")
        match = _VERIFIER.match(verifier.strip())
        if not _LOGIN.match(login) or match is None:
            raise CredentialError(f"{source}:{number}:1: error: expected 'LOGIN SCRAM-SHA-256$...' "
                                  "(write entries with `policyengine gateway passwd LOGIN`)")
        if login in found:
            raise CredentialError(f"{source}:{number}:1: error: login {login!r} appears twice")
        try:
            salt, stored, server = (base64.b64decode(match.group(i), validate=True) for i in (2, 3, 4))
        except (binascii.Error, ValueError):
            raise CredentialError(f"{source}:{number}:1: error: the verifier of {login!r} is not base64") from None
        if len(stored) != 32 or len(server) != 32 or int(match.group(1)) < ITERATIONS:
            raise CredentialError(f"{source}:{number}:1: error: the verifier of {login!r} is not SCRAM-SHA-256 "
                                  f"with at least {ITERATIONS} iterations")
        found[login] = Verifier(salt, stored, server, int(match.group(1)))
    return found


def load_credentials(path: Path) -> dict[str, Verifier]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CredentialError(f"{path}: error: the credential file does not exist "
                              "(create it with `policyengine gateway passwd LOGIN`)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CredentialError(f"{path}: error: cannot read the credential file ({type(exc).__name__})") from None
    return parse_credentials(text, str(path))


def set_password(path: Path, login: str, verifier: Verifier) -> None:
    """Add or replace `login`'s verifier, keeping the other lines; written atomically, mode 0600."""
    check_login(login)
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else [
        "# policyengine gateway credentials: LOGIN SCRAM-SHA-256 verifier (policyengine gateway passwd)"]
    if path.exists():
        parse_credentials("\n".join(lines), str(path))  # refuse to rewrite a file we cannot read
    entry = f"{login} {verifier.text()}"
    kept = [line for line in lines if line.strip().partition(" ")[0] != login]
    kept.append(entry)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write("\n".join(kept) + "\n")
    os.replace(tmp, path)


class ScramFailure(Exception):
    """The exchange failed (malformed message, wrong nonce or proof); the login is refused."""


class ScramExchange:
    """The server side of one SCRAM-SHA-256 exchange (RFC 5802/7677, no channel binding).

    Written here rather than taken from scramp's server: libpq sends an empty user name in its
    client-first message (the login is in the startup packet), which scramp's server refuses."""

    def __init__(self, verifier: Verifier) -> None:
        self.verifier = verifier
        self.nonce = ""
        self.first_bare = ""
        self.server_first = ""
        self.header = ""

    def server_first_message(self, client_first: str) -> str:
        header, sep, bare = client_first.partition(",")
        authzid, sep2, bare = bare.partition(",")
        if not (sep and sep2) or header not in ("n", "y") or authzid:
            raise ScramFailure("channel binding and authorisation identities are not supported")
        attributes = bare.split(",")
        if len(attributes) < 2 or not attributes[0].startswith("n=") or not attributes[1].startswith("r="):
            raise ScramFailure("malformed client-first message")
        client_nonce = attributes[1][2:]
        if not client_nonce or not all(0x21 <= ord(ch) <= 0x7E and ch != "," for ch in client_nonce):
            raise ScramFailure("malformed client nonce")
        self.header, self.first_bare = f"{header},,", bare
        self.nonce = client_nonce + base64.b64encode(os.urandom(18)).decode("ascii")
        salt = base64.b64encode(self.verifier.salt).decode("ascii")
        self.server_first = f"r={self.nonce},s={salt},i={self.verifier.iterations}"
        return self.server_first

    def server_final_message(self, client_final: str) -> str:
        """The server's signature if the client's proof is right, else ScramFailure."""
        import hashlib
        import hmac

        without_proof, sep, proof_text = client_final.rpartition(",p=")
        attributes = without_proof.split(",")
        if not sep or len(attributes) < 2 or not attributes[0].startswith("c=") \
                or not attributes[1].startswith("r="):
            raise ScramFailure("malformed client-final message")
        try:
            binding = base64.b64decode(attributes[0][2:], validate=True)
            proof = base64.b64decode(proof_text, validate=True)
        except (binascii.Error, ValueError):
            raise ScramFailure("malformed client-final message") from None
        if binding != self.header.encode("ascii") or attributes[1][2:] != self.nonce or len(proof) != 32:
            raise ScramFailure("channel binding or nonce mismatch")
        auth_message = f"{self.first_bare},{self.server_first},{without_proof}".encode()
        signature = hmac.new(self.verifier.stored_key, auth_message, hashlib.sha256).digest()
        client_key = bytes(a ^ b for a, b in zip(proof, signature, strict=True))
        if not hmac.compare_digest(hashlib.sha256(client_key).digest(), self.verifier.stored_key):
            raise ScramFailure("wrong proof")
        server_signature = hmac.new(self.verifier.server_key, auth_message, hashlib.sha256).digest()
        return "v=" + base64.b64encode(server_signature).decode("ascii")
