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

A replica's `BundleSource` reads a file or an http(s) URL (ETag / If-None-Match), may require
exact scopes, and with a state folder persists the last good bundle and its sequence across
restarts; a `BundlePoller` polls it with backoff on errors and, when the bundle in force expires,
swaps in an engine that denies everything (fail closed). See docs/serve.md "Bundles".
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
import os
import re
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
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
from policyengine.engine import checkedform
from policyengine.engine.bundle import bundle_version_of, input_files
from policyengine.engine.evaluator import Engine
from policyengine.engine.keys import KeyProblem, PublicKey, SigningKey, public_keys
from policyengine.engine.loading import collector_paused
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
COMPILED_CHECKED = "compiled/checked.json"


class BundleError(ValueError):
    """A bundle that cannot be built, verified or loaded: a one-line reason (never a key, never a
    member's content)."""

    one_line = True  # reload logs the message as it is, without the class name


@dataclass(frozen=True)
class Floor:
    """The sequence (and revision) below which no bundle is accepted: the one in force, or the
    one a replica persisted before a restart."""

    sequence: int
    revision: str


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
    members[COMPILED_CHECKED] = orjson.dumps(checkedform.encode(engine.check_result, engine.bundle_version)
                                             ).decode("utf-8")
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


_NO_TAGS: frozenset[str] = frozenset()


class _Columns:
    """Builds Columns back from a form 1 compiled catalog (one list per column: name, logical
    type, physical type, description, classification, tags, span, approvals, nested fields, as
    builders before the columnar form wrote it), sharing what equal columns spell alike: one
    string object for each name, type and span file, and one frozenset for each set of tags (as
    the contracts' reader gives them, and less memory: 210,000 columns of a large mesh carry a
    few hundred distinct tag sets). Each Column still goes through its constructor."""

    __slots__ = ("strings", "tags")

    def __init__(self) -> None:
        self.strings: dict[str, str] = {}
        self.tags: dict[tuple[str, ...], frozenset[str]] = {(): _NO_TAGS}

    def column(self, c: list[Any]) -> Column:
        if len(c) == 9:
            name, logical, physical, description, classification, tags, span, approvals, fields = c
        else:  # a bundle written before nested fields were stored
            name, logical, physical, description, classification, tags, span, approvals = c
            fields = None
        one = self.strings.setdefault
        key = tuple(tags)
        tagset = self.tags.get(key)
        if tagset is None:
            tagset = self.tags[key] = frozenset(key)
        if span is not None:
            file, line, col, end_line, end_col = span
            span = Span(one(file, file), line, col, end_line, end_col)
        return Column(one(name, name), one(logical, logical), one(physical, physical), description,
                      one(classification, classification), tagset, span, tuple(approvals) if approvals else (),
                      tuple([self.column(f) for f in fields]) if fields else ())


_CATALOG_FORM = 2  # columnar (below); a compiled catalog without "form" is form 1, one list per column


class _Table:
    """Distinct values, each stored once, referred to by index (the strings and tag sets of a
    compiled catalog)."""

    def __init__(self) -> None:
        self.index: dict[Any, int] = {}

    def __call__(self, value: Any) -> int:
        found = self.index.get(value)
        if found is None:
            found = self.index[value] = len(self.index)
        return found

    def values(self) -> list[Any]:
        return list(self.index)


def _columns_form(columns: tuple[Column, ...], strings: _Table, tagsets: _Table) -> dict[str, Any]:
    """A product's columns column-wise: each field a list with one entry per column (strings and
    tag sets as indexes into the catalog's tables; spans as four numbers per column, their file one
    index when all columns have a span in the same file, else one index per column, -1 for none)."""
    spans = [c.span for c in columns]
    files = {None if sp is None else sp.file for sp in spans}
    form: dict[str, Any] = {
        "n": [strings(c.name) for c in columns], "l": [strings(c.logical_type) for c in columns],
        "p": [strings(c.physical_type) for c in columns], "d": [strings(c.description) for c in columns],
        "c": [strings(c.classification) for c in columns], "t": [tagsets(tuple(sorted(c.tags))) for c in columns],
        "s": [n for sp in spans for n in ((0, 0, 0, 0) if sp is None else
                                          (sp.line, sp.column, sp.end_line, sp.end_column))],
        "f": strings(str(next(iter(files)))) if len(files) == 1 and None not in files and spans else
             [-1 if sp is None else strings(sp.file) for sp in spans],
    }
    if any(c.approvals for c in columns):
        form["a"] = [list(c.approvals) for c in columns]
    if any(c.fields for c in columns):
        form["x"] = [_columns_form(c.fields, strings, tagsets) if c.fields else None for c in columns]
    return form


