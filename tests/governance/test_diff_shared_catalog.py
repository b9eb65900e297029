"""`diff` parses byte-identical contracts once for both versions; each version's products must
still name its own files (before `Catalog.relocated`, the base's sample paths and spans pointed
into the head's folder, so anything reading the base's samples read the head's)."""

from __future__ import annotations

import shutil
from pathlib import Path

from policyengine.catalog.contracts import load_catalog

MESH = Path(__file__).resolve().parents[2] / "examples" / "mesh"


def _below(path: str | Path, root: Path) -> bool:
    return Path(path).resolve().is_relative_to(root.resolve())


def test_relocated_catalog_names_the_other_versions_files(tmp_path: Path) -> None:
    head, base = tmp_path / "head", tmp_path / "base"
    shutil.copytree(MESH, head)
    shutil.copytree(MESH, base)
    catalog = load_catalog(head / "products")
    moved = catalog.relocated(head, base)
    assert set(moved.products) == set(catalog.products)
    samples = 0
    for name, product in moved.products.items():
        original = catalog.products[name]
        assert (product.name, product.columns, product.owners) == (original.name, original.columns, original.owners)
        assert _below(product.source, base) and not _below(product.source, head)
        assert product.span is not None and _below(product.span.file, base)
        for col in product.columns:
            assert col.span is None or _below(col.span.file, base)
        for sample in product.samples:
            samples += 1
            assert _below(sample.path, base) and sample.path.exists()
    assert samples, "the example mesh names sample files"
    # the same catalog loaded from the base itself names the same files
    direct = load_catalog(base / "products")
    for name, product in direct.products.items():
        assert [s.path for s in product.samples] == [s.path for s in moved.products[name].samples]
        assert product.source == moved.products[name].source


def test_paths_outside_the_root_are_left_alone(tmp_path: Path) -> None:
    head, base = tmp_path / "head", tmp_path / "base"
    shutil.copytree(MESH, head)
    catalog = load_catalog(head / "products")
    elsewhere = tmp_path / "elsewhere"
    moved = catalog.relocated(elsewhere, base)
    for name, product in moved.products.items():
        assert product.source == catalog.products[name].source
