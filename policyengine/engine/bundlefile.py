"""Signed policy bundles: one file holding a checked policy set's sources, built once (in CI),
verified and loaded by every replica.

The file is one JSON document (no pickle, nothing executable):

    {"policyengine_bundle": 1,                 # the format version
     "manifest": "<JSON text>",                # the signed bytes, kept verbatim
     "signatures": [{"keyid": ..., "alg": "ed25519", "sig": <base64>}],
     "members": {"policies/0000/x.policy": "<text>", ...}}

The manifest holds the format version, the revision (the bundle version of
`policyengine.engine.bundle`: what every decision carries), a sequence number that only grows, the
git revision, creation and expiry instants, the scopes the policies declare, how the members map
to the loader's inputs (`layout`), and the SHA-256 of every member. Loading checks, in order: the
document's shape and format version, a signature by a configured key id, the manifest, the exact
member set and every hash, expiry, and that the sequence is not older than the one in force (no
rollback); only then are the members written to a private temporary folder and loaded by
`loading.load`, and the loaded engine's bundle version must equal the signed revision. Any
failure is a one-line `BundleError` and nothing changes (a `BundleSource` keeps the last good one).
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import gc
import hashlib
import logging
import re
import subprocess
import tempfile
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from policyengine.catalog.consumers import load_directory
from policyengine.catalog.contracts import (
    Catalog,
    Column,
    Product,
    SampleSource,
    catalog_of,
    load_catalog,
)
from policyengine.catalog.taxonomy import load_taxonomy
from policyengine.diagnostics import PolicyError, Span, located_diagnostic
from policyengine.engine.bundle import bundle_version_of, input_files
from policyengine.engine.evaluator import Engine
from policyengine.engine.keys import KeyProblem, PublicKey, SigningKey, public_keys
from policyengine.engine.loading import load as load_sources
from policyengine.engine.reload import ReloadingEngine
from policyengine.language.checker import check_policies
from policyengine.language.parser import parse_policy
from policyengine.yamlsource import YamlError

log = logging.getLogger("policyengine")

FORMAT = 1
_DOC_KEYS = frozenset({"policyengine_bundle", "manifest", "signatures", "members"})
_SIGNED_PREFIX = b"policyengine-bundle-manifest\0"
_KEY_ID = re.compile(r"^[0-9a-f]{16}$")
_SHA = re.compile(r"^[0-9a-f]{64}$")
_SECTIONS = ("policies", "catalog", "taxonomy")
COMPILED_CATALOG = "compiled/catalog.json"


class BundleError(ValueError):
    """A bundle that cannot be built, verified or loaded: a one-line reason (never a key, never a
    member's content)."""


@dataclass(frozen=True)
class Manifest:
    """What a bundle declares about itself (all of it covered by the signature)."""

    format: int
    revision: str
    policy_version: str
    sequence: int
    git_revision: str | None
    created: str
    expires: str | None
    scopes: tuple[str, ...]
    files: Mapping[str, str]
    layout: Mapping[str, Any]
    sources: Mapping[str, str]  # member -> the path it had at build time (what decisions cite)

    def to_dict(self) -> dict[str, Any]:
        return {"format": self.format, "revision": self.revision, "policy_version": self.policy_version,
                "sequence": self.sequence,
                "git_revision": self.git_revision, "created": self.created, "expires": self.expires,
                "scopes": list(self.scopes), "files": dict(self.files), "layout": dict(self.layout),
                "sources": dict(self.sources)}


@dataclass(frozen=True)
class VerifiedBundle:
    """A bundle whose signature, member set and hashes were checked (not yet loaded)."""

    manifest: Manifest
    key_id: str
    members: Mapping[str, str]


# ---------------------------------------------------------------- building


def _git_revision(root: Path) -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    rev = out.stdout.strip()
    return rev if out.returncode == 0 and re.fullmatch(r"[0-9a-f]{40,64}", rev) else None


def _iso(instant: dt.datetime) -> str:
    return instant.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(path: Path) -> str:
    try:  # bytes as they are (no newline translation): the revision hashes the file's bytes
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise BundleError(f"{path}: error: not UTF-8 text; a bundle holds text files only") from None
    except OSError as exc:
        raise BundleError(f"{path}: error: cannot read: {exc.strerror or exc}") from None


def _scope_names(engine: Engine) -> tuple[str, ...]:
    names = set()
    for rule in engine.check_result.rules:
        scope = rule.scope
        names.add("platform" if scope.kind == "platform" else f"domain {scope.domain}")
    return tuple(sorted(names))


def build_bundle(config: Any, key: SigningKey, *, sequence: int | None = None,
                 expires_in: dt.timedelta | None = None, now: dt.datetime | None = None,
                 git_revision: str | None = None, scan: str | Path | None = None) -> tuple[bytes, Manifest]:
    """Check and load the project a configuration (`policyengine.config.Config`) names, exactly
    as `check` does (ownership included), then pack its sources into a signed bundle.

    `sequence` defaults to the creation instant in milliseconds (it must grow from one bundle
    to the next); `scan`, a scan report file whose tags join the catalog's (carried as a member
    and already applied in the compiled catalog); a PolicyError from the check propagates."""
    now = now or dt.datetime.now(dt.UTC)
    engine = load_sources(list(config.policies), list(config.catalog), consumers=config.consumers,
                          taxonomy=list(config.taxonomy), ownership=getattr(config, "ownership", None),
                          scan=scan)
    members: dict[str, str] = {}
    sources: dict[str, str] = {}
    layout: dict[str, Any] = {}
    for section in _SECTIONS:
        roots = [Path(p) for p in getattr(config, section)]
        order = {root: i for i, root in enumerate(sorted(roots))}  # the hash walks roots sorted
        entries = []
        for root in roots:
            base = f"{section}/{order[root]:04d}"
            if root.is_file():
                members[f"{base}/{root.name}"] = _text(root)
                sources[f"{base}/{root.name}"] = str(root)
                entries.append(f"{base}/{root.name}")
            else:
                for f in input_files(root):
                    members[f"{base}/{f.relative_to(root).as_posix()}"] = _text(f)
                    sources[f"{base}/{f.relative_to(root).as_posix()}"] = str(f)
                entries.append(base)
        layout[section] = entries
    layout["consumers"] = None
    if config.consumers is not None:
        name = f"consumers/{Path(config.consumers).name}"
        members[name] = _text(Path(config.consumers))
        sources[name] = str(config.consumers)
        layout["consumers"] = name
    layout["scan"] = None
    if scan is not None:
        name = f"scan/{Path(scan).name}"
        members[name] = _text(Path(scan))
        sources[name] = str(scan)
        layout["scan"] = name
    members[COMPILED_CATALOG] = _compiled_catalog(engine.catalog)
    manifest = Manifest(
        format=FORMAT, revision=engine.bundle_version, policy_version=engine.policy_version,
        sequence=sequence if sequence is not None else int(now.timestamp() * 1000),
        git_revision=git_revision if git_revision is not None else _git_revision(Path(config.root)),
        created=_iso(now), expires=_iso(now + expires_in) if expires_in is not None else None,
        scopes=_scope_names(engine),
        files={name: hashlib.sha256(text.encode("utf-8")).hexdigest() for name, text in sorted(members.items())},
        layout=layout, sources=sources)
    return sign_bundle(manifest, members, key), manifest


def sign_bundle(manifest: Manifest, members: Mapping[str, str], key: SigningKey) -> bytes:
    """The bundle document: the manifest's canonical JSON, its Ed25519 signature, the members."""
    manifest_text = orjson.dumps(manifest.to_dict(), option=orjson.OPT_SORT_KEYS).decode("utf-8")
    signature = key.sign(_SIGNED_PREFIX + manifest_text.encode("utf-8"))
    doc = {"policyengine_bundle": manifest.format, "manifest": manifest_text,
           "signatures": [{"keyid": key.key_id, "alg": "ed25519", "sig": base64.b64encode(signature).decode()}],
           "members": dict(sorted(members.items()))}
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)