def _compiled_catalog(catalog: Catalog) -> str:
    """The checked catalog's products as one JSON text (names, typed and tagged columns, owners,
    samples, spans for diagnostics): loading it skips reading the contracts (YAML and ODCS), the
    bulk of loading a large mesh. The YAML members stay in the bundle, and its revision hashes them.
    Columns are stored column-wise (`_columns_form`), so a load builds them with `map` over the
    lists rather than a Python loop per column."""
    strings, tagsets = _Table(), _Table()
    products = [[p.name, p.domain, _columns_form(p.columns, strings, tagsets),
                 p.version, p.status, p.owner, p.description,
                 [[str(s.path), s.format, _span(s.span)] for s in p.samples], p.source, _span(p.span),
                 _span(p.domain_span), list(p.owners), list(p.approvals), p.contract_id]
                for p in catalog.products.values()]
    return orjson.dumps({"form": _CATALOG_FORM, "strings": strings.values(),
                         "tagsets": [list(t) for t in tagsets.values()], "products": products}).decode("utf-8")


def _ints(value: Any, length: int, what: str) -> list[int]:
    if value.__class__ is not list or len(value) != length:
        raise ValueError(f"malformed compiled catalog: {what}")
    return value


class _ColumnarColumns:
    """Builds a product's Columns from `_columns_form` through each Column's constructor, driven
    by `map` (no Python frame per column); indexes are checked against the tables (a negative one
    would silently count from the end), list lengths against the column count (`map` would stop
    silently at the shortest)."""

    def __init__(self, strings: list[Any], tagsets: list[Any]) -> None:
        if not all(s.__class__ is str for s in strings):
            raise ValueError("malformed compiled catalog: the strings")
        if not all(t.__class__ is list and all(x.__class__ is str for x in t) for t in tagsets):
            raise ValueError("malformed compiled catalog: the tag sets")
        self.strings = strings
        self.tagsets = [frozenset(t) if t else _NO_TAGS for t in tagsets]

    def _refs(self, form: Mapping[str, Any], key: str, n: int, table: list[Any]) -> Any:
        refs = _ints(form[key], n, "a column list")
        if refs and (min(refs) < 0 or max(refs) >= len(table)):  # a non-integer: TypeError below
            raise ValueError("malformed compiled catalog: an index")
        return map(table.__getitem__, refs)

    def columns(self, form: Mapping[str, Any]) -> tuple[Column, ...]:
        strings = self.strings
        n = len(form["n"])
        names, logical, physical, descriptions, classes = (
            self._refs(form, k, n, strings) for k in ("n", "l", "p", "d", "c"))
        tags = self._refs(form, "t", n, self.tagsets)
        numbers = _ints(form["s"], 4 * n, "the spans")  # signed data: as trusted as form 1's spans
        file = form["f"]
        if file.__class__ is int:
            if not 0 <= file < len(strings):
                raise ValueError("malformed compiled catalog: an index")
            spans: Any = map(Span, repeat(strings[file], n), numbers[0::4], numbers[1::4], numbers[2::4],
                             numbers[3::4])
        else:
            files = _ints(file, n, "the span files")
            if files and (min(files) < -1 or max(files) >= len(strings)):
                raise ValueError("malformed compiled catalog: an index")
            spans = [None if f == -1 else Span(strings[f], *numbers[4 * i:4 * i + 4]) for i, f in enumerate(files)]
        given = form.get("a")
        listed: list[Any] = [] if given is None else _ints(given, n, "the approvals")
        approvals: Any = repeat((), n) if given is None else map(tuple, listed)
        nested = form.get("x")
        inner: list[Any] = [] if nested is None else _ints(nested, n, "the nested fields")
        fields: Any = repeat((), n) if nested is None else [() if f is None else self.columns(f) for f in inner]
        return tuple(map(Column, names, logical, physical, descriptions, classes, tags, spans, approvals, fields))


