"""The catalog: data contracts (+ scan results) → products with typed, tagged columns.

`contracts` (ODCS contracts → Catalog), `taxonomy` (the tag hierarchy), `consumers` (the consumers
file and its attribute schema), `scan_tags` (tags a scan report adds to columns).
Depends on nothing above the shared leaves (diagnostics, yamlsource).
"""

from policyengine.catalog.contracts import Catalog, CatalogError, Column, Product, load_catalog

__all__ = ["Catalog", "CatalogError", "Column", "Product", "load_catalog"]