def _span(span: Span | None) -> list[Any] | None:
    return None if span is None else [span.file, span.line, span.column, span.end_line, span.end_column]


def _unspan(value: list[Any] | None) -> Span | None:
    return None if value is None else Span(*value)


def _compiled_catalog(catalog: Catalog) -> str:
    """The checked catalog's products as one JSON text (names, typed and tagged columns, owners,
    samples, spans for diagnostics): loading it skips reading the contracts (YAML and ODCS), the
    bulk of loading a large mesh. The YAML members stay in the bundle, and its revision hashes them."""
    products = [[p.name, p.domain, [[c.name, c.logical_type, c.physical_type, c.description, c.classification,
                                     sorted(c.tags), _span(c.span), list(c.approvals)] for c in p.columns],
                 p.version, p.status, p.owner, p.description,
                 [[str(s.path), s.format, _span(s.span)] for s in p.samples], p.source, _span(p.span),
                 _span(p.domain_span), list(p.owners), list(p.approvals), p.contract_id]
                for p in catalog.products.values()]
    return orjson.dumps({"products": products}).decode("utf-8")


def _catalog_from_compiled(text: str, taxonomy: Any) -> Catalog:
    products = []
    for (name, domain, columns, version, status, owner, description, samples, source, span, domain_span,
         owners, approvals, contract_id) in orjson.loads(text)["products"]:
        cols = tuple(Column(c[0], c[1], c[2], c[3], c[4], frozenset(c[5]), _unspan(c[6]), tuple(c[7]))
                     for c in columns)
        products.append(Product(name, domain, cols, version, status, owner, description,
                                tuple(SampleSource(Path(s[0]), s[1], _unspan(s[2])) for s in samples), source,
                                _unspan(span), _unspan(domain_span), tuple(owners), tuple(approvals), contract_id))
    return catalog_of(products, taxonomy)


