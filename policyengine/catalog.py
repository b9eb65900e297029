"""The catalog of data products, read from ODCS v3 data contracts (one YAML file per product).

A product is named `domain.product`: `domain` is the contract's `domain`, `product` its
`dataProduct` (or, when absent, its `name`). Columns come from the contract's schema object
(`schema[0].properties`); column tags are the property's `tags` (dotted, hierarchical). Where
sample data lives is the contract's `servers` entries of `type: local` with a `path` (relative to
the contract file) and a `format`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType

from policyengine.diagnostics import Diagnostic, PolicyError, Span
from policyengine.taxonomy import Taxonomy, builtin_taxonomy
from policyengine.yamlsource import LocatedDict, YamlError, load_yaml_file

LOGICAL_TYPES = frozenset(
    {"string", "integer", "number", "boolean", "date", "timestamp", "time", "object", "array"}
)
# physicalType → logicalType when only a physical type is given
_PHYSICAL_HINTS = (
    (re.compile(r"^(var)?char|text|string|uuid", re.I), "string"),
    (re.compile(r"^(tiny|small|big)?int|long|short", re.I), "integer"),
    (re.compile(r"^(decimal|numeric|float|double|real)", re.I), "number"),
    (re.compile(r"^bool", re.I), "boolean"),
    (re.compile(r"^timestamp|datetime", re.I), "timestamp"),
    (re.compile(r"^date", re.I), "date"),
)
_KNOWN_TOP = frozenset(
    {
        "apiVersion", "kind", "id", "name", "version", "status", "domain", "dataProduct",
        "tenant", "team", "description", "schema", "servers", "tags", "customProperties",
        "support", "price", "roles", "slaProperties", "slaDefaultElement", "authoritativeDefinitions",
        "contractCreatedTs", "quality",
    }
)
_KNOWN_PROPERTY = frozenset(
    {
        "name", "logicalType", "physicalType", "physicalName", "description", "classification",
        "tags", "required", "unique", "primaryKey", "primaryKeyPosition", "partitioned",
        "partitionKeyPosition", "criticalDataElement", "businessName", "examples", "quality",
        "logicalTypeOptions", "transformSourceObjects", "transformLogic", "transformDescription",
        "authoritativeDefinitions", "encryptedName", "customProperties", "items", "properties", "id",
    }
)
_KNOWN_SCHEMA_OBJECT = frozenset(
    {
        "name", "id", "physicalType", "physicalName", "logicalType", "description", "businessName",
        "authoritativeDefinitions", "tags", "customProperties", "dataGranularityDescription", "properties",
        "relationships", "quality",
    }
)
_KNOWN_SERVER = frozenset(  # the common fields, then those of every server type (ODCS v3.0-v3.1)
    {
        "server", "id", "type", "description", "environment", "roles", "customProperties",
        "account", "catalog", "database", "dataset", "delimiter", "endpointUrl", "format", "host", "location",
        "path", "port", "project", "region", "regionName", "schema", "serviceName", "stagingDir", "warehouse",
    }
)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a product, with its type and tags."""

    name: str
    logical_type: str
    physical_type: str = ""
    description: str = ""
    classification: str = ""
    tags: frozenset[str] = frozenset()
    span: Span | None = field(default=None, compare=False)

    def has_tag(self, tag: str) -> bool:
        """True when the column carries `tag` or a tag below it (`pii` matches `pii.email`)."""
        prefix = tag + "."
        return any(t == tag or t.startswith(prefix) for t in self.tags)


@dataclass(frozen=True, slots=True)
class SampleSource:
    """A file with sample data of a product."""

    path: Path
    format: str


@dataclass(frozen=True)
class Product:
    """A data product as described by its contract."""

    name: str
    domain: str
    columns: tuple[Column, ...]
    version: str = ""
    status: str = ""
    owner: str = ""
    description: str = ""
    samples: tuple[SampleSource, ...] = ()
    source: str = ""

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column | None:
        for c in self.columns:
            if c.name == name:
                return c
        return None


