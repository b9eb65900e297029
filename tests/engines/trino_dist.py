"""The pinned Trino server the engine tests run: where it is cached, and how it is fetched.

`scripts/fetch-trino` runs this module (standard library only) before the tests; the tests only
look the installation up (`installed()`), they never download. The download is the full
`trino-server` tarball from Maven Central (the slim `trino-server-core` lacks the OPA plugin, and
no `trino-opa` plugin zip is published for the pinned version), checked against the SHA-256
pinned here and the `.sha1` Maven publishes beside it, unpacked into a temporary folder next to
the cache and renamed into place when complete (a crashed or concurrent fetch leaves no half
installation). Only what the tests need is kept: the launcher, `lib/` and the `opa`, `memory`
and `password-authenticators` (file group provider) plugins, about 120 MB.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import tarfile
import tempfile
import time
import urllib.request
from pathlib import Path

VERSION = "476"
URL = f"https://repo1.maven.org/maven2/io/trino/trino-server/{VERSION}/trino-server-{VERSION}.tar.gz"
SHA256 = "cfd5accde17e8ebd251eeeb78aed1f490e77bb3a164d95a0f454bf8a7c1cbd3f"  # computed once, pinned
JAVA_MAJOR = 24  # Trino 476 refuses older runtimes
KEEP = ("bin/", "lib/", "NOTICE", "plugin/opa/", "plugin/memory/", "plugin/password-authenticators/")
COMPLETE = ".policyengine-complete"


def cache_root() -> Path:
    """POLICYENGINE_TRINO_CACHE, else $XDG_CACHE_HOME (or ~/.cache)/policyengine/trino."""
    explicit = os.environ.get("POLICYENGINE_TRINO_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "policyengine" / "trino"


def install_dir() -> Path:
    return cache_root() / VERSION


def installed() -> Path | None:
    """The complete installation of the pinned version, or None."""
    home = install_dir()
    return home if (home / COMPLETE).is_file() else None


def java_home() -> Path | None:
    """A JDK new enough for the pinned Trino: POLICYENGINE_TRINO_JAVA_HOME, else the newest under
    /usr/lib/jvm whose `release` file says major version >= JAVA_MAJOR."""
    explicit = os.environ.get("POLICYENGINE_TRINO_JAVA_HOME")
    candidates = [Path(explicit)] if explicit else sorted(Path("/usr/lib/jvm").glob("*"))
    best: tuple[int, Path] | None = None
    for home in candidates:
        major = _java_major(home)
        if major is not None and major >= JAVA_MAJOR and (home / "bin" / "java").is_file() \
                and (best is None or major > best[0]):
            best = (major, home)
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


def _download(url: str, target: Path) -> None:
    with urllib.request.urlopen(url, timeout=60) as reply, target.open("wb") as out:  # noqa: S310
        shutil.copyfileobj(reply, out, length=1 << 20)


def _digest(path: Path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fetch() -> Path:
    """Download, verify and unpack the pinned Trino unless it is cached; return its folder.
    Raises RuntimeError with a one-line message when anything fails (nothing is left behind)."""
    found = installed()
    if found is not None:
        return found
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{VERSION}-", dir=root))
    try:
        tarball = work / "trino-server.tar.gz"
        start = time.perf_counter()
        try:
            _download(URL, tarball)
            with urllib.request.urlopen(URL + ".sha1", timeout=30) as reply:  # noqa: S310
                published_sha1 = reply.read().decode("ascii", "replace").split()[0].strip().lower()
        except OSError as exc:
            raise RuntimeError(f"cannot download Trino {VERSION} from Maven Central: {exc}") from None
        took = time.perf_counter() - start
        sha256, sha1 = _digest(tarball, "sha256"), _digest(tarball, "sha1")
        if sha256 != SHA256:
            raise RuntimeError(f"Trino {VERSION} tarball has SHA-256 {sha256}, pinned {SHA256}: refused")
        if sha1 != published_sha1:
            raise RuntimeError(f"Trino {VERSION} tarball does not match Maven's published .sha1: refused")
        unpacked = work / "trino"
        prefix = f"trino-server-{VERSION}/"
        with tarfile.open(tarball) as tar:
            members = []
            for m in tar.getmembers():
                if not m.name.startswith(prefix):
                    continue
                rel = m.name[len(prefix):]
                if rel and any(rel == k.rstrip("/") or rel.startswith(k) for k in KEEP):
                    members.append(m)  # names kept: the tarball's hard links point at them
            tar.extractall(work / "x", members=members, filter="data")
        tarball.unlink()
        (work / "x" / prefix).rename(unpacked)
        (unpacked / COMPLETE).write_text(f"{URL}\nsha256 {sha256}\ndownload {took:.1f}s\n", encoding="utf-8")
        try:
            unpacked.rename(install_dir())
        except OSError:
            if installed() is None:  # not a concurrent fetch that finished first
                raise
        print(f"Trino {VERSION}: downloaded and verified in {took:.1f}s -> {install_dir()}", file=sys.stderr)
        return install_dir()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    try:
        home = fetch()
    except (RuntimeError, OSError, KeyError, tarfile.TarError) as exc:
        print(f"fetch-trino: {exc}", file=sys.stderr)
        return 1
    print(home)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