# ---------------------------------------------------------------- verifying


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 24 else text[:21] + "..."


def _safe_name(name: Any) -> bool:
    if not isinstance(name, str) or not name or "\\" in name or "\0" in name or name.startswith("/"):
        return False
    parts = name.split("/")
    return parts[0] in (*_SECTIONS, "consumers", "scan", "compiled") and all(p not in ("", ".", "..") for p in parts) \
        and len(parts) >= 2


def _instant(value: Any, what: str) -> dt.datetime:
    try:
        return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    except (TypeError, ValueError):
        raise BundleError(f"malformed manifest: '{what}' is not a UTC instant") from None


def _manifest(data: Any) -> Manifest:
    if not isinstance(data, dict):
        raise BundleError("malformed manifest: not an object")
    fmt = data.get("format")
    if fmt != FORMAT:
        raise BundleError(f"unknown bundle format version {_short(fmt)} (this policyengine reads {FORMAT})")
    want = {"format": int, "revision": str, "policy_version": str, "sequence": int, "created": str, "scopes": list,
            "files": dict, "layout": dict, "sources": dict}
    for field, kind in want.items():
        if not isinstance(data.get(field), kind) or isinstance(data.get(field), bool):
            raise BundleError(f"malformed manifest: '{field}' missing or not a {kind.__name__}")
    if set(data) != {*want, "git_revision", "expires"}:
        raise BundleError("malformed manifest: unexpected or missing fields")
    if not all(isinstance(v, str) for v in data["scopes"]) or not isinstance(data["git_revision"], (str, type(None))):
        raise BundleError("malformed manifest: 'scopes' or 'git_revision' malformed")
    files = data["files"]
    if not all(_safe_name(n) and isinstance(h, str) and _SHA.match(h) for n, h in files.items()):
        raise BundleError("malformed manifest: a member name or hash is invalid")
    _instant(data["created"], "created")
    if data["expires"] is not None:
        _instant(data["expires"], "expires")
    if not all(n in files and isinstance(v, str) and len(v) < 4096 for n, v in data["sources"].items()):
        raise BundleError("malformed manifest: 'sources' must name members")
    layout = data["layout"]
    if set(layout) != {*_SECTIONS, "consumers", "scan"} or not all(
            isinstance(layout[s], list) and all(isinstance(e, str) for e in layout[s]) for s in _SECTIONS) \
            or not all(layout[k] is None or isinstance(layout[k], str) for k in ("consumers", "scan")):
        raise BundleError("malformed manifest: bad layout")
    return Manifest(FORMAT, data["revision"], data["policy_version"], data["sequence"], data.get("git_revision"), data["created"],
                    data["expires"], tuple(data["scopes"]), files, layout,
                    data["sources"])