@dataclass(frozen=True)
class Catalog:
    """Every known product by name, the taxonomy, and the loader's warnings."""

    products: Mapping[str, Product]
    taxonomy: Taxonomy = field(default_factory=builtin_taxonomy)
    warnings: tuple[Diagnostic, ...] = ()

    def __contains__(self, name: str) -> bool:
        return name in self.products

    def get(self, name: str) -> Product | None:
        return self.products.get(name)

    @property
    def domains(self) -> frozenset[str]:
        return frozenset(p.domain for p in self.products.values())

    def with_extra_tags(self, extra: Mapping[str, Mapping[str, Iterable[str]]]) -> Catalog:
        """A catalog whose columns also carry `extra[product][column]` tags (e.g. from a scan)."""
        products = dict(self.products)
        for pname, cols in extra.items():
            product = products.get(pname)
            if product is None:
                continue
            new_cols = tuple(
                replace(c, tags=c.tags | frozenset(cols.get(c.name, ()))) for c in product.columns
            )
            products[pname] = replace(product, columns=new_cols)
        return replace(self, products=MappingProxyType(products))

    def product_for_sample(self, path: str | Path) -> Product | None:
        """The product whose sample file is `path` (matched by resolved path, then by file name)."""
        p = Path(path)
        for product in self.products.values():
            for s in product.samples:
                if s.path.resolve() == p.resolve():
                    return product
        for product in self.products.values():
            for s in product.samples:
                if s.path.name == p.name:
                    return product
        return None


class CatalogError(PolicyError):
    """The catalog has errors (malformed contracts, duplicate products, ...)."""


def _span(path: str, where: tuple[int, int], length: int = 1) -> Span:
    line, col = where
    return Span(path, line, col, line, col + max(1, length))


def _logical_type(prop: Mapping, source: str, diags: list[Diagnostic]) -> str:
    logical = prop.get("logicalType")
    physical = str(prop.get("physicalType") or "")
    where = prop.where("logicalType") if isinstance(prop, LocatedDict) else (1, 1)
    if logical is None:
        for pattern, guess in _PHYSICAL_HINTS:
            if pattern.search(physical):
                return guess
        return "string" if not physical else "object"
    logical = str(logical).lower()
    if logical == "datetime":
        logical = "timestamp"
    if logical not in LOGICAL_TYPES:
        diags.append(
            Diagnostic(
                "error",
                f"unknown logicalType '{logical}' (expected one of {', '.join(sorted(LOGICAL_TYPES))})",
                _span(source, where, len(logical)),
                code="catalog-type",
            )
        )
    return logical


def parse_contract(data: object, source: str, taxonomy: Taxonomy) -> tuple[Product | None, list[Diagnostic]]:
    """Turn one parsed ODCS contract into a Product, with errors and warnings located in `source`."""
    diags: list[Diagnostic] = []

    def err(msg: str, where: tuple[int, int] = (1, 1), code: str = "catalog") -> None:
        diags.append(Diagnostic("error", msg, _span(source, where), code=code))

    def warn(msg: str, where: tuple[int, int] = (1, 1), code: str = "catalog-unknown-field") -> None:
        diags.append(Diagnostic("warning", msg, _span(source, where), code=code))

    if not isinstance(data, LocatedDict):
        err("a data contract must be a YAML mapping")
        return None, diags
    for key in data:
        if key not in _KNOWN_TOP:
            warn(f"unknown field '{key}' ignored", data.where(key))
    for required in ("id", "version", "status"):
        if required not in data:
            warn(f"missing ODCS field '{required}' (required by the standard; not used here)",
                 code="catalog-missing-field")
    kind = data.get("kind")
    if kind != "DataContract":
        err(f"'kind' must be 'DataContract', found {kind!r}", data.where("kind"))
    api = str(data.get("apiVersion", ""))
    if not api.startswith("v3"):
        err(f"'apiVersion' must be an ODCS v3 version (e.g. v3.0.2), found {api!r}", data.where("apiVersion"))
    domain = data.get("domain")
    short = data.get("dataProduct") or data.get("name")
    for label, value in (("domain", domain), ("dataProduct or name", short)):
        if not isinstance(value, str) or not _NAME.match(value):
            err(f"'{label}' must be a plain name (letters, digits, _ and -), found {value!r}",
                data.where(label.split()[0]))
    schema = data.get("schema")
    if not isinstance(schema, list) or not schema or not isinstance(schema[0], LocatedDict):
        err("'schema' must be a list with one schema object", data.where("schema"))
        return None, diags
    if len(schema) > 1:
        warn("only the first schema object is used as the product's columns", schema[1].where(),
             code="catalog-multiple-schema")
    obj = schema[0]
    for key in obj:
        if key not in _KNOWN_SCHEMA_OBJECT:
            warn(f"unknown field '{key}' of schema object '{obj.get('name', '')}' ignored", obj.where(key))
    props = obj.get("properties")
    if not isinstance(props, list) or not props:
        err("the schema object needs a non-empty 'properties' list", obj.where("properties"))
        return None, diags
    columns: list[Column] = []
    seen: set[str] = set()
    roots = {t.split(".")[0] for t in taxonomy.tags}
    for prop in props:
        if not isinstance(prop, LocatedDict):
            err("each property must be a mapping with at least 'name'", obj.where("properties"))
            continue
        name = prop.get("name")
        if not isinstance(name, str) or not name:
            err("property without a 'name'", prop.where())
            continue
        if name in seen:
            err(f"duplicate column '{name}'", prop.where("name"), code="catalog-duplicate")
            continue
        seen.add(name)
        for key in prop:
            if key not in _KNOWN_PROPERTY:
                warn(f"unknown field '{key}' of column '{name}' ignored", prop.where(key))
        raw_tags = prop.get("tags") or []
        if isinstance(raw_tags, str):
            raw_tags = [raw_tags]
        if not isinstance(raw_tags, list) or not all(isinstance(t, str) for t in raw_tags):
            err(f"'tags' of column '{name}' must be a list of tag names", prop.where("tags"))
            raw_tags = []
        tags = frozenset(raw_tags)
        for t in sorted(tags):
            if "." in t and t.split(".")[0] in roots and t not in taxonomy:
                warn(f"tag '{t}' of column '{name}' is not in the taxonomy", prop.where("tags"),
                     code="catalog-unknown-tag")
        columns.append(
            Column(
                name=name,
                logical_type=_logical_type(prop, source, diags),
                physical_type=str(prop.get("physicalType") or ""),
                description=str(prop.get("description") or ""),
                classification=str(prop.get("classification") or ""),
                tags=tags,
                span=_span(source, prop.where("name"), len(name)),
            )
        )
    samples: list[SampleSource] = []
    servers = data.get("servers") or []
    if not isinstance(servers, list):
        err("'servers' must be a list", data.where("servers"))
        servers = []
    for server in servers:
        if isinstance(server, LocatedDict):
            for key in server:
                if key not in _KNOWN_SERVER:
                    warn(f"unknown field '{key}' of server '{server.get('server', '')}' ignored", server.where(key))
        if isinstance(server, Mapping) and server.get("type") == "local" and server.get("path"):
            path = (Path(source).parent / str(server["path"])).resolve()
            fmt = str(server.get("format") or path.suffix.lstrip(".")).lower()
            samples.append(SampleSource(path, fmt))
    team = data.get("team")
    owner = ""
    if isinstance(team, list):
        owners = [m.get("username", "") for m in team if isinstance(m, Mapping) and m.get("role") == "owner"]
        owner = owners[0] if owners else ""
    elif isinstance(team, Mapping):
        owner = str(team.get("name", ""))
    desc = data.get("description")
    if isinstance(desc, Mapping):
        desc = desc.get("purpose") or desc.get("usage") or ""
    if any(d.severity == "error" for d in diags):
        return None, diags
    product = Product(
        name=f"{domain}.{short}",
        domain=str(domain),
        columns=tuple(columns),
        version=str(data.get("version", "")),
        status=str(data.get("status", "")),
        owner=str(owner),
        description=str(desc or ""),
        samples=tuple(samples),
        source=source,
    )
    return product, diags


