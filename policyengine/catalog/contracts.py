"""The catalog of data products, read from ODCS v3 data contracts (YAML files).

A product is named `domain.product`. A contract with one schema object gives one product:
`domain` is the contract's `domain`, `product` its `dataProduct` (else its `name`, else the
schema object's `name`). A contract with several schema objects gives one product per schema
object, `domain.<schema object name>`, each with its own columns and the contract's other fields
(version, status, owner, description) shared. A name that is not a plain name (`my quantum`) is
turned into one (`my_quantum`, see `plain_name`) with a warning naming the product as policies
must write it.

Columns are the schema object's `properties`; column tags are the property's `tags`, with the
tags of its nested properties (`properties` of an object, `items` of an array: `Column.fields`),
since policies and masks address the whole column. Tags of the
taxonomy are dotted and hierarchical (`pii` covers `pii.email`); a tag under a taxonomy root that
the taxonomy does not know (`pii.nmae`) is a warning. Other tags are ODCS free-form tags (`uid`,
`finance`): the loaded catalog's taxonomy includes them, so policies can target them.

Where sample data lives is the contract's `servers` entries of `type: local` with a `path`
(relative to the contract file) and a `format`. `{model}` in the path stands for the schema
object's name (one file per schema object, as in datacontract-cli); without it, a contract with
several schema objects maps the file to the schema object its file name (before the first dot)
names, by `name` or `physicalName`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from types import MappingProxyType

from policyengine.catalog.dbt import contracts_from_manifest, is_manifest
from policyengine.catalog.taxonomy import TagInfo, Taxonomy, builtin_taxonomy
from policyengine.diagnostics import Diagnostic, PolicyError, Span, located_diagnostic
from policyengine.yamlsource import (
    LocatedDict,
    YamlError,
    hidden_below,
    load_yaml_file,
    read_source,
)

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
        "relationships",
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
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*\Z")  # \Z: `$` would accept a trailing newline


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
    approvals: tuple[str, ...] = field(default=(), compare=False)  # `policyengine-approved` custom properties (see approvals())
    # nested properties (ODCS `properties` of an `object`; an `array`'s `items` is the one named "[]");
    # their tags are also in `tags`: policies and masks address the whole column
    fields: tuple[Column, ...] = ()

    def has_tag(self, tag: str) -> bool:
        """True when the column carries `tag` or a tag below it (`pii` matches `pii.email`)."""
        prefix = tag + "."
        return any(t == tag or t.startswith(prefix) for t in self.tags)


@dataclass(frozen=True, slots=True)
class SampleSource:
    """A file with sample data of a product."""

    path: Path
    format: str
    span: Span | None = field(default=None, compare=False)  # the contract's `path` that names it


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
    span: Span | None = field(default=None, compare=False)  # where the contract names the product
    domain_span: Span | None = field(default=None, compare=False)  # where the contract names its domain
    owners: tuple[str, ...] = ()  # the ODCS team's name and its owners' usernames (see _owners)
    approvals: tuple[str, ...] = field(default=(), compare=False)  # `policyengine-approved` custom properties (see approvals())
    contract_id: str = field(default="", compare=False)  # the ODCS contract's `id` ("" when it has none)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column | None:
        for c in self.columns:
            if c.name == name:
                return c
        return None

    def column_path(self, path: str) -> tuple[Column, ...]:
        """The properties a scanned column's path goes through, outermost first: `email` → (email,);
        a nested leaf `contact.email`, `emails[]`, `orders[].sku`, `attrs{}` or `attrs{key}` → the
        top-level column, then each nested property the contract describes along the path (as far
        as it does). () when no top-level column is a prefix of the path. A column whose name
        is the whole path wins over a nested reading (a column literally named `a.b`)."""
        whole = self.column(path)
        if whole is not None:
            return (whole,)
        return _descend(self.columns, path)

    def column_readings(self, path: str) -> tuple[tuple[Column, ...], ...]:
        """Every way a scanned column's path reads against the contract: `column_path`, and when
        that is a column literally named `a.b`, also the nested reading through a shorter
        top-level column `a` (a report does not say whether the sample's column was flat or a
        struct's leaf, so a gate must hold for both)."""
        first = self.column_path(path)
        if not first:
            return ()
        nested = _descend([c for c in self.columns if c.name != path], path)
        return (first, nested) if nested and nested[0].name != first[0].name else (first,)


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

    @cached_property
    def domains(self) -> frozenset[str]:
        """Every product's domain (computed once: the checker asks once per policy file)."""
        return frozenset(p.domain for p in self.products.values())

    @cached_property
    def by_prefix(self) -> Mapping[str, tuple[Product, ...]]:
        """Products by the part of their name before the first dot (the domain), in catalog
        order; computed once: a `sales.*` target reads its domain's products without matching
        every product of the mesh."""
        out: dict[str, list[Product]] = {}
        for name, p in self.products.items():
            out.setdefault(name.partition(".")[0], []).append(p)
        return MappingProxyType({d: tuple(ps) for d, ps in out.items()})

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

    def relocated(self, old_root: Path, new_root: Path) -> Catalog:
        """The same catalog read from a copy of its files at `new_root`: every product's source,
        sample paths and spans below `old_root` point below `new_root` instead. What `diff` uses
        when two versions' contracts are byte-identical: one parse serves both, and each version's
        products still name its own files (a base must never read the head's samples)."""
        old, new = old_root.resolve(), new_root.resolve()
        products = {name: _relocate_product(p, old, new) for name, p in self.products.items()}
        return replace(self, products=MappingProxyType(products))

    def product_for_sample(self, path: str | Path) -> Product | None:
        """The first product whose sample file is `path` (see `products_for_sample`)."""
        found = self.products_for_sample(path)
        return found[0] if found else None

    def products_for_sample(self, path: str | Path) -> tuple[Product, ...]:
        """Every product whose sample is `path`: a file claimed by two contracts is the sample of
        both. Matched by resolved path (a sample that is a folder claims the files below it),
        else, when no product claims it so, by file name."""
        p = Path(path).resolve()
        exact = tuple(product for product in self.products.values()
                      if any(s.path.resolve() == p or s.path.resolve() in p.parents for s in product.samples))
        if exact:
            return exact
        return tuple(product for product in self.products.values()
                     if any(s.path.name == p.name for s in product.samples))


_STEP = re.compile(r"\.|\[\]|\{\}|\{key\}")


def _moved(path: str, old: Path, new: Path) -> str:
    """`path` below `new` when it lies below `old` (as text, the way sources and spans hold it)."""
    if not path:
        return path
    p = Path(path)
    try:
        return str(new / p.resolve().relative_to(old))
    except ValueError:  # outside the version's root: shared by both (e.g. the built-in taxonomy)
        return path


def _moved_span(span: Span | None, old: Path, new: Path) -> Span | None:
    return None if span is None else replace(span, file=_moved(span.file, old, new))


def _relocate_column(col: Column, old: Path, new: Path) -> Column:
    return replace(col, span=_moved_span(col.span, old, new),
                   fields=tuple(_relocate_column(f, old, new) for f in col.fields))


def _relocate_product(product: Product, old: Path, new: Path) -> Product:
    return replace(
        product,
        source=_moved(product.source, old, new),
        span=_moved_span(product.span, old, new),
        domain_span=_moved_span(product.domain_span, old, new),
        columns=tuple(_relocate_column(c, old, new) for c in product.columns),
        samples=tuple(replace(s, path=Path(_moved(str(s.path), old, new)), span=_moved_span(s.span, old, new))
                      for s in product.samples),
    )


def _descend(columns: Iterable[Column], path: str) -> tuple[Column, ...]:
    """The longest property name that prefixes `path` and ends where a step (`.`, `[]`, `{}`,
    `{key}`) begins, then the same below it."""
    best: Column | None = None
    for c in columns:
        if path.startswith(c.name) and (len(path) == len(c.name) or _STEP.match(path, len(c.name))):
            if best is None or len(c.name) > len(best.name):
                best = c
    if best is None:
        return ()
    rest = path[len(best.name):]
    if not rest:
        return (best,)
    if rest.startswith("[]"):  # an array's items
        items = next((f for f in best.fields if f.name == "[]"), None)
        if items is None:
            return (best,)
        below = rest[2:]
        return (best, items) + (_descend(items.fields, below[1:]) if below.startswith(".") else ())
    if rest.startswith("."):
        return (best,) + _descend(best.fields, rest[1:])
    return (best,)  # a map's keys or values: the map's own property describes them


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
        guess = next((g for pattern, g in _PHYSICAL_HINTS if pattern.search(physical)),
                     "string" if not physical else "object")
        # ODCS wants a logicalType; without one, type checks of rules (`when`, `filter`) compare
        # against a guess, so say which (a warning: an error under `check --strict`)
        name = prop.get("name")
        at = prop.where("name") if isinstance(prop, LocatedDict) and "name" in prop else where
        basis = f"from its physicalType '{physical}'" if physical else "no physicalType either"
        diags.append(Diagnostic("warning", f"property '{name}' has no logicalType; read as '{guess}' "
                                f"({basis}); write logicalType: {guess} to say so",
                                _span(source, at, len(str(name or "")) or 1), code="catalog-type"))
        return guess
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


def plain_name(value: object) -> str:
    """A name policies can use for a free-text contract name: `my quantum` → `my_quantum`.

    Accents are dropped, letters lowercased, every run of other characters than a-z, 0-9 and `_`
    becomes one `_` (none at either end), and a leading digit gets a `_` in front. "" when no
    letter or digit remains.
    """
    text = unicodedata.normalize("NFKD", str(value)).encode("ascii", "ignore").decode("ascii")
    name = re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_")
    if not re.search(r"[a-z0-9]", name):
        return ""
    return "_" + name if name[0].isdigit() else name


def _name_or_derived(value: object, what: str, where: tuple[int, int], source: str,
                     diags: list[Diagnostic], policy_name: Callable[[str], str]) -> str:
    """`value` when it is already a plain name; else its `plain_name`, with a warning saying which
    name policies use (`policy_name(derived)`); an error when nothing usable remains."""
    if isinstance(value, str) and _NAME.match(value):
        return value
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        diags.append(Diagnostic("error", f"{what} must be a name, found {value!r}", _span(source, where),
                                code="catalog-name"))
        return ""
    derived = plain_name(value)
    if not derived:
        diags.append(Diagnostic("error", f"{what} {value!r} has no letter or digit to name the product with "
                                f"(write a plain name: letters, digits, _ and -)", _span(source, where),
                                code="catalog-name"))
        return ""
    diags.append(Diagnostic("warning", f"{what} {value!r} is not a plain name; policies name the product "
                            f"{policy_name(derived)}", _span(source, where), code="catalog-name"))
    return derived


def _is_free_form(tag: str, taxonomy: Taxonomy, roots: frozenset[str]) -> bool:
    """A tag outside the taxonomy's hierarchies (`uid`, `finance`): usable as it is."""
    return tag not in taxonomy and tag.split(".")[0].lower() not in roots


def _columns(obj: LocatedDict, source: str, taxonomy: Taxonomy, diags: list[Diagnostic]) -> list[Column]:
    """The columns of one schema object, with its errors and warnings added to `diags`."""

    def err(msg: str, where: tuple[int, int], code: str = "catalog") -> None:
        diags.append(Diagnostic("error", msg, _span(source, where), code=code))

    def warn(msg: str, where: tuple[int, int], code: str = "catalog-unknown-field") -> None:
        diags.append(Diagnostic("warning", msg, _span(source, where), code=code))

    for key in obj:
        if key not in _KNOWN_SCHEMA_OBJECT:
            warn(f"unknown field '{key}' of schema object '{obj.get('name', '')}' ignored", obj.where(key))
    props = obj.get("properties")
    if not isinstance(props, list) or not props:
        err("the schema object needs a non-empty 'properties' list", obj.where("properties"))
        return []
    return _properties(props, obj.where("properties"), source, taxonomy, diags, "")


_MAX_NESTING = 32  # nested properties deeper than this are an error (YAML nesting is bounded too)


def _properties(props: list, where: tuple[int, int], source: str, taxonomy: Taxonomy,
                diags: list[Diagnostic], outer: str, depth: int = 0) -> list[Column]:
    """The columns of a `properties` list (`outer`: the path of the property holding them, for
    messages: `contact.`)."""

    def err(msg: str, at: tuple[int, int], code: str = "catalog") -> None:
        diags.append(Diagnostic("error", msg, _span(source, at), code=code))

    if depth > _MAX_NESTING:
        err(f"properties nested deeper than {_MAX_NESTING} levels", where)
        return []
    columns: list[Column] = []
    seen: set[str] = set()
    index = (frozenset(t.split(".")[0].lower() for t in taxonomy.tags), {t.lower(): t for t in taxonomy.tags})
    for prop in props:
        if not isinstance(prop, LocatedDict):
            err("each property must be a mapping with at least 'name'", where)
            continue
        name = prop.get("name")
        if not isinstance(name, str) or not name:
            err("property without a 'name'", prop.where())
            continue
        if name in seen:
            err(f"duplicate column '{outer}{name}'", prop.where("name"), code="catalog-duplicate")
            continue
        seen.add(name)
        columns.append(_property(prop, name, source, taxonomy, diags, outer, depth, index))
    return columns


def _property(prop: LocatedDict, name: str, source: str, taxonomy: Taxonomy, diags: list[Diagnostic],
              outer: str, depth: int, index: tuple[frozenset[str], dict[str, str]]) -> Column:
    """One property, with its nested `properties` (an object) or `items` (an array) as `fields`;
    the column's tags include those of every nested property."""

    def err(msg: str, where: tuple[int, int], code: str = "catalog") -> None:
        diags.append(Diagnostic("error", msg, _span(source, where), code=code))

    def warn(msg: str, where: tuple[int, int], code: str = "catalog-unknown-field") -> None:
        diags.append(Diagnostic("warning", msg, _span(source, where), code=code))

    roots, by_lower = index
    label = outer + name
    for key in prop:
        if key not in _KNOWN_PROPERTY:
            warn(f"unknown field '{key}' of column '{label}' ignored", prop.where(key))
    raw_tags = prop.get("tags") or []
    if isinstance(raw_tags, str):
        raw_tags = [raw_tags]
    if not isinstance(raw_tags, list) or not all(isinstance(t, str) for t in raw_tags):
        err(f"'tags' of column '{label}' must be a list of tag names", prop.where("tags"))
        raw_tags = []
    tags: set[str] = set()
    for t in raw_tags:
        if t not in taxonomy and t.lower() in by_lower:  # `PII.Email`: the taxonomy's tag, spelt otherwise
            warn(f"tag '{t}' of column '{label}' is read as the taxonomy's '{by_lower[t.lower()]}'",
                 prop.where("tags"), code="catalog-tag-case")
            t = by_lower[t.lower()]
        elif t not in taxonomy and not _is_free_form(t, taxonomy, roots):
            warn(f"tag '{t}' of column '{label}' is not in the taxonomy", prop.where("tags"),
                 code="catalog-unknown-tag")
        tags.add(t)
    fields: list[Column] = []
    nested = prop.get("properties")
    if nested is not None:
        if isinstance(nested, list):
            fields.extend(_properties(nested, prop.where("properties"), source, taxonomy, diags,
                                      label + ".", depth + 1))
        else:
            err(f"'properties' of column '{label}' must be a list of properties", prop.where("properties"))
    items = prop.get("items")
    if items is not None:
        if isinstance(items, LocatedDict):
            fields.append(_property(items, "[]", source, taxonomy, diags, label, depth + 1, index))
        else:
            err(f"'items' of column '{label}' must be a mapping (the array's element)", prop.where("items"))
    for f in fields:
        tags |= f.tags
    return Column(
        name=name,
        logical_type=_logical_type(prop, source, diags),
        physical_type=str(prop.get("physicalType") or ""),
        description=str(prop.get("description") or ""),
        classification=str(prop.get("classification") or ""),
        tags=frozenset(tags),
        span=_span(source, prop.where("name" if "name" in prop else None), len(name)),
        approvals=approvals(prop),
        fields=tuple(fields),
    )


APPROVAL_PROPERTY = "policyengine-approved"


def approvals(node: object) -> tuple[str, ...]:
    """The approvals (ticket ids such as `GOV-123`) an ODCS `customProperties` list records, as
    `{property: policyengine-approved, value: GOV-123}` entries; `policyengine diff` accepts a
    privacy-breaking contract change of a column or product that carries one. Entries of another
    shape, or with an empty value, record none."""
    items = node.get("customProperties") if isinstance(node, Mapping) else None
    if not isinstance(items, list):
        return ()
    out = []
    for item in items:
        if isinstance(item, Mapping) and item.get("property") == APPROVAL_PROPERTY:
            value = item.get("value")
            if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
                out.append(str(value).strip())
    return tuple(out)


def _local_servers(data: LocatedDict, source: str, diags: list[Diagnostic]) -> list[tuple[LocatedDict, str, str]]:
    """(server, path, format) of every `type: local` server with a `path`; warns about unknown fields."""
    servers = data.get("servers") or []
    if not isinstance(servers, list):
        diags.append(Diagnostic("error", "'servers' must be a list", _span(source, data.where("servers")),
                                code="catalog"))
        return []
    out: list[tuple[LocatedDict, str, str]] = []
    for server in servers:
        if not isinstance(server, LocatedDict):
            continue
        for key in server:
            if key not in _KNOWN_SERVER:
                diags.append(Diagnostic("warning", f"unknown field '{key}' of server '{server.get('server', '')}' "
                                        "ignored", _span(source, server.where(key)), code="catalog-unknown-field"))
        if server.get("type") == "local" and server.get("path"):
            path = str(server["path"])
            fmt = str(server.get("format") or "").lower()
            out.append((server, path, fmt))
    return out


def _sample(source: str, path: str, fmt: str, where: tuple[int, int] = (1, 1)) -> SampleSource:
    resolved = (Path(source).parent / path).resolve()
    return SampleSource(resolved, fmt or resolved.suffix.lstrip(".").lower(), _span(source, where, len("path")))


def _owners(team: object) -> tuple[str, ...]:
    """Who owns the contract by its ODCS `team`: the team's name (v3.1 `{name, members}`) and the
    usernames of members with the role `owner`; the ownership map binds a domain to them."""
    out: list[str] = []
    members = team.get("members") if isinstance(team, Mapping) else team
    if isinstance(team, Mapping) and isinstance(team.get("name"), str) and team["name"]:
        out.append(team["name"])
    if isinstance(members, list):
        out.extend(m["username"] for m in members
                   if isinstance(m, Mapping) and str(m.get("role", "")).lower() == "owner"
                   and isinstance(m.get("username"), str) and m["username"])
    return tuple(dict.fromkeys(out))


def _owner(team: object) -> str:
    """The owner's username from `team` (a list of members, or ODCS v3.1's {name, members})."""
    members = team.get("members") if isinstance(team, Mapping) else team
    if isinstance(members, list):
        owners = [str(m.get("username", "")) for m in members
                  if isinstance(m, Mapping) and str(m.get("role", "")).lower() == "owner"]
        if owners:
            return owners[0]
    if isinstance(team, Mapping):
        return str(team.get("name", "") or "")
    return ""


_Named = tuple[str, tuple[int, int], str, LocatedDict]
"""(product part of the name, where it is written, the key it comes from, its schema object)."""


def _err(diags: list[Diagnostic], source: str, msg: str, where: tuple[int, int] = (1, 1),
         code: str = "catalog") -> None:
    diags.append(Diagnostic("error", msg, _span(source, where), code=code))


def _warn(diags: list[Diagnostic], source: str, msg: str, where: tuple[int, int] = (1, 1),
          code: str = "catalog-unknown-field") -> None:
    diags.append(Diagnostic("warning", msg, _span(source, where), code=code))


def _check_header(data: LocatedDict, source: str, diags: list[Diagnostic]) -> None:
    """Top-level fields: unknown ones and missing ODCS ones warn; `kind` and `apiVersion` must be ODCS v3."""
    for key in data:
        if key not in _KNOWN_TOP:
            _warn(diags, source, f"unknown field '{key}' ignored", data.where(key))
    for required in ("id", "version", "status"):
        if required not in data:
            _warn(diags, source, f"missing ODCS field '{required}' (required by the standard; not used here)",
                  code="catalog-missing-field")
    kind = data.get("kind")
    if kind != "DataContract":
        _err(diags, source, f"'kind' must be 'DataContract', found {kind!r}", data.where("kind"))
    api = str(data.get("apiVersion", ""))
    if not api.startswith("v3"):
        _err(diags, source, f"'apiVersion' must be an ODCS v3 version (e.g. v3.0.2), found {api!r}",
             data.where("apiVersion"))


def _schema_objects(data: LocatedDict, source: str, diags: list[Diagnostic]) -> list[LocatedDict] | None:
    """The contract's schema objects; None (with an error) when `schema` is not a list of mappings."""
    schema = data.get("schema")
    if not isinstance(schema, list) or not schema:
        _err(diags, source, "'schema' must be a list of schema objects", data.where("schema"))
        return None
    objects = [o for o in schema if isinstance(o, LocatedDict)]
    if len(objects) < len(schema):
        _err(diags, source, "each schema object must be a mapping with 'name' and 'properties'", data.where("schema"))
        return None
    return objects


def _domain(data: LocatedDict, source: str, diags: list[Diagnostic]) -> str:
    """The contract's `domain` as policies name it ("" with an error when missing or unusable)."""
    if data.get("domain") in (None, ""):
        _err(diags, source, "missing 'domain': products are named domain.product, so a contract needs one",
             data.where("domain"))
        return ""
    return _name_or_derived(data["domain"], "'domain'", data.where("domain"), source, diags,
                            lambda d: f"{d}.<product> (and scope domain {d})")


def _named_objects(data: LocatedDict, objects: list[LocatedDict], domain: str, source: str,
                   diags: list[Diagnostic]) -> list[_Named]:
    """The product name of each schema object: with one, `dataProduct`, else `name`, else the
    schema object's name; with several, each schema object's name."""
    named: list[_Named] = []
    if len(objects) == 1:
        key = next((k for k in ("dataProduct", "name") if data.get(k) not in (None, "")), None)
        value, where = (data[key], data.where(key)) if key else (objects[0].get("name"), objects[0].where("name"))
        if value in (None, ""):
            _err(diags, source, "missing 'dataProduct' (or 'name'): nothing to name the product with", data.where())
        else:
            what = f"'{key}'" if key else "schema object name"
            short = _name_or_derived(value, what, where, source, diags, lambda s: f"{domain or '<domain>'}.{s}")
            named.append((short, where, key or "name", objects[0]))
        return named
    for obj in objects:
        value = obj.get("name")
        if value in (None, ""):
            _err(diags, source, "schema object without a 'name' (with several schema objects, each one is a "
                 "product named domain.<schema object name>)", obj.where())
            continue
        short = _name_or_derived(value, "schema object name", obj.where("name"), source, diags,
                                 lambda s: f"{domain or '<domain>'}.{s}")
        named.append((short, obj.where("name"), "name", obj))
    return named


def _samples_by_object(data: LocatedDict, objects: list[LocatedDict], source: str,
                       diags: list[Diagnostic]) -> dict[int, list[SampleSource]]:
    """The sample files of each schema object (by `id()`), from the contract's local servers."""
    samples: dict[int, list[SampleSource]] = {id(obj): [] for obj in objects}
    for server, path, fmt in _local_servers(data, source, diags):
        at = server.where("path")
        if "{model}" in path:  # datacontract-cli's placeholder: one file per schema object
            for obj in objects:
                samples[id(obj)].append(_sample(source, path.replace("{model}", str(obj.get("name", ""))), fmt, at))
        elif len(objects) == 1:
            samples[id(objects[0])].append(_sample(source, path, fmt, at))
        else:
            stem = Path(path).name.split(".")[0]
            matching = [o for o in objects if stem in (o.get("name"), o.get("physicalName"))]
            for obj in matching:
                samples[id(obj)].append(_sample(source, path, fmt, at))
            if not matching:
                _warn(diags, source, f"the path of local server '{server.get('server', '')}' names no schema "
                      f"object of this contract, so its file is no product's sample (name the file after a "
                      f"schema object, e.g. {objects[0].get('name', 'tbl')}.{fmt or 'csv'}, or write {{model}} "
                      "in the path)", server.where("path"), code="catalog-sample")
    return samples


def _description(data: LocatedDict) -> str:
    """The contract's description text (ODCS v3 allows a mapping: its purpose, else its usage)."""
    desc = data.get("description")
    if isinstance(desc, Mapping):
        desc = desc.get("purpose") or desc.get("usage") or ""
    return str(desc or "")


def parse_contract_products(data: object, source: str,
                            taxonomy: Taxonomy) -> tuple[list[Product], list[Diagnostic]]:
    """Turn one parsed ODCS contract into its products, with errors and warnings located in `source`.

    One schema object gives one product `domain.<dataProduct, else name, else the schema object's
    name>`; several give one product per schema object, `domain.<schema object name>`, sharing
    the contract's other fields. No products when there is any error.
    """
    diags: list[Diagnostic] = []
    if not isinstance(data, LocatedDict):
        _err(diags, source, "a data contract must be a YAML mapping")
        return [], diags
    _check_header(data, source, diags)
    objects = _schema_objects(data, source, diags)
    if objects is None:
        return [], diags
    domain = _domain(data, source, diags)
    named = _named_objects(data, objects, domain, source, diags)
    columns = {id(obj): _columns(obj, source, taxonomy, diags) for obj in objects}
    samples = _samples_by_object(data, objects, source, diags)
    if any(d.severity == "error" for d in diags):
        return [], diags
    description = _description(data)
    products = [
        Product(
            name=f"{domain}.{short}",
            domain=domain,
            columns=tuple(columns[id(obj)]),
            version=str(data.get("version", "")),
            status=str(data.get("status", "")),
            owner=_owner(data.get("team")),
            description=description or str(obj.get("description") or ""),
            samples=tuple(samples[id(obj)]),
            source=source,
            span=_span(source, where, len(key_name)),
            domain_span=_span(source, data.where("domain"), len("domain")),
            owners=_owners(data.get("team")),
            approvals=approvals(data) + approvals(obj),
            contract_id=_contract_id(data.get("id")),
        )
        for short, where, key_name, obj in named
    ]
    return products, diags


def _contract_id(value: object) -> str:
    """The contract's ODCS `id` as text ("" when missing or not a scalar): what identifies the
    contract across versions when its file or product name changes."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return ""
    return str(value).strip()


def contract_files(paths: Iterable[str | Path]) -> list[Path]:
    """The contract files `load_catalog` reads for these files and folders, in its order."""
    return _contract_files(paths)


def _contract_files(paths: Iterable[str | Path]) -> list[Path]:
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files.extend(sorted(q for q in p.rglob("*") if q.suffix in (".yaml", ".yml") and not hidden_below(q, p)))
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
    found_contracts: list[tuple[str, object]] = []
    for f in files:
        source = str(f)
        if not f.exists():
            diags.append(Diagnostic("error", "no such file or folder", file=source, code="catalog-io"))
            continue
        if is_manifest(f):  # a dbt project's models, as the contracts they describe (catalog/dbt.py)
            try:
                models, found = contracts_from_manifest(f)
            except YamlError as exc:
                diags.append(located_diagnostic(exc, "catalog-dbt", source))
                continue
            diags.extend(found)
            found_contracts.extend(models)
            for model_source, _ in models:
                try:
                    sources.setdefault(model_source, read_source(Path(model_source)))
                except YamlError:
                    pass
            continue
        try:
            data = load_yaml_file(f)
        except YamlError as exc:
            diags.append(located_diagnostic(exc, "catalog-yaml", source))
            continue
        try:
            sources[source] = read_source(f)
        except YamlError:
            pass
        found_contracts.append((source, data))
    for source, data in found_contracts:
        found_products, found = parse_contract_products(data, source, taxonomy)
        diags.extend(found)
        for product in found_products:
            other = products.get(product.name)
            if other is not None:
                diags.append(Diagnostic("error", f"product '{product.name}' is also defined in "
                                        f"{other.span or other.source}", product.span, code="catalog-duplicate"))
                continue
            products[product.name] = product
    errors = [d for d in diags if d.severity == "error"]
    if errors:
        raise CatalogError(diags, sources)
    return Catalog(MappingProxyType(products), _with_free_form_tags(taxonomy, products.values()), tuple(diags))


def catalog_of(products: Iterable[Product], taxonomy: Taxonomy | None = None,
               warnings: Iterable[Diagnostic] = ()) -> Catalog:
    """The catalog of products already built and checked (unique names): the taxonomy gains the
    contracts' free-form tags, as `load_catalog` does (a signed bundle's compiled catalog)."""
    by_name = {p.name: p for p in products}
    taxonomy = taxonomy or builtin_taxonomy()
    return Catalog(MappingProxyType(by_name), _with_free_form_tags(taxonomy, by_name.values()), tuple(warnings))


def _with_free_form_tags(taxonomy: Taxonomy, products: Iterable[Product]) -> Taxonomy:
    """The taxonomy plus the contracts' free-form tags (`uid`, `finance`), so policies can name them."""
    roots = frozenset(t.split(".")[0].lower() for t in taxonomy.tags)
    free: dict[str, TagInfo] = {}
    for product in products:
        for column in product.columns:
            for tag in column.tags:
                if tag not in free and _is_free_form(tag, taxonomy, roots):
                    free[tag] = TagInfo(tag, f"free-form tag of a data contract ({product.source})")
    if not free:
        return taxonomy
    return taxonomy.extended(Taxonomy(MappingProxyType(free)))