def verify_bundle(data: bytes, keys: Mapping[str, PublicKey], *, now: dt.datetime | None = None,
                  in_force: Manifest | None = None) -> VerifiedBundle:
    """Check a bundle's bytes; raise BundleError with the first reason it must be refused.

    `in_force`: the manifest of the bundle in force; an older sequence is a rollback, refused
    (the same sequence is accepted only for the same revision)."""
    if not keys:
        raise BundleError("no public keys configured to verify bundles (bundle.public_keys or --public-key)")
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise BundleError("not a bundle: corrupt or truncated (not a JSON document)") from None
    if not isinstance(doc, dict) or "policyengine_bundle" not in doc:
        raise BundleError("not a bundle: no 'policyengine_bundle' format field")
    if type(doc["policyengine_bundle"]) is not int or doc["policyengine_bundle"] != FORMAT:
        raise BundleError(f"unknown bundle format version {_short(doc['policyengine_bundle'])} "
                          f"(this policyengine reads {FORMAT})")
    if set(doc) != _DOC_KEYS:
        raise BundleError("not a bundle: unexpected or missing top-level fields")
    manifest_text, signatures, members = doc["manifest"], doc["signatures"], doc["members"]
    if not isinstance(manifest_text, str) or not isinstance(signatures, list) or not isinstance(members, dict):
        raise BundleError("not a bundle: malformed top-level fields")
    # the signature: by a key we trust, over the manifest's exact bytes
    named = [s for s in signatures if isinstance(s, dict) and s.get("alg") == "ed25519"
             and isinstance(s.get("keyid"), str) and _KEY_ID.match(s["keyid"])]
    ours = [s for s in named if s["keyid"] in keys]
    if not ours:
        found = ", ".join(s["keyid"] for s in named) or "none"
        raise BundleError(f"signed by unknown key id(s) {found} (trusted: {', '.join(sorted(keys))})")
    signed = _SIGNED_PREFIX + manifest_text.encode("utf-8")
    key_id = ""
    for s in ours:
        try:
            sig = base64.b64decode(s.get("sig", ""), validate=True) if isinstance(s.get("sig"), str) else b""
        except ValueError:
            sig = b""
        if len(sig) == 64 and keys[s["keyid"]].verify(sig, signed):
            key_id = s["keyid"]
            break
    if not key_id:
        raise BundleError(f"bad signature (key id {ours[0]['keyid']})")
    try:
        manifest = _manifest(orjson.loads(manifest_text))
    except orjson.JSONDecodeError:
        raise BundleError("malformed manifest: not JSON") from None
    # the exact member set and every hash
    extra = sorted(set(members) - set(manifest.files), key=str)
    missing = sorted(set(manifest.files) - set(members))
    if extra:
        raise BundleError(f"{len(extra)} member(s) not in the manifest, e.g. {_short(extra[0])}")
    if missing:
        raise BundleError(f"{len(missing)} member(s) of the manifest missing, e.g. {_short(missing[0])}")
    for name, digest in manifest.files.items():
        text = members[name]
        if not isinstance(text, str) or hashlib.sha256(text.encode("utf-8")).hexdigest() != digest:
            raise BundleError(f"member {_short(name)}: content does not match its hash")
    now = now or dt.datetime.now(dt.UTC)
    if manifest.expires is not None and now >= _instant(manifest.expires, "expires"):
        raise BundleError(f"bundle {manifest.revision} expired at {manifest.expires}")
    if in_force is not None:
        if manifest.sequence < in_force.sequence:
            raise BundleError(f"bundle sequence {manifest.sequence} is older than the one in force "
                              f"({in_force.sequence}, revision {in_force.revision}): refusing a rollback")
        if manifest.sequence == in_force.sequence and manifest.revision != in_force.revision:
            raise BundleError(f"bundle sequence {manifest.sequence} is the one in force but names another "
                              f"revision ({manifest.revision}, in force {in_force.revision})")
    return VerifiedBundle(manifest, key_id, members)


# ---------------------------------------------------------------- loading


def _parts(name: str) -> tuple[str, ...]:
    return tuple(name.split("/"))