def _catalog_from_compiled(text: str, taxonomy: Any) -> Catalog:
    doc = orjson.loads(text)
    products = []
    column_list: Callable[[Any], tuple[Column, ...]]
    if doc.get("form") == _CATALOG_FORM:
        column_list = _ColumnarColumns(doc["strings"], doc["tagsets"]).columns
    elif "form" not in doc:  # form 1: a bundle built before the columnar form
        one = _Columns().column

        def _form1(columns: list[Any]) -> tuple[Column, ...]:
            return tuple([one(c) for c in columns])
        column_list = _form1
    else:
        raise ValueError("unknown compiled catalog form")
    for (name, domain, columns, version, status, owner, description, samples, source, span, domain_span,
         owners, approvals, contract_id) in doc["products"]:
        products.append(Product(name, domain, column_list(columns), version, status, owner, description,
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
                  in_force: Manifest | Floor | None = None,
                  scopes: Iterable[str] | None = None) -> VerifiedBundle:
    """Check a bundle's bytes; raise BundleError with the first reason it must be refused.

    `in_force`: the manifest of the bundle in force (or the persisted floor); an older sequence
    is a rollback, refused (the same sequence is accepted only for the same revision).
    `scopes`: the scopes this replica serves (`platform`, `domain sales`); a bundle whose
    manifest names another set (one more, one fewer, or others) is refused. None: any."""
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
    if scopes is not None and set(manifest.scopes) != set(scopes):
        raise BundleError(f"bundle {manifest.revision} covers scopes [{', '.join(manifest.scopes) or 'none'}] "
                          f"but this replica serves [{', '.join(sorted(set(scopes))) or 'none'}]")
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


def _roots(members: Mapping[str, str], digests: Mapping[str, str],
           entries: Sequence[str]) -> list[list[tuple[str, bytes]]]:
    """Layout entries as `bundle_version_of` roots of member digests (`hashed`): path order,
    names relative to the root."""
    out = []
    for entry in sorted(entries, key=_parts):
        names = _under(members, entry)
        cut = len(entry) + 1
        out.append([(n.rsplit("/", 1)[1] if n == entry else n[cut:], bytes.fromhex(digests[n])) for n in names])
    return out


def engine_from(verified: VerifiedBundle, *, cache_size: int = 65536, freeze: bool = False) -> Engine:
    """Load a verified bundle (see `_engine_from`) with the cyclic collector paused; `freeze` (a
    server process's choice, as `ReloadingEngine(freeze_gc=True)`): the loaded engine is then
    frozen out of its reach (see `loading.collector_paused`)."""
    with collector_paused(freeze=freeze):
        return _engine_from(verified, cache_size=cache_size)


def _engine_from(verified: VerifiedBundle, *, cache_size: int = 65536) -> Engine:
    """Load a verified bundle into an Engine whose bundle version is the signed revision.

    The revision is recomputed over the members' verified hashes and must equal the signed one. The
    checked rules come from the compiled member `compiled/checked.json` (`checkedform`) when it
    was checked from these very members (its revision is this one); otherwise the policy texts
    are parsed from memory and checked, under the names they had when the bundle was built (so
    decisions and diagnostics cite `policies/sales.policy`, as from the sources). The catalog
    comes from the compiled member when there is one; only the consumers file, the taxonomy files (and the
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
    digests = m.files  # each member's SHA-256, checked against its content by verify_bundle
    revision = bundle_version_of(
        [[(n.rsplit("/", 1)[1], bytes.fromhex(digests[n]))] for n in sorted(policy_members, key=_parts)],
        _roots(members, digests, layout["catalog"]), _roots(members, digests, layout["taxonomy"]),
        [[(consumers.rsplit("/", 1)[1], bytes.fromhex(digests[consumers]))]] if consumers else [],
        [[(scan.rsplit("/", 1)[1], bytes.fromhex(digests[scan]))]] if scan else None, hashed=True)
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
            sources = {m.sources.get(member, member): members[member] for member in policy_members}
            # the rules as checked at build time, when the form was checked from these very
            # members (its revision); otherwise the sources are parsed and checked here
            form = orjson.loads(members[COMPILED_CHECKED]) if COMPILED_CHECKED in members else None
            if form is not None and checkedform.form_revision(form) == revision:
                result = checkedform.decode(form, sources)
            else:
                parsed = [parse_policy(text, name, disk_cache=True) for name, text in sources.items()]
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


_STATE_BUNDLE = "last-good.bundle"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)  # "now" when only the signature and hashes matter
_STATE_FILE = "state.json"
MAX_BUNDLE_BYTES = 1 << 30  # a larger download is refused, not read into memory


def _write_atomic(path: Path, data: bytes) -> None:
    """Write aside, fsync, rename: a reader (or a restart) sees the old file or the new one."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")  # workers may share a state folder
    with open(tmp, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


def shown_location(location: str) -> str:
    """A bundle location fit for a log line: a URL without its user info and query string (a
    presigned object-storage URL carries its signature there)."""
    if not location.startswith(("http://", "https://")):
        return location
    parts = urllib.parse.urlsplit(location)
    return urllib.parse.urlunsplit((parts.scheme, parts.hostname or "", parts.path, "", "")) if \
        parts.port is None else f"{parts.scheme}://{parts.hostname}:{parts.port}{parts.path}"


class BundleSource:
    """Where a replica's bundle comes from (a file path or an http(s) URL) and what it accepts:
    signed by a trusted key, for the scopes it serves, unexpired, never a lower sequence than
    the one in force. With a state folder the last good bundle and its sequence are persisted
    (`last-good.bundle`, `state.json`), so a restarted replica still refuses a rollback and
    starts from the last good bundle when the source is unreachable or refused.

    `clock` (for tests) gives the wall-clock instant that expiry is checked against."""

    def __init__(self, location: str | Path, keys: Mapping[str, PublicKey], *, cache_size: int = 65536,
                 scopes: Iterable[str] | None = None, state_dir: str | Path | None = None,
                 clock: Callable[[], dt.datetime] | None = None, timeout: float = 5.0) -> None:
        self.location = str(location)
        self.is_url = self.location.startswith(("http://", "https://"))
        self.path = None if self.is_url else Path(location)
        self.keys = dict(keys)
        self.cache_size = cache_size
        self.scopes = None if scopes is None else tuple(sorted(set(scopes)))
        self.state_dir = Path(state_dir) if state_dir is not None else None
        self.clock = clock or (lambda: dt.datetime.now(dt.UTC))
        self.timeout = timeout
        self.freeze = False  # freeze each loaded engine out of the collector (a server's choice)
        self.in_force: Manifest | None = None
        self.etag: str | None = None
        self.persist_errors = 0
        self._stamp: tuple[int, int, int] | None = None
        self._pending: bytes | None = None
        self._digest: bytes | None = None
        self._lock = threading.Lock()
        self._persisted: VerifiedBundle | None = self._read_persisted()
        self.floor: Floor | None = self._persisted_floor()

    # -- the source

    def fetch(self, *, force: bool = False) -> bytes | None:
        """The source's bytes if they changed since the last fetch, None if not (an HTTP 304 to
        `If-None-Match`, or a file whose size, mtime and inode are unchanged); `force` reads
        them anyway. BundleError when the source is unreachable (5xx, timeout, refused, missing)."""
        if self.path is not None:
            stamp = _stamp(self.path)
            if not force and stamp is not None and stamp == self._stamp:
                return None
            data = read_bundle_file(self.path)
            self._stamp = stamp
            return self._changed(data, force)
        headers = {"If-None-Match": self.etag} if self.etag and not force else {}
        where = shown_location(self.location)
        try:
            with urllib.request.urlopen(urllib.request.Request(self.location, headers=headers),
                                        timeout=self.timeout) as reply:
                data = reply.read(MAX_BUNDLE_BYTES + 1)
                etag = reply.headers.get("ETag")
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code == 304:
                return None
            raise BundleError(f"{where}: error: the bundle server answered HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            text = getattr(reason, "strerror", None) or str(reason) or reason.__class__.__name__
            raise BundleError(f"{where}: error: bundle server unreachable: {text}") from None
        if len(data) > MAX_BUNDLE_BYTES:
            raise BundleError(f"{where}: error: the bundle is larger than {MAX_BUNDLE_BYTES} bytes")
        self.etag = etag  # a refused bundle is not fetched (nor reported) again until it changes
        return self._changed(data, force)

    def _changed(self, data: bytes, force: bool) -> bytes | None:
        """None for the very bytes fetched last time (a server without ETags, a file touched but
        unchanged): not verified and loaded again at every poll."""
        digest = hashlib.sha256(data).digest()
        if not force and digest == self._digest:
            return None
        self._digest = digest
        return data

    def offer(self, data: bytes) -> None:
        """Bytes the next `load` verifies (the poller fetched them)."""
        self._pending = data

    # -- accepting

    def _floor(self) -> Manifest | Floor | None:
        if self.in_force is None:
            return self.floor
        if self.floor is not None and self.floor.sequence > self.in_force.sequence:
            return self.floor
        return self.in_force

    def accept(self, data: bytes) -> Engine:
        """Verify and load bundle bytes against the one in force; persist them; raise BundleError."""
        verified = verify_bundle(data, self.keys, now=self.clock(), in_force=self._floor(), scopes=self.scopes)
        engine = engine_from(verified, cache_size=self.cache_size, freeze=self.freeze)
        self._persist(data, verified.manifest)
        self.in_force = verified.manifest  # the holder swaps in what a loader returns
        return engine

    def load(self) -> Engine:
        """The engine of the offered bytes, or of the source now (the ReloadingEngine's loader).

        The first load, when the source is unreachable or refused, falls back to the persisted
        last good bundle (verified like any other); a persisted copy that is refused is ignored
        with one logged reason and the source's error is raised."""
        with self._lock:
            data, self._pending = self._pending, None
            try:
                return self.accept(data if data is not None else self.fetch(force=True) or b"")
            except BundleError as exc:
                if self.in_force is not None or self.state_dir is None:
                    raise
                engine = self._from_persisted()
                if engine is None:
                    raise
                log.error("policyengine: bundle source %s: %s; starting from the persisted last good "
                          "bundle %s (sequence %d)", shown_location(self.location), exc,
                          self.in_force.revision if self.in_force else "?",
                          self.in_force.sequence if self.in_force else -1)
                raise _StartedFromPersisted(engine, str(exc)) from None

    def expired(self) -> bool:
        """Has the bundle in force passed its expiry instant?"""
        m = self.in_force
        return m is not None and m.expires is not None and self.clock() >= _instant(m.expires, "expires")

    # -- the state folder

    def _read_persisted(self) -> VerifiedBundle | None:
        """The persisted last good bundle, its signature, members and hashes checked (expiry and
        scopes are checked when it is used); a copy that fails is ignored with one logged reason."""
        if self.state_dir is None or not (self.state_dir / _STATE_BUNDLE).exists():
            return None
        path = self.state_dir / _STATE_BUNDLE
        try:
            return verify_bundle(read_bundle_file(path), self.keys, now=_EPOCH)
        except BundleError as exc:
            log.error("policyengine: ignoring the persisted bundle %s: %s", path, exc)
            return None

    def _persisted_floor(self) -> Floor | None:
        """The higher of the sequence in `state.json` and the persisted bundle's signed one (a
        corrupt state file alone does not reopen a rollback)."""
        if self.state_dir is None:
            return None
        floors = []
        if self._persisted is not None:
            floors.append(Floor(self._persisted.manifest.sequence, self._persisted.manifest.revision))
        path = self.state_dir / _STATE_FILE
        if path.exists():
            try:
                data = orjson.loads(path.read_bytes())
                floor = Floor(data["sequence"], data["revision"])
                if type(floor.sequence) is not int or not isinstance(floor.revision, str):
                    raise TypeError
                floors.append(floor)
            except (OSError, orjson.JSONDecodeError, KeyError, TypeError):
                log.error("policyengine: ignoring %s: not a bundle state file (corrupt or truncated)", path)
        return max(floors, key=lambda f: f.sequence) if floors else None

    def _from_persisted(self) -> Engine | None:
        """The engine of the persisted last good bundle, if it is still acceptable now."""
        if self.state_dir is None or self._persisted is None:
            return None
        m = self._persisted.manifest
        try:
            if m.expires is not None and self.clock() >= _instant(m.expires, "expires"):
                raise BundleError(f"bundle {m.revision} expired at {m.expires}")
            if self.scopes is not None and set(m.scopes) != set(self.scopes):
                raise BundleError(f"bundle {m.revision} covers scopes [{', '.join(m.scopes)}], not the ones served")
            if self.floor is not None and m.sequence < self.floor.sequence:
                raise BundleError(f"bundle sequence {m.sequence} is older than the one persisted ({self.floor.sequence})")
            engine = engine_from(self._persisted, cache_size=self.cache_size, freeze=self.freeze)
        except BundleError as exc:
            log.error("policyengine: ignoring the persisted bundle %s: %s", self.state_dir / _STATE_BUNDLE, exc)
            return None
        self.in_force = m
        return engine

    def _persist(self, data: bytes, manifest: Manifest) -> None:
        if self.state_dir is None:
            return
        if self.in_force is not None and self.in_force.revision == manifest.revision:
            return  # already persisted
        try:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            _write_atomic(self.state_dir / _STATE_BUNDLE, data)
            _write_atomic(self.state_dir / _STATE_FILE, orjson.dumps(
                {"sequence": manifest.sequence, "revision": manifest.revision}))
            self.floor = Floor(manifest.sequence, manifest.revision)
        except OSError as exc:  # the bundle is good: serve it, but say the floor did not move
            self.persist_errors += 1
            log.error("policyengine: cannot persist bundle %s in %s: %s", manifest.revision, self.state_dir,
                      exc.strerror or exc)


class _StartedFromPersisted(Exception):
    """Carries the persisted engine out of a first load whose source failed (see bundle_service)."""

    def __init__(self, engine: Engine, reason: str) -> None:
        super().__init__(reason)
        self.engine = engine
        self.reason = reason


def denied_engine(revision: str, previous: Engine | None = None) -> Engine:
    """An engine that denies everything (no product is known: every column denied, no rows),
    standing in for a bundle that expired while in force; decisions name it `expired:<revision>`.
    It keeps the previous engine's consumers, so a known consumer is denied as such (not as an
    error)."""
    catalog = Catalog({})
    return Engine(catalog, check_policies([], catalog), policy_version="", bundle_version=f"expired:{revision}",
                  schema=previous.schema if previous else None, consumers=previous.consumers if previous else None)


class BundlePoller:
    """Polls a BundleSource for a ReloadingEngine: every `interval` seconds when the source
    answers, backing off (doubling, up to `max_backoff`) while it fails; a changed bundle is
    offered to the holder's reload (which keeps the last good one on refusal, logs and counts);
    a bundle in force that passes its expiry is replaced by one that denies everything.

    `tick()` does one step (tests drive it with fake clocks: `monotonic` for the schedule, the
    source's `clock` for expiry); `start()` runs it in a daemon thread and returns its stop Event."""

    def __init__(self, holder: ReloadingEngine, source: BundleSource, *, interval: float = 1.0,
                 max_backoff: float = 60.0, monotonic: Callable[[], float] | None = None,
                 started_error: str | None = None) -> None:
        self.holder = holder
        self.source = source
        self.interval = interval
        self.max_backoff = max(max_backoff, interval)
        self.monotonic = monotonic or time.monotonic
        self.failures = 0
        self.fetch_errors = 0
        self.next_at = self.monotonic() + interval
        self.last_success: dt.datetime | None = None if started_error else source.clock()
        self.last_error: str | None = started_error
        self.last_error_at: dt.datetime | None = source.clock() if started_error else None
        self.denied = False
        self._logged: str | None = None

    def tick(self) -> None:
        """Check expiry; poll the source when it is due."""
        self.check_expiry()
        now = self.monotonic()
        if now < self.next_at:
            return
        try:
            data = self.source.fetch()
        except BundleError as exc:
            self.failures += 1
            self.fetch_errors += 1
            self._error(str(exc))
            self.next_at = now + min(self.interval * 2 ** self.failures, self.max_backoff)
            return
        self.failures = 0
        self.next_at = now + self.interval
        if data is None:  # unchanged: the bundle in force is still the source's
            self.last_success = self.source.clock()
            self._logged = None
            return
        self.source.offer(data)
        result = self.holder.reload()  # logs and counts a refusal; the last good stays in force
        if result.ok:
            self.last_success = self.source.clock()
            self.last_error = None
            self._logged = None
            self.denied = False
        else:
            self.last_error = result.error
            self.last_error_at = self.source.clock()
        self.check_expiry()

    def _error(self, reason: str) -> None:
        self.last_error = reason
        self.last_error_at = self.source.clock()
        if reason != self._logged:  # once per distinct reason, not at every retry
            self._logged = reason
            log.error("policyengine: bundle poll failed, keeping bundle %s: %s", self.holder.bundle_version, reason)

    def check_expiry(self) -> None:
        """Fail closed: once the bundle in force has expired, everything is denied until a newer,
        valid bundle arrives."""
        if self.denied or not self.source.expired():
            return
        m = self.source.in_force
        assert m is not None
        self.denied = True
        self.last_error = f"bundle {m.revision} expired at {m.expires}; everything is denied"
        self.last_error_at = self.source.clock()
        self.holder.replace(denied_engine(m.revision, self.holder.engine), self.last_error)

    def status(self) -> dict[str, Any]:
        """What /health and /metrics report: the bundle in force, the last success and error."""
        m = self.source.in_force
        return {"bundle_source": shown_location(self.source.location),
                "bundle_sequence": m.sequence if m else None, "bundle_expires": m.expires if m else None,
                "bundle_expired": self.denied,
                "last_success": _iso(self.last_success) if self.last_success else None,
                "last_error": self.last_error,
                "last_error_at": _iso(self.last_error_at) if self.last_error_at else None,
                "fetch_errors": self.fetch_errors, "persist_errors": self.source.persist_errors}

    def start(self) -> threading.Event:
        """Poll in a daemon thread until the returned Event is set (the holder's close() sets it)."""
        stop = threading.Event()

        def step() -> float:  # wake when the next poll is due, and at least every second (expiry)
            return min(max(self.next_at - self.monotonic(), 0.005), 1.0)

        def run() -> None:
            while not stop.wait(step()):
                try:
                    self.tick()
                except Exception:  # never let the poller die: the last good bundle stays
                    log.exception("policyengine: bundle poller error")

        threading.Thread(target=run, name="policyengine-bundle-poll", daemon=True).start()
        self.holder.add_stop(stop)
        return stop


def bundle_service(location: str | Path, keys: Iterable[str | Path | Any], *,
                   scopes: Iterable[str] | None = None, state_dir: str | Path | None = None,
                   interval: float = 1.0, clock: Callable[[], dt.datetime] | None = None,
                   monotonic: Callable[[], float] | None = None, timeout: float = 5.0,
                   max_backoff: float = 60.0, **kw: Any) -> BundlePoller:
    """A ReloadingEngine over a bundle file or URL and the poller that feeds it (not started).
    The first load must succeed, from the source or the persisted last good bundle (BundleError)."""
    try:
        trusted = public_keys(keys)
    except KeyProblem as exc:
        raise BundleError(str(exc)) from None
    source = BundleSource(location, trusted, scopes=scopes, state_dir=state_dir, clock=clock, timeout=timeout)
    source.freeze = bool(kw.get("freeze_gc"))  # the holder freezes the heap: the load does it as it goes
    started: list[str] = []

    def first() -> Engine:
        try:
            return source.load()
        except _StartedFromPersisted as fallback:
            started.append(fallback.reason)
            return fallback.engine

    watch = [] if source.is_url else [location]
    holder = ReloadingEngine(first, watch_paths=watch, **kw)
    holder.set_loader(source.load)
    poller = BundlePoller(holder, source, interval=interval, monotonic=monotonic, max_backoff=max_backoff,
                          started_error=started[0] if started else None)
    holder.status = poller.status
    return poller


def bundle_holder(path: str | Path, keys: Iterable[str | Path | Any], **kw: Any) -> ReloadingEngine:
    """A ReloadingEngine over a bundle file (the first load must succeed: BundleError)."""
    return bundle_service(path, keys, **kw).holder


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def parse_duration(text: str) -> dt.timedelta:
    """`30d`, `12h`, `90m`, `3600s` as a timedelta (ValueError otherwise)."""
    match = re.fullmatch(r"\s*(\d{1,9})\s*([dhms])\s*", text)
    if not match:
        raise ValueError(f"bad duration {text[:20]!r}: use a number and d, h, m or s (e.g. 30d)")
    n, unit = int(match.group(1)), match.group(2)
    return dt.timedelta(**{{"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}[unit]: n})

