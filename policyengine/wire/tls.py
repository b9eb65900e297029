"""TLS for the gateway: the `gateway: tls:` settings, the server's SSL context, and the login a
verified client certificate names.

```yaml
gateway:
  tls:
    cert: server.crt      # the server's certificate chain (PEM)
    key: server.key       # its private key (PEM, unencrypted)
    ca: clients-ca.crt    # optional: client certificates signed by it are verified
    required: true        # optional: a login without TLS is refused (default false)
    cert_login: true      # optional: a verified client certificate whose CN is the login logs in
```

A client sends SSLRequest first; the server answers 'S' and the TLS handshake follows when TLS
is configured, 'N' otherwise (the client then goes on in clear or gives up, `sslmode=require`).
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class TlsError(ValueError):
    """TLS settings that cannot be used: the message names the key or file, never its content."""


@dataclass(frozen=True)
class TlsSettings:
    cert: str
    key: str
    ca: str = ""
    required: bool = False
    cert_login: bool = False


_KEYS = {"cert": str, "key": str, "ca": str, "required": bool, "cert_login": bool}


def tls_settings(section: Any) -> TlsSettings:
    """TlsSettings from the `gateway: tls:` mapping (TlsError naming the key on a bad value)."""
    if not isinstance(section, Mapping):
        raise TlsError("'gateway.tls' must be a mapping with cert and key")
    for key, value in section.items():
        kind = _KEYS.get(key)
        if kind is None:
            raise TlsError(f"unknown key 'gateway.tls.{key}' (known: {', '.join(_KEYS)})")
        if not isinstance(value, kind) or (kind is str and not value):
            raise TlsError(f"'gateway.tls.{key}' must be a {'non-empty path' if kind is str else 'boolean'}")
    if "cert" not in section or "key" not in section:
        raise TlsError("'gateway.tls' needs both 'cert' and 'key' (PEM files)")
    settings = TlsSettings(**section)
    if settings.cert_login and not settings.ca:
        raise TlsError("'gateway.tls.cert_login' needs 'gateway.tls.ca', the CA that signs client certificates")
    return settings


def server_context(settings: TlsSettings, root: Path | None = None) -> ssl.SSLContext:
    """The server's SSL context (TLS 1.2 or later); paths relative to `root`. Client certificates
    are asked for and verified against `ca` when it is set, optional for the client."""
    def where(path: str) -> str:
        return str(root / path) if root is not None else path

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(where(settings.cert), where(settings.key))
    except (OSError, ssl.SSLError) as exc:
        raise TlsError(f"{settings.cert} / {settings.key}: cannot load the certificate and key "
                       f"({type(exc).__name__}: {getattr(exc, 'strerror', None) or 'not a matching PEM pair'})"
                       ) from None
    if settings.ca:
        try:
            context.load_verify_locations(cafile=where(settings.ca))
        except (OSError, ssl.SSLError) as exc:
            raise TlsError(f"{settings.ca}: cannot load the client CA ({type(exc).__name__})") from None
        context.verify_mode = ssl.CERT_OPTIONAL
    return context


def certificate_login(ssl_object: Any) -> str | None:
    """The common name of the client's certificate when it presented one and it was verified
    (the context only accepts certificates its CA signed), else None."""
    if ssl_object is None:
        return None
    peer = ssl_object.getpeercert()
    if not peer:
        return None
    for rdn in peer.get("subject", ()):
        for name, value in rdn:
            if name == "commonName":
                return str(value)
    return None