def _under(members: Mapping[str, str], entry: str, suffix: str = "") -> list[str]:
    """The members a layout entry stands for: itself (a file root) or those below it, in path order."""
    if entry in members:
        return [entry]
    prefix = entry + "/"
    return sorted((n for n in members if n.startswith(prefix) and n.endswith(suffix)), key=_parts)


def _roots(members: Mapping[str, str], entries: Sequence[str]) -> list[list[tuple[str, bytes]]]:
    """Layout entries as `bundle_version_of` roots: path order, names relative to the root."""
    out = []
    for entry in sorted(entries, key=_parts):
        names = _under(members, entry)
        cut = len(entry) + 1
        out.append([(n.rsplit("/", 1)[1] if n == entry else n[cut:], members[n].encode("utf-8")) for n in names])
    return out


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a load builds its hundreds of thousands of
    objects (each young-generation pass would walk the growing heap again: 10x W1's catalog took
    1.6 s with it, 0.35 s without). Reference counting still frees; the collector's state is
    restored afterwards. Process-wide, for the length of one load."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def engine_from(verified: VerifiedBundle, *, cache_size: int = 65536) -> Engine:
    """Load a verified bundle (see `_engine_from`) with the cyclic collector paused."""
    with _collector_paused():
        return _engine_from(verified, cache_size=cache_size)


def _engine_from(verified: VerifiedBundle, *, cache_size: int = 65536) -> Engine:
    """Load a verified bundle into an Engine whose bundle version is the signed revision.

    The revision is recomputed over the members in memory and must equal the signed one. Policy
    texts are parsed from memory under the names they had when the bundle was built (so decisions
    and diagnostics cite `policies/sales.policy`, as from the sources), the catalog comes from the
    compiled member when there is one; only the consumers file, the taxonomy files (and the
    contracts of a bundle without a compiled catalog) are written to a private temporary folder
    for their readers. A bundle that does not load is a BundleError."""
    m, members = verified.manifest, verified.members
    layout = m.layout
    for entry in (*layout["policies"], *layout["catalog"], *layout["taxonomy"]):
        if not _safe_name(entry):
            raise BundleError("malformed manifest: bad layout entry")
    consumers, scan = layout["consumers"], layout["scan"]
    if any(name is not None and name not in members for name in (consumers, scan)):
        raise BundleError("malformed manifest: the consumers file or scan report is not a member")
    policy_members = [n for e in layout["policies"] for n in _under(members, e, ".policy")]
    revision = bundle_version_of(
        [[(n.rsplit("/", 1)[1], members[n].encode("utf-8"))] for n in sorted(policy_members, key=_parts)],
        _roots(members, layout["catalog"]), _roots(members, layout["taxonomy"]),
        [[(consumers.rsplit("/", 1)[1], members[consumers].encode("utf-8"))]] if consumers else [],
        [[(scan.rsplit("/", 1)[1], members[scan].encode("utf-8"))]] if scan else None)
    if revision != m.revision:
        raise BundleError(f"bundle {m.revision} does not load: its members hash to {revision}")
    compiled = members.get(COMPILED_CATALOG)
    if scan is not None and compiled is None:  # the scan's tags live in the compiled catalog
        raise BundleError(f"bundle {m.revision} does not load: a scan report needs the compiled catalog")
    on_disk = [n for e in (*layout["taxonomy"], *(() if compiled is not None else layout["catalog"]))
               for n in _under(members, e)] + ([consumers] if consumers else [])
    with tempfile.TemporaryDirectory(prefix="policyengine-bundle-") as tmp:
        root = Path(tmp)
        for name in on_disk:
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(members[name].encode("utf-8"))
        try:
            tax = load_taxonomy([root / e for e in layout["taxonomy"]])
            if compiled is not None:  # signed with the sources it was compiled from
                cat = _catalog_from_compiled(compiled, tax)
            else:
                cat = load_catalog([root / e for e in layout["catalog"]], tax)
            try:
                directory = load_directory(root / consumers) if consumers else None
            except YamlError as exc:
                raise PolicyError([located_diagnostic(exc, "consumers", str(consumers))]) from None
            parsed, sources = [], {}
            for member in policy_members:
                name = m.sources.get(member, member)
                sources[name] = members[member]
                parsed.append(parse_policy(members[member], name, disk_cache=True))
            result = check_policies(parsed, cat, directory.schema if directory else None, None, sources)
            result.raise_for_errors()
            return Engine(cat, result, policy_version=m.policy_version, cache_size=cache_size,
                          schema=directory.schema if directory else None,
                          consumers=directory.consumers if directory else None, bundle_version=revision)
        except Exception as exc:
            first = (exc.render() if hasattr(exc, "render") else f"{exc.__class__.__name__}: {exc}")
            first = (first.splitlines() or [""])[0].replace(str(root) + "/", "<bundle>/")
            raise BundleError(f"bundle {m.revision} does not load: {first}") from None


