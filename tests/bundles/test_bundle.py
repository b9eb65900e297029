"""Signed policy bundles (issue 24): build, verify, load, and every fault a replica must refuse
while the last good bundle stays in force."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

import orjson
import pytest

import policyengine
from policyengine.config import load_config
from policyengine.engine import keys
from policyengine.engine.bundle import bundle_version
from policyengine.engine.bundlefile import (
    BundleError,
    BundleSource,
    Manifest,
    build_bundle,
    bundle_holder,
    load_bundle,
    sign_bundle,
    verify_bundle,
)
from policyengine.language.parser import policy_files

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)


def make_project(folder: Path) -> Path:
    """A copy of the example mesh (policies, contracts, consumers) that a test may change."""
    shutil.copytree(ROOT / "policies", folder / "policies")
    shutil.copytree(ROOT / "examples/mesh/products", folder / "products")
    shutil.copy(ROOT / "examples/mesh/consumers.yaml", folder / "consumers.yaml")
    (folder / "policyengine.yaml").write_text(
        "policies: policies/\ncatalog: products/\nconsumers: consumers.yaml\n", encoding="utf-8")
    return folder / "policyengine.yaml"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("bundle")
    config = make_project(base / "project")
    k1_path, p1_path, kid1 = keys.generate(base / "k1")
    k2_path, p2_path, kid2 = keys.generate(base / "k2")
    cfg = load_config(config)
    k1 = keys.signing_key(k1_path)
    data, manifest = build_bundle(cfg, k1, sequence=10, now=NOW)
    return {"base": base, "config": config, "cfg": cfg, "k1": k1, "k2": keys.signing_key(k2_path),
            "p1": p1_path, "p2": p2_path, "kid1": kid1, "kid2": kid2, "data": data, "manifest": manifest}


def trusted(project: dict[str, Any], *names: str) -> dict[str, keys.PublicKey]:
    return keys.public_keys(project[n] for n in (names or ("p1",)))


def doc_of(data: bytes) -> dict[str, Any]:
    return orjson.loads(data)


def resign(project: dict[str, Any], *, key: str = "k1", members: dict[str, str] | None = None,
           **changes: Any) -> bytes:
    """The module's bundle with `members` changed and the manifest rehashed and re-signed by
    `key` (an insider's bundle: validly signed, so only the later checks can refuse it)."""
    doc = doc_of(project["data"])
    new_members = dict(doc["members"]) if members is None else members
    manifest: Manifest = project["manifest"]
    files = {n: hashlib.sha256(t.encode()).hexdigest() for n, t in sorted(new_members.items())}
    if members is not None and "revision" not in changes:
        changes["revision"] = revision_of(manifest, new_members)
    sources = {n: v for n, v in manifest.sources.items() if n in files}
    manifest = dataclasses.replace(manifest, files=files, sources=sources, **changes)
    return sign_bundle(manifest, new_members, project[key])


def revision_of(manifest: Manifest, members: dict[str, str]) -> str:
    """The bundle version of members laid out as the manifest says (what the builder computes)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name, text in members.items():
            if ".." in name.split("/"):
                continue
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text, encoding="utf-8")
        lay = manifest.layout
        return bundle_version(policy_files([root / e for e in lay["policies"]]), [root / e for e in lay["catalog"]],
                              root / lay["consumers"], None, [root / e for e in lay["taxonomy"]])


def write(folder: Path, name: str, data: bytes) -> Path:
    path = folder / name
    path.write_bytes(data)
    return path


# ---------------------------------------------------------------- the happy path


def test_bundle_loads_to_the_same_engine_and_revision(project: dict[str, Any], tmp_path: Path) -> None:
    cfg = project["cfg"]
    from_sources = policyengine.load(list(cfg.policies), list(cfg.catalog), consumers=cfg.consumers)
    path = write(tmp_path, "mesh.bundle", project["data"])
    engine = load_bundle(path, [project["p1"]])
    assert engine.bundle_version == project["manifest"].revision == from_sources.bundle_version
    assert policyengine.load(bundle=path, public_keys=[project["p1"]]).bundle_version == engine.bundle_version
    for consumer in ("alice", "bob", "carol", "dave"):
        for product in sorted(from_sources.catalog.products):
            got, want = engine.evaluate(consumer, product, at=NOW), from_sources.evaluate(consumer, product, at=NOW)
            assert got.to_dict() == want.to_dict()
            assert got.bundle_version == project["manifest"].revision


def test_manifest_names_what_the_bundle_covers(project: dict[str, Any]) -> None:
    m = project["manifest"]
    assert m.sequence == 10 and m.format == 1 and m.created == "2026-06-01T12:00:00Z" and m.expires is None
    assert m.scopes == ("domain hr", "domain marketing", "domain sales", "platform")
    assert "consumers/consumers.yaml" in m.files and any(n.startswith("catalog/") for n in m.files)
    doc = doc_of(project["data"])
    assert set(doc["members"]) == set(m.files)
    assert doc["signatures"][0]["keyid"] == project["kid1"]


def test_build_is_deterministic(project: dict[str, Any]) -> None:
    again, _ = build_bundle(project["cfg"], project["k1"], sequence=10, now=NOW,
                            git_revision=project["manifest"].git_revision)
    assert again == project["data"]


def test_rotation_either_trusted_key_verifies(project: dict[str, Any]) -> None:
    by_k2 = resign(project, key="k2")
    assert verify_bundle(by_k2, trusted(project, "p1", "p2"), now=NOW).key_id == project["kid2"]
    assert verify_bundle(project["data"], trusted(project, "p1", "p2"), now=NOW).key_id == project["kid1"]


def test_key_id_is_the_public_keys_hash(project: dict[str, Any]) -> None:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    pub = keys.public_key(project["p1"])
    raw = pub.key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    assert pub.key_id == hashlib.sha256(raw).hexdigest()[:16] == project["kid1"]
    private = next((project["base"] / "k1").glob("*.key"))
    assert private.stat().st_mode & 0o077 == 0
    pem_body = "".join(private.read_text().splitlines()[1:-1])
    assert pem_body not in repr(project["k1"]) and "PRIVATE" not in repr(project["k1"])


# ---------------------------------------------------------------- faults: each refused with its reason


def _flip_member(data: bytes) -> bytes:
    doc = doc_of(data)
    name = sorted(doc["members"])[0]
    doc["members"][name] = doc["members"][name].replace("a", "b", 1) + " "
    return orjson.dumps(doc)


def _extra_member(data: bytes) -> bytes:
    doc = doc_of(data)
    doc["members"]["policies/0000/zz.policy"] = "scope platform\nallow read * to everyone;\n"
    return orjson.dumps(doc)


def _missing_member(data: bytes) -> bytes:
    doc = doc_of(data)
    doc["members"].pop(sorted(doc["members"])[0])
    return orjson.dumps(doc)


def _unsigned_change(data: bytes) -> bytes:  # a raised sequence, the signature left as it was
    doc = doc_of(data)
    doc["manifest"] = doc["manifest"].replace('"sequence":10', '"sequence":99')
    return orjson.dumps(doc)


def _bad_signature_bytes(data: bytes) -> bytes:
    doc = doc_of(data)
    sig = bytearray(base64.b64decode(doc["signatures"][0]["sig"]))
    sig[0] ^= 1
    doc["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()
    return orjson.dumps(doc)


def _outer_format(data: bytes) -> bytes:
    doc = doc_of(data)
    doc["policyengine_bundle"] = 2
    return orjson.dumps(doc)


def _boolean_format(data: bytes) -> bytes:  # true == 1 in Python: not a format version
    doc = doc_of(data)
    doc["policyengine_bundle"] = True
    return orjson.dumps(doc)


def _extra_top_field(data: bytes) -> bytes:
    doc = doc_of(data)
    doc["pickle"] = "gASVAAAAAAAAAAA="
    return orjson.dumps(doc)


FAULTS = [  # (id, mutation of the good bundle's bytes, the reason expected)
    ("truncated", lambda d: d[: len(d) // 2], "corrupt or truncated"),
    ("empty", lambda d: b"", "corrupt or truncated"),
    ("garbage", lambda d: bytes(range(256)), "corrupt or truncated"),
    ("not-an-object", lambda d: b"[1, 2]", "no 'policyengine_bundle'"),
    ("corrupt-member", _flip_member, "does not match its hash"),
    ("extra-member", _extra_member, "not in the manifest"),
    ("missing-member", _missing_member, "missing"),
    ("manifest-changed-unsigned", _unsigned_change, "bad signature"),
    ("signature-bytes-changed", _bad_signature_bytes, "bad signature"),
    ("unknown-outer-format", _outer_format, "unknown bundle format version 2"),
    ("boolean-format", _boolean_format, "unknown bundle format version True"),
    ("extra-top-level-field", _extra_top_field, "unexpected or missing top-level fields"),
]


@pytest.mark.parametrize(("mutate", "reason"), [f[1:] for f in FAULTS], ids=[f[0] for f in FAULTS])
def test_tampered_bundle_is_refused(project: dict[str, Any], mutate: Any, reason: str) -> None:
    with pytest.raises(BundleError, match=reason) as caught:
        verify_bundle(mutate(project["data"]), trusted(project), now=NOW)
    assert "\n" not in str(caught.value)


SIGNED_FAULTS = [  # validly signed by a trusted key, refused by a later check
    ("unknown-manifest-format", {"format": 2}, "unknown bundle format version 2"),
    ("expired", {"expires": "2026-06-01T11:59:59Z"}, "expired at 2026-06-01T11:59:59Z"),
    ("member-name-escapes", {"__members": {"policies/../../etc/x.policy": "scope platform\n"}},
     "member name or hash is invalid"),
    ("member-outside-sections", {"__members": {"run/x.policy": "scope platform\n"}},
     "member name or hash is invalid"),
    ("revision-not-its-members", {"revision": "000000000000"}, "hash to"),
]


@pytest.mark.parametrize(("changes", "reason"), [f[1:] for f in SIGNED_FAULTS], ids=[f[0] for f in SIGNED_FAULTS])
def test_signed_but_unacceptable_bundle_is_refused(project: dict[str, Any], changes: dict[str, Any],
                                                   reason: str, tmp_path: Path) -> None:
    changes = dict(changes)
    members = changes.pop("__members", None)
    if members is not None:
        members = {**doc_of(project["data"])["members"], **members}
    path = write(tmp_path, "b.bundle", resign(project, members=members, **changes))
    with pytest.raises(BundleError, match=reason):
        load_bundle(path, [project["p1"]], now=NOW)


def test_unknown_key_id_is_refused(project: dict[str, Any]) -> None:
    with pytest.raises(BundleError, match=f"unknown key id.* {project['kid2']} .*trusted: {project['kid1']}"):
        verify_bundle(resign(project, key="k2"), trusted(project, "p1"), now=NOW)


def test_trusted_key_id_on_another_keys_signature_is_refused(project: dict[str, Any]) -> None:
    doc = doc_of(resign(project, key="k2"))
    doc["signatures"][0]["keyid"] = project["kid1"]  # claims the trusted key, signed by another
    with pytest.raises(BundleError, match="bad signature"):
        verify_bundle(orjson.dumps(doc), trusted(project), now=NOW)


def test_no_public_keys_refuses_every_bundle(project: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="no public keys configured"):
        load_bundle(write(tmp_path, "b.bundle", project["data"]), [])


def test_a_bundle_that_does_not_load_names_its_member_not_a_temp_folder(project: dict[str, Any],
                                                                         tmp_path: Path) -> None:
    members = dict(doc_of(project["data"])["members"])
    name = next(n for n in sorted(members) if n.endswith("sales.policy"))
    members[name] = members[name].replace("allow read", "allow reed", 1)
    path = write(tmp_path, "b.bundle", resign(project, members=members))
    with pytest.raises(BundleError, match=r"does not load: \S*policies/sales.policy:\d+:\d+: error") as caught:
        load_bundle(path, [project["p1"]], now=NOW)
    assert "policyengine-bundle-" not in str(caught.value)


# ---------------------------------------------------------------- the holder: last good stays in force


def test_holder_keeps_the_last_good_bundle_and_refuses_rollback(project: dict[str, Any], tmp_path: Path,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    base = tmp_path / "p"
    config = make_project(base)
    (base / "policies/platform.policy").write_text(
        (base / "policies/platform.policy").read_text() + "\n# v2\n", encoding="utf-8")
    v2, m2 = build_bundle(load_config(config), project["k1"], sequence=20, now=NOW)
    assert m2.revision != project["manifest"].revision
    path = write(tmp_path, "live.bundle", project["data"])
    holder = bundle_holder(path, [project["p1"]])
    assert holder.bundle_version == project["manifest"].revision
    assert holder.evaluate("alice", "sales.orders").bundle_version == project["manifest"].revision

    write(tmp_path, "live.bundle", v2)
    assert holder.reload().ok and holder.bundle_version == m2.revision

    for bad, reason in [(project["data"], "older than the one in force"),  # rollback to sequence 10
                        (v2[:100], "corrupt or truncated"),
                        (resign(project, sequence=20), "is the one in force but names another revision"),
                        (resign(project, key="k2", sequence=30), "unknown key id")]:
        caplog.clear()
        write(tmp_path, "live.bundle", bad)
        with caplog.at_level(logging.ERROR, logger="policyengine"):
            result = holder.reload()
        assert not result.ok and reason in (result.error or "")
        assert holder.bundle_version == m2.revision  # the last good one stays in force
        assert holder.evaluate("alice", "sales.orders").bundle_version == m2.revision
        assert sum(reason in r.getMessage() for r in caplog.records) == 1  # logged once
    write(tmp_path, "live.bundle", v2)  # the same bundle again: accepted, unchanged
    assert holder.reload().ok and holder.bundle_version == m2.revision


def test_source_with_no_good_bundle_fails_the_first_load(project: dict[str, Any], tmp_path: Path) -> None:
    source = BundleSource(write(tmp_path, "b.bundle", b"{"), trusted(project))
    with pytest.raises(BundleError, match="corrupt"):
        source.load()
    assert source.in_force is None


def test_compiled_catalog_is_the_catalog_the_sources_give(project: dict[str, Any], tmp_path: Path) -> None:
    from policyengine.engine.bundlefile import COMPILED_CATALOG

    cfg = project["cfg"]
    members = doc_of(project["data"])["members"]
    assert COMPILED_CATALOG in members
    engine = load_bundle(write(tmp_path, "b.bundle", project["data"]), [project["p1"]])
    plain = policyengine.load_catalog(list(cfg.catalog))
    assert engine.catalog.products == plain.products  # names, columns, tags, owners, samples, sources
    for name, product in plain.products.items():  # and what compares False: spans, approvals, ids
        got = engine.catalog.products[name]
        assert (got.span, got.domain_span, got.approvals, got.contract_id) == \
            (product.span, product.domain_span, product.approvals, product.contract_id)
        assert [(c.span, c.approvals) for c in got.columns] == [(c.span, c.approvals) for c in product.columns]
        assert [s.span for s in got.samples] == [s.span for s in product.samples]
    assert set(engine.catalog.taxonomy.tags) == set(plain.taxonomy.tags)
    without = {n: t for n, t in members.items() if n != COMPILED_CATALOG}  # an older builder's bundle
    fallback = load_bundle(write(tmp_path, "c.bundle", resign(project, members=without)), [project["p1"]])
    assert fallback.bundle_version == engine.bundle_version
    assert set(fallback.catalog.products) == set(plain.products)


def test_crlf_files_keep_their_bytes_and_revision(project: dict[str, Any], tmp_path: Path) -> None:
    config = make_project(tmp_path / "p")
    for f in (tmp_path / "p/policies").glob("*.policy"):
        f.write_bytes(f.read_bytes().replace(b"\n", b"\r\n"))
    cfg = load_config(config)
    data, manifest = build_bundle(cfg, project["k1"], sequence=1, now=NOW)
    from_sources = policyengine.load(list(cfg.policies), list(cfg.catalog), consumers=cfg.consumers)
    engine = load_bundle(write(tmp_path, "b.bundle", data), [project["p1"]], now=NOW)
    assert engine.bundle_version == manifest.revision == from_sources.bundle_version
    assert engine.policy_version == from_sources.policy_version


def test_polling_reloads_a_replaced_file_once_and_stops(project: dict[str, Any], tmp_path: Path) -> None:
    import threading

    from policyengine.engine.bundlefile import bundle_service

    base = tmp_path / "p"
    config = make_project(base)
    (base / "policies/hr.policy").write_text((base / "policies/hr.policy").read_text() + "\n# v3\n")
    v3, m3 = build_bundle(load_config(config), project["k1"], sequence=30, now=NOW)
    path = write(tmp_path, "live.bundle", project["data"])
    poller = bundle_service(path, [project["p1"]], interval=0.01)
    holder = poller.holder
    stop = poller.start()
    try:
        aside = write(tmp_path, "live.bundle.tmp", v3)
        aside.replace(path)  # as `build` writes it
        changed = threading.Event()
        for _ in range(1000):  # wait for the condition (bounded), not for a time
            if holder.bundle_version == m3.revision:
                changed.set()
                break
            stop.wait(0.01)
        assert changed.is_set() and holder.reloads == 1
    finally:
        holder.close()  # what the app's lifespan shutdown calls
    assert stop.is_set()


def test_the_collector_is_restored_after_a_load_good_or_bad(project: dict[str, Any], tmp_path: Path) -> None:
    import gc

    members = dict(doc_of(project["data"])["members"])
    name = next(n for n in sorted(members) if n.endswith("sales.policy"))
    broken = resign(project, members={**members, name: members[name].replace("allow read", "allow reed", 1)})
    assert gc.isenabled()
    load_bundle(write(tmp_path, "good.bundle", project["data"]), [project["p1"]], now=NOW)
    assert gc.isenabled()
    with pytest.raises(BundleError):
        load_bundle(write(tmp_path, "bad.bundle", broken), [project["p1"]], now=NOW)
    assert gc.isenabled()
    gc.disable()
    try:  # a caller that runs without the collector keeps it off
        load_bundle(write(tmp_path, "good.bundle", project["data"]), [project["p1"]], now=NOW)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_scan_tags_travel_in_the_bundle(project: dict[str, Any], tmp_path: Path) -> None:
    import json

    report = tmp_path / "scan.json"
    report.write_text(json.dumps({"findings": [{"source": "/elsewhere/sales.orders.parquet", "column": "region",
                                                "entity": "EMAIL_ADDRESS", "tag": "pii.email", "score": 0.9}]}))
    cfg = project["cfg"]
    data, manifest = build_bundle(cfg, project["k1"], sequence=11, now=NOW, scan=report)
    from_sources = policyengine.load(list(cfg.policies), list(cfg.catalog), consumers=cfg.consumers, scan=report)
    engine = load_bundle(write(tmp_path, "s.bundle", data), [project["p1"]], now=NOW)
    assert "scan/scan.json" in manifest.files
    assert engine.bundle_version == manifest.revision == from_sources.bundle_version != project["manifest"].revision
    region = engine.catalog.products["sales.orders"].column("region")
    assert "pii.email" in region.tags
    for consumer in ("alice", "bob", "carol", "dave"):
        got = engine.evaluate(consumer, "sales.orders", at=NOW).to_dict()
        assert got == from_sources.evaluate(consumer, "sales.orders", at=NOW).to_dict()
    doc = doc_of(data)  # without its compiled catalog, a bundle with a scan report is refused
    members = {n: t for n, t in doc["members"].items() if n != "compiled/catalog.json"}
    changed = dataclasses.replace(manifest, files={n: hashlib.sha256(t.encode()).hexdigest()
                                                   for n, t in sorted(members.items())})
    with pytest.raises(BundleError, match="a scan report needs the compiled catalog"):
        load_bundle(write(tmp_path, "t.bundle", sign_bundle(changed, members, project["k1"])), [project["p1"]],
                    now=NOW)


def test_checked_form_is_the_check_the_sources_give(project: dict[str, Any], tmp_path: Path) -> None:
    """The rules come from `compiled/checked.json` (no parse, no check): the same files, rules,
    columns, masks, scopes, warnings and spans as checking the sources."""
    from policyengine.engine import checkedform
    from policyengine.engine.bundlefile import COMPILED_CHECKED

    cfg = project["cfg"]
    assert COMPILED_CHECKED in doc_of(project["data"])["members"]
    from_sources = policyengine.load(list(cfg.policies), list(cfg.catalog), consumers=cfg.consumers)
    engine = load_bundle(write(tmp_path, "b.bundle", project["data"]), [project["p1"]])
    got, want = engine.check_result, from_sources.check_result
    rev = engine.bundle_version
    assert orjson.dumps(checkedform.encode(got, rev)) == orjson.dumps(checkedform.encode(want, rev))  # spans too
    assert [(r.scope, r.mask, r.index, dict(r.columns)) for r in got.rules] == \
        [(r.scope, r.mask, r.index, dict(r.columns)) for r in want.rules]
    assert any(r.mask is not None for r in got.rules) and any(r.rule.condition for r in got.rules)
    assert got.sources == want.sources and got.diagnostics == want.diagnostics
    parsed = {id(r) for f in got.files for r in f.rules}
    assert all(id(r.rule) in parsed for r in got.rules)  # the files' own rule objects


def test_checked_form_of_other_members_is_not_used(project: dict[str, Any], tmp_path: Path) -> None:
    """An insider's bundle whose policy texts changed but whose checked form did not: the form
    names another revision, so the texts themselves are parsed and checked (the change counts)."""
    members = dict(doc_of(project["data"])["members"])
    name = next(n for n in sorted(members) if n.endswith("sales.policy"))
    members[name] += "\n@name(\"everything\")\nallow read sales.* to everyone;\n"
    engine = load_bundle(write(tmp_path, "b.bundle", resign(project, members=members)), [project["p1"]])
    assert any(r.name == "everything" for r in engine.check_result.rules)


@pytest.mark.parametrize("node", ["os.system", "Decision", "__class__"])
def test_checked_form_names_only_the_asts_own_classes(project: dict[str, Any], tmp_path: Path, node: str) -> None:
    """The form is data: a node naming any class but the AST's own refuses the bundle (signed by
    an insider with the right revision), and nothing is built from it."""
    from policyengine.engine.bundlefile import COMPILED_CHECKED

    members = dict(doc_of(project["data"])["members"])
    form = orjson.loads(members[COMPILED_CHECKED])
    form["files"][0]["a"][1] = {"@": node, "a": ["x"]}
    members[COMPILED_CHECKED] = orjson.dumps(form).decode()
    bad = resign(project, members=members, revision=project["manifest"].revision)
    with pytest.raises(BundleError, match="does not load: .*unknown node"):
        load_bundle(write(tmp_path, "b.bundle", bad), [project["p1"]])


def test_a_replaced_bundle_engine_is_reclaimed(project: dict[str, Any], tmp_path: Path) -> None:
    """A server's bundle loads freeze the loaded engine out of the collector's walks; the next
    load thaws the previous one, so an engine nobody holds is freed (no leak per reload)."""
    import gc
    import weakref

    from policyengine.engine.bundlefile import engine_from

    def load_frozen() -> policyengine.Engine:
        return engine_from(verify_bundle(project["data"], trusted(project), now=NOW), freeze=True)

    gc.unfreeze()
    load_bundle(write(tmp_path, "b.bundle", project["data"]), [project["p1"]])
    assert gc.get_freeze_count() == 0  # the library's own loads never freeze
    first = load_frozen()
    assert gc.get_freeze_count() > 0
    first.holder = [first]  # held in a cycle (as a holder's callbacks may hold it): only the collector frees it
    gone = weakref.ref(first.compiled)
    del first
    load_frozen()
    gc.collect()
    assert gone() is None
    gc.unfreeze()


def test_hidden_folders_are_skipped_by_sources_and_bundle_alike(project: dict[str, Any], tmp_path: Path) -> None:
    """An editor's `.history/` copy of a policy file and a contract in `.trash/`: loading from
    the sources reads neither (the copy's rule names would clash), and the bundle carries neither;
    both give the same rules and revision."""
    config = make_project(tmp_path / "p")
    root = config.parent
    (root / "policies/.history").mkdir()
    shutil.copy(root / "policies/sales.policy", root / "policies/.history/sales.policy")
    (root / "products/.trash").mkdir()
    shutil.copy(next((root / "products").glob("*.yaml")), root / "products/.trash/old.yaml")
    cfg = load_config(config)
    from_sources = policyengine.load(list(cfg.policies), list(cfg.catalog), consumers=cfg.consumers)
    assert not any(".history" in r.rule.span.file for r in from_sources.check_result.rules)
    data, manifest = build_bundle(cfg, project["k1"], sequence=1, now=NOW)
    assert not [n for n in manifest.files if "/." in n]
    engine = load_bundle(write(tmp_path, "b.bundle", data), [project["p1"]])
    assert engine.bundle_version == from_sources.bundle_version == project["manifest"].revision
    assert [r.rule.span.file for r in engine.check_result.rules] == \
        [r.rule.span.file for r in from_sources.check_result.rules]
    assert set(engine.catalog.products) == set(from_sources.catalog.products)


NESTED_CONTRACT = """apiVersion: v3.0.2
kind: DataContract
id: nested-1
name: profiles
version: 1.0.0
status: active
domain: lab
dataProduct: profiles
schema:
- name: profiles
  properties:
  - name: id
    logicalType: string
  - name: contact
    logicalType: object
    properties:
    - name: email
      logicalType: string
      description: where to write
    - name: phones
      logicalType: array
      items:
        logicalType: string
"""


def test_nested_fields_travel_in_the_compiled_catalog(project: dict[str, Any], tmp_path: Path) -> None:
    """An object's properties and an array's items (Column.fields) are in the bundle's catalog,
    as the sources give them."""
    config = make_project(tmp_path / "p")
    (config.parent / "products/lab.profiles.yaml").write_text(NESTED_CONTRACT, encoding="utf-8")
    cfg = load_config(config)
    data, _ = build_bundle(cfg, project["k1"], sequence=1, now=NOW)
    engine = load_bundle(write(tmp_path, "b.bundle", data), [project["p1"]])
    want = policyengine.load_catalog(list(cfg.catalog)).products["lab.profiles"]
    got = engine.catalog.products["lab.profiles"]
    assert got == want and got.column("contact") == want.column("contact")
    contact = got.column("contact")
    assert contact is not None and [f.name for f in contact.fields] == ["email", "phones"]
    assert [f.name for f in contact.fields[1].fields] == ["[]"]
    assert [c.span for c in contact.fields] == [c.span for c in want.column("contact").fields]


def _form1_column(c: Any) -> list[Any]:
    """A column as a builder before the columnar compiled catalog wrote it (form 1)."""
    span = None if c.span is None else [c.span.file, c.span.line, c.span.column, c.span.end_line, c.span.end_column]
    return [c.name, c.logical_type, c.physical_type, c.description, c.classification, sorted(c.tags), span,
            list(c.approvals), [_form1_column(f) for f in c.fields]]


def test_compiled_catalog_of_an_older_builder_still_loads(project: dict[str, Any], tmp_path: Path) -> None:
    """A compiled catalog in form 1 (one list per column, no "form" key; a replica's persisted
    bundle from before the columnar form) loads to the same catalog as the columnar one."""
    from policyengine.engine.bundlefile import COMPILED_CATALOG

    members = dict(doc_of(project["data"])["members"])
    columnar = load_bundle(write(tmp_path, "b.bundle", project["data"]), [project["p1"]])
    doc = orjson.loads(members[COMPILED_CATALOG])
    assert doc["form"] == 2
    products = doc["products"]
    for row in products:
        row[2] = [_form1_column(c) for c in columnar.catalog.products[row[0]].columns]
    members[COMPILED_CATALOG] = orjson.dumps({"products": products}).decode()
    old = load_bundle(write(tmp_path, "c.bundle", resign(project, members=members)), [project["p1"]])
    assert old.catalog.products == columnar.catalog.products
    for name, product in columnar.catalog.products.items():
        assert [(c.span, c.approvals) for c in old.catalog.products[name].columns] == \
            [(c.span, c.approvals) for c in product.columns]


@pytest.mark.parametrize(("change", "why"), [
    (lambda cols: cols["n"].__setitem__(0, -1), "a negative string index"),
    (lambda cols: cols["t"].__setitem__(0, 10**6), "a tag set index past the table"),
    (lambda cols: cols["l"].pop(), "one list shorter than the columns"),
    (lambda cols: cols["s"].pop(), "a span number missing"),
    (lambda cols: cols.__setitem__("f", -5), "a span file index out of range"),
])
def test_malformed_columnar_catalog_does_not_load(project: dict[str, Any], tmp_path: Path, change: Any,
                                                  why: str) -> None:
    """A validly signed bundle whose columnar catalog is malformed is refused with one line, not
    loaded with columns silently dropped or read from the end of a table."""
    from policyengine.engine.bundlefile import COMPILED_CATALOG

    members = dict(doc_of(project["data"])["members"])
    doc = orjson.loads(members[COMPILED_CATALOG])
    change(doc["products"][0][2])
    members[COMPILED_CATALOG] = orjson.dumps(doc).decode()
    with pytest.raises(BundleError, match="does not load: ValueError: malformed compiled catalog"):
        load_bundle(write(tmp_path, "m.bundle", resign(project, members=members)), [project["p1"]])


def test_columnar_catalog_round_trips_columns_without_a_span_or_in_other_files() -> None:
    """Spans in one file are stored with the file named once; columns without a span, or with
    spans in different files (a catalog built in memory), take the per-column path, and come back
    the same, nested fields and approvals included."""
    from policyengine.catalog.contracts import Column, Product, catalog_of
    from policyengine.catalog.taxonomy import load_taxonomy
    from policyengine.diagnostics import Span
    from policyengine.engine.bundlefile import _catalog_from_compiled, _compiled_catalog

    inner = Column("email", "string", tags=frozenset({"pii.email"}), span=Span("b.yaml", 3, 1, 3, 6))
    mixed = (Column("id", "integer", span=Span("a.yaml", 1, 1, 1, 3)),
             Column("contact", "object", tags=frozenset({"pii.email"}), fields=(inner,), approvals=("x",)),
             Column("note", "string", "varchar", "free text", "internal", span=Span("c.yaml", 9, 2, 9, 6)))
    same = (Column("a", "string", span=Span("s.yaml", 1, 1, 1, 2)), Column("b", "date", span=Span("s.yaml", 2, 1, 2, 2)))
    products = [Product("d.mixed", "d", mixed, span=Span("a.yaml", 1, 1, 1, 2)), Product("d.same", "d", same),
                Product("d.empty", "d", ())]
    taxonomy = load_taxonomy([])
    back = _catalog_from_compiled(_compiled_catalog(catalog_of(products, taxonomy)), taxonomy)
    for p in products:
        got = back.products[p.name]
        assert got == p and got.span == p.span

        def flat(cols: tuple[Column, ...]) -> list[Any]:
            return [(c, c.span, c.approvals, flat(c.fields)) for c in cols]
        assert flat(got.columns) == flat(p.columns)
