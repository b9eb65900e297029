"""dbt as a catalog source: the models of a dbt project's `manifest.json` (`dbt parse` writes it
to `target/`) read as data products beside ODCS contracts, through the same contract checks.

Each model becomes the ODCS contract it describes: product `<domain>.<model name>`, where the
domain is the model's `meta.domain` (or `config.meta.domain`), else its dbt `group`; a column's
`data_type` gives its logical type, its `tags` (and `meta.policyengine_tags`) its tags; the owner
of the model's group is the product's owner; `access` and a `contract: {enforced: true}` are kept
in the description. A model's sample is the dbt seed named by `meta.policyengine_sample`, else the
one seed it selects from (`ref()`), so `scan` reads seeds as samples. Errors and warnings are
located in the model's properties file (`models/schema.yml`, at the model's or column's line),
where the user fixes them. Models without a domain or group are skipped with a warning: a dbt
project holds staging models that are no data products.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from policyengine.diagnostics import Diagnostic
from policyengine.yamlsource import LocatedDict, YamlError

_TYPES = (
    (re.compile(r"^(big|small|tiny|hug)?int(eger)?\d*$|^long$"), "integer"),
    (re.compile(r"^(double|float\d*|real|decimal|numeric|number)"), "number"),
    (re.compile(r"^bool"), "boolean"),
    (re.compile(r"^date$"), "date"),
    (re.compile(r"^timestamp|^datetime"), "timestamp"),
    (re.compile(r"^(var)?char|^text|^string"), "string"),
)


def is_manifest(path: Path) -> bool:
    """Whether a catalog path is a dbt manifest (read by `products_from_manifest`)."""
    return path.suffix == ".json" and path.name.endswith("manifest.json")


def _logical(data_type: object) -> str | None:
    text = str(data_type or "").strip().lower()
    return next((kind for pattern, kind in _TYPES if pattern.search(text)), None) if text else None


def _line_of(lines: list[str], name: str, start: int = 0) -> tuple[int, int]:
    """(line, column) of `name: X` in a properties file, searched from line `start` (0-based)."""
    pattern = re.compile(r"^\s*-?\s*name:\s*['\"]?" + re.escape(name) + r"['\"]?\s*(#.*)?$")
    for i in range(start, len(lines)):
        if pattern.match(lines[i]):
            return i + 1, lines[i].index("name") + 1
    return 1, 1


def _located(values: Mapping[str, Any], where: tuple[int, int]) -> LocatedDict:
    out = LocatedDict(values)
    out.start = where
    out.positions = dict.fromkeys(values, where)
    return out


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest's JSON; a YamlError naming the file when it is not a dbt manifest."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise YamlError(f"cannot read file: {exc.strerror or exc}", path) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise YamlError(f"not a dbt manifest ({type(exc).__name__})", path) from None
    if not isinstance(data, dict) or not isinstance(data.get("nodes"), dict):
        raise YamlError("not a dbt manifest (no 'nodes'): give target/manifest.json of `dbt parse`", path)
    return data


def contracts_from_manifest(path: Path) -> tuple[list[tuple[str, LocatedDict]], list[Diagnostic]]:
    """Each model with a domain as (source file, ODCS contract) for `parse_contract_products`."""
    data = read_manifest(path)
    project = path.resolve().parent.parent  # target/manifest.json → the project folder
    nodes: Mapping[str, Any] = data["nodes"]
    groups = {g.get("name"): g for g in (data.get("groups") or {}).values() if isinstance(g, Mapping)}
    out: list[tuple[str, LocatedDict]] = []
    diags: list[Diagnostic] = []
    for uid, node in sorted(nodes.items()):
        if not isinstance(node, Mapping) or node.get("resource_type") != "model":
            continue
        config = node.get("config") or {}
        meta = {**(config.get("meta") or {}), **(node.get("meta") or {})}
        group = node.get("group") or config.get("group")
        domain = meta.get("domain") or group
        patch = str(node.get("patch_path") or "").split("://", 1)[-1]
        source_file = project / (patch or str(node.get("original_file_path") or ""))
        source = os.path.relpath(source_file) if source_file.is_absolute() else str(source_file)
        try:
            lines = source_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            lines = []
        model_at = _line_of(lines, node["name"]) if lines else (1, 1)
        if not domain:
            diags.append(Diagnostic("warning", f"dbt model '{node['name']}' has no meta.domain and no group: not a "
                                    "data product (skipped)", file=source, code="dbt-domain"))
            continue
        properties = []
        for column in (node.get("columns") or {}).values():
            name = column.get("name")
            col_meta = column.get("meta") or {}
            tags = [*(column.get("tags") or ()), *(col_meta.get("policyengine_tags") or ())]
            prop: dict[str, Any] = {"name": name, "tags": list(dict.fromkeys(tags))}
            if column.get("data_type"):
                prop["physicalType"] = str(column["data_type"])
                logical = _logical(column["data_type"])
                if logical:
                    prop["logicalType"] = logical
            if column.get("description"):
                prop["description"] = column["description"]
            properties.append(_located(prop, _line_of(lines, str(name), model_at[0]) if lines else model_at))
        owner = (groups.get(group) or {}).get("owner") or {}
        team = [{"username": owner.get("email") or owner.get("name"), "role": "owner"}] \
            if (owner.get("email") or owner.get("name")) else []
        enforced = bool((config.get("contract") or {}).get("enforced"))
        notes = f"dbt model {uid}; access {node.get('access') or config.get('access') or 'protected'}" + \
            ("; contract enforced" if enforced else "")
        contract: dict[str, Any] = {
            "apiVersion": "v3.0.2", "kind": "DataContract", "id": uid, "status": "active",
            "version": str(node.get("version") or "1.0.0"), "domain": domain, "dataProduct": node["name"],
            "description": {"purpose": node.get("description") or notes, "usage": notes},
            "schema": [_located({"name": node["name"], "physicalName": node.get("alias") or node["name"],
                                 "properties": properties}, model_at)],
        }
        if team:
            contract["team"] = team
        seed = _sample_seed(node, meta, nodes)
        if seed is not None:
            seed_path = project / str(seed.get("original_file_path"))
            contract["servers"] = [_located({"server": "dbt-seed", "type": "local", "format": "csv",
                                             "path": os.path.relpath(seed_path, source_file.parent)}, model_at)]
        out.append((source, _located(contract, model_at)))
    return out, diags


def _sample_seed(node: Mapping[str, Any], meta: Mapping[str, Any], nodes: Mapping[str, Any]) -> Mapping[str, Any] | None:
    seeds = {uid: n for uid, n in nodes.items() if isinstance(n, Mapping) and n.get("resource_type") == "seed"}
    named = meta.get("policyengine_sample")
    if named:
        return next((s for s in seeds.values() if s.get("name") == named), None)
    used = [seeds[d] for d in (node.get("depends_on") or {}).get("nodes") or () if d in seeds]
    return used[0] if len(used) == 1 else None