def read_bundle_file(path: str | Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise BundleError(f"{path}: error: cannot read the bundle: {exc.strerror or exc}") from None


def load_bundle(path: str | Path, public_keys_: Iterable[str | Path | Any] = (), *,
                now: dt.datetime | None = None, cache_size: int = 65536) -> Engine:
    """An Engine from a signed bundle file, verified against the given public keys (PEM files)."""
    try:
        keys = public_keys(public_keys_)
    except KeyProblem as exc:
        raise BundleError(str(exc)) from None
    verified = verify_bundle(read_bundle_file(path), keys, now=now)
    return engine_from(verified, cache_size=cache_size)


def load(*args: Any, bundle: str | Path | None = None, public_keys: Iterable[str | Path | Any] = (),
         **kw: Any) -> Engine:
    """`policyengine.load`: from sources (loading.load's arguments), or with `bundle=PATH` and
    `public_keys=[...]` from a signed bundle."""
    if bundle is None:
        return load_sources(*args, **kw)
    if args or kw:
        raise TypeError("load(bundle=...) takes only public_keys= (the bundle holds everything else)")
    return load_bundle(bundle, public_keys)


class BundleSource:
    """Loads a bundle file for a ReloadingEngine, remembering the manifest in force so that a
    replaced file holding an older sequence (a rollback) is refused."""

    def __init__(self, path: str | Path, keys: Mapping[str, PublicKey], *, cache_size: int = 65536) -> None:
        self.path = Path(path)
        self.keys = dict(keys)
        self.cache_size = cache_size
        self.in_force: Manifest | None = None
        self._lock = threading.Lock()

    def load(self) -> Engine:
        """The engine of the bundle file now, verified against the one in force (raises BundleError)."""
        with self._lock:
            verified = verify_bundle(read_bundle_file(self.path), self.keys, in_force=self.in_force)
            engine = engine_from(verified, cache_size=self.cache_size)
            self.in_force = verified.manifest  # the holder swaps in what a loader returns
            return engine


def bundle_holder(path: str | Path, keys: Iterable[str | Path | Any], **kw: Any) -> ReloadingEngine:
    """A ReloadingEngine over a bundle file (the first load must succeed: BundleError)."""
    try:
        trusted = public_keys(keys)
    except KeyProblem as exc:
        raise BundleError(str(exc)) from None
    source = BundleSource(path, trusted)
    return ReloadingEngine(source.load, watch_paths=[path], **kw)


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def watch_bundle(holder: ReloadingEngine, path: str | Path, *, interval: float = 1.0) -> threading.Event:
    """Poll the bundle file's size, mtime and inode every `interval` seconds and reload once per
    change (a rejected file is reported once, not at every poll); returns the Event that stops it."""
    target = Path(path)
    stop = threading.Event()
    seen = _stamp(target)

    def run() -> None:
        nonlocal seen
        while not stop.wait(interval):
            now = _stamp(target)
            if now is not None and now != seen:
                seen = now
                holder.reload()

    threading.Thread(target=run, name="policyengine-bundle-watch", daemon=True).start()
    return stop


def parse_duration(text: str) -> dt.timedelta:
    """`30d`, `12h`, `90m`, `3600s` as a timedelta (ValueError otherwise)."""
    match = re.fullmatch(r"\s*(\d{1,9})\s*([dhms])\s*", text)
    if not match:
        raise ValueError(f"bad duration {text[:20]!r}: use a number and d, h, m or s (e.g. 30d)")
    n, unit = int(match.group(1)), match.group(2)
    return dt.timedelta(**{{"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}[unit]: n})