def _contract_files(paths: Iterable[str | Path]) -> list[Path]:
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files.extend(sorted(q for q in p.rglob("*") if q.suffix in (".yaml", ".yml")))
        else:
            files.append(p)
    return files


def load_catalog(paths: str | Path | Iterable[str | Path], taxonomy: Taxonomy | None = None) -> Catalog:
    """Load every contract under the given files/folders; raise CatalogError listing all errors."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    taxonomy = taxonomy or builtin_taxonomy()
    files = _contract_files(paths)
    diags: list[Diagnostic] = []
    products: dict[str, Product] = {}
    sources: dict[str, str] = {}
    for f in files:
        source = str(f)
        if not f.exists():
            diags.append(Diagnostic("error", "no such file or folder", file=source, code="catalog-io"))
            continue
        try:
            data = load_yaml_file(f)
        except YamlError as exc:
            diags.append(Diagnostic("error", str(exc).split(": error: ", 1)[-1], _yaml_span(str(exc), source),
                                    file=source, code="catalog-yaml"))
            continue
        try:
            sources[source] = f.read_text(encoding="utf-8")
        except OSError:
            pass
        product, found = parse_contract(data, source, taxonomy)
        diags.extend(found)
        if product is None:
            continue
        if product.name in products:
            diags.append(Diagnostic("error", f"product '{product.name}' is also defined in "
                                    f"{products[product.name].source}", _span(source, data.where("name")),
                                    code="catalog-duplicate"))
            continue
        products[product.name] = product
    errors = [d for d in diags if d.severity == "error"]
    if errors:
        raise CatalogError(diags, sources)
    return Catalog(MappingProxyType(products), taxonomy, tuple(diags))


def _yaml_span(message: str, source: str) -> Span | None:
    m = re.match(re.escape(source) + r":(\d+):(\d+):", message)
    if not m:
        return None
    line, col = int(m.group(1)), int(m.group(2))
    return Span(source, line, col, line, col + 1)
