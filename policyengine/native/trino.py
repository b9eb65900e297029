"""Trino's file-based access control from a compiled plan: the rules JSON, its drift, its apply.

Trino's system-level file-based access control (`access-control.name=file`,
`security.config-file`, docs/native.md cites the Trino documentation for each point) reads one
JSON file of rules. For table rules the **first matching rule** decides everything: the
privileges, the columns denied (`allow: false`), the column masks and the one row filter; no
match denies. So our compiler folds the whole precedence first (deny > strictest mask > allow,
default deny: `compile.py`) and this module writes **one rule per (consumer, Trino table)**,
matched by the consumer's exact Trino user names, carrying that consumer's complete outcome: the
row filter is repeated in every rule that needs it, each mask sits on its column, each denied
column is `allow: false`. The rules never overlap (a Trino user maps to one consumer), and a last
rule with no privileges catches everything else (default deny). Consumer attributes are
substituted per consumer at plan time: nothing is read from the session, which the user controls.

Keyed `hash` is refused for this target: a mask expression is part of the query plan, and
`EXPLAIN` prints it to the consumer running the query, key included.

`plan` compares the rules with the deployed file (drift: a rule edited, added or removed by hand,
or an order changed); `apply` writes the file atomically (a temporary file renamed over it), so
Trino's `security.refresh-period` reads either the old rules or the new ones, never half a file.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlglot import exp

from policyengine.enforce.sql import RenderError, filter_expression, mask_expression
from policyengine.native.compile import NativePlan, Refusal, TablePlan

UNMAPPED = ("drop", "passthrough")
NEW_FILE_MODE = 0o640  # a new rules file: the owner (and its group, e.g. Trino's) only


class NativeError(ValueError):
    """The rules cannot be made, read or written (a one-line message, no value in it)."""


@dataclass(frozen=True)
class TrinoNaming:
    """How our names meet Trino's (the `serve.trino` section of policyengine.yaml, as for the
    OPA path): `users` maps a Trino user to a consumer; once it maps any name, a Trino user it
    does not name is nobody (`unmapped_users: drop`) unless `passthrough` keeps the name as the
    consumer id. `tables` maps `catalog.schema.table` to a product; `product` (a template of
    `{catalog}`, `{schema}`, `{table}`) names the product of a table in the governed `catalogs`.
    `open_catalogs` (e.g. `system` for JDBC metadata) are readable by every consumer."""

    users: Mapping[str, str] = field(default_factory=dict)
    unmapped_users: str = "drop"
    tables: Mapping[str, str] = field(default_factory=dict)
    product: str | None = "{schema}.{table}"
    catalogs: tuple[str, ...] = ()
    open_catalogs: tuple[str, ...] = ()


def java_regex(names: Sequence[str]) -> str:
    """A Java regex matching exactly these names (Trino matches rules with `Matcher.matches()`,
    the whole name): each escaped, alternatives in a group. Only ASCII punctuation, space and
    controls are escaped (a backslash before any of them is a literal in Java; before an ASCII
    letter it would be an escape), other characters stand for themselves."""
    escaped = [re.sub(r"([\x00-\x2f\x3a-\x40\x5b-\x5e\x60\x7b-\x7f])", r"\\\1", n)
               for n in sorted(set(names))]
    return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"


def trino_users(consumer: str, naming: TrinoNaming) -> tuple[str, ...]:
    """The Trino user names that are `consumer` (the OPA path's mapping, inverted)."""
    named = [user for user, cid in naming.users.items() if cid == consumer]
    if (not naming.users or naming.unmapped_users == "passthrough") and consumer not in naming.users:
        named.append(consumer)
    return tuple(sorted(set(named)))


def template_regex(template: str) -> re.Pattern[str]:
    """The regular expression a `product` template (`{catalog}`, `{schema}`, `{table}`) gives:
    one reading of Trino names for the rules file and the OPA path (serve/trino.py) alike."""
    out, pos = [], 0
    for m in re.finditer(r"\{(catalog|schema|table)\}", template):
        out.append(re.escape(template[pos:m.start()]))
        out.append(f"(?P<{m.group(1)}>[^.]+)" if m.group(1) != "table" else "(?P<table>.+)")
        pos = m.end()
    out.append(re.escape(template[pos:]))
    return re.compile("".join(out))


def product_tables(product: str, naming: TrinoNaming) -> list[tuple[tuple[str, ...], str, str]]:
    """Where Trino holds `product`: (catalogs, schema, table), lower-cased as Trino names them.
    An explicit `tables` entry wins over the template (as for the OPA path)."""
    out: list[tuple[tuple[str, ...], str, str]] = []
    explicit: set[tuple[str, str, str]] = set()
    for key, named in sorted(naming.tables.items()):
        parts = key.lower().split(".")
        if named == product and len(parts) == 3:
            out.append(((parts[0],), parts[1], parts[2]))
        if len(parts) == 3:
            explicit.add((parts[0], parts[1], parts[2]))
    if naming.product and naming.catalogs:
        m = template_regex(naming.product).fullmatch(product)
        if m is not None:
            g = m.groupdict()
            schema, table = (g.get("schema") or "").lower(), g["table"].lower()
            catalogs = [c.lower() for c in naming.catalogs]
            if g.get("catalog") is not None:
                catalogs = [c for c in catalogs if c == g["catalog"].lower()]
            catalogs = [c for c in catalogs if (c, schema, table) not in explicit]
            if catalogs:
                out.append((tuple(sorted(catalogs)), schema, table))
    return out


# ---------------------------------------------------------------- the rules


@dataclass(frozen=True)
class Rules:
    """The rules document, with what the plan could not put in it."""

    document: dict[str, Any]
    refusals: tuple[Refusal, ...]
    notes: tuple[str, ...]

    def text(self) -> str:
        return render_json(self.document)


def render_json(document: Mapping[str, Any]) -> str:
    """The file's text: stable (indented, keys in the order written), ending in a newline."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _filter_sql(table: TablePlan) -> str | None:
    row_filter = table.decision.row_filter
    if row_filter is None:
        return None
    tree = filter_expression(row_filter, types=dict(table.types))
    if isinstance(tree, exp.Boolean):
        return tree.sql("trino")
    # never NULL: Trino ANDs the filter with the user's WHERE, and a NULL filter would let the
    # user's predicate run on a hidden row (an error there is an oracle), as the OPA path does
    return exp.func("COALESCE", exp.paren(tree, copy=False), exp.false()).sql("trino")


class _Unrenderable(ValueError):
    def __init__(self, where: str, message: str) -> None:
        super().__init__(message)
        self.where = where


def _columns(table: TablePlan) -> list[dict[str, Any]]:
    types = dict(table.types)
    out: list[dict[str, Any]] = []
    for name in table.denied:
        out.append({"name": name.lower(), "allow": False})
    for column in table.columns:
        if column.effect != "mask":
            continue
        cd = table.decision.columns[column.name]
        assert cd.mask is not None  # a masked column has its strategy
        try:
            tree = mask_expression(cd.mask, exp.column(column.name, quoted=True), "trino",
                                   logical_type=types.get(column.name), keyed=False, column=column.name)
        except RenderError as exc:
            raise _Unrenderable(column.rule, str(exc)) from None
        out.append({"name": column.name.lower(), "mask": tree.sql("trino")})
    return sorted(out, key=lambda c: c["name"])


def table_rule(table: TablePlan, users: Sequence[str], catalogs: Sequence[str], schema: str,
               name: str) -> dict[str, Any]:
    """One consumer's whole outcome on one Trino table, as a Trino table rule."""
    rule: dict[str, Any] = {"user": java_regex(users), "catalog": java_regex(catalogs),
                            "schema": java_regex([schema]), "table": java_regex([name]),
                            "privileges": ["SELECT"]}
    columns = _columns(table)
    if columns:
        rule["columns"] = columns
    where = _filter_sql(table)
    if where is not None:
        rule["filter"] = where
    return rule


def compile_rules(plan: NativePlan, naming: TrinoNaming) -> Rules:
    """The rules file of `plan` (compiled for the `trino` target): per consumer and Trino table
    one rule, then the default deny; catalogs read-only to the users that have a rule there; no
    schema owner, one's own queries only, no session property. Impersonation, principal and
    system-information rules are left out: Trino then denies all three."""
    if plan.target != "trino":
        raise NativeError(f"the plan was compiled for {plan.target!r}, not for 'trino'")
    if naming.unmapped_users not in UNMAPPED:
        raise NativeError("serve.trino.unmapped_users must be 'drop' or 'passthrough'")
    tables: list[dict[str, Any]] = []
    refusals: list[Refusal] = []
    notes: list[str] = []
    readers: dict[str, set[str]] = {}  # catalog -> Trino users with a rule in it
    unplaced: set[str] = set()
    for table in sorted(plan.tables, key=lambda t: (t.product, t.consumer)):
        users = trino_users(table.consumer, naming)
        places = product_tables(table.product, naming)
        if not places:
            unplaced.add(table.product)
            continue
        if not users:
            notes.append(f"consumer '{table.consumer}' has no Trino user (serve.trino.users, "
                         "unmapped_users: drop): no rule, Trino denies")
            continue
        try:
            rules = [table_rule(table, users, catalogs, schema, name) for catalogs, schema, name in places]
        except (_Unrenderable, RenderError) as exc:
            where = exc.where if isinstance(exc, _Unrenderable) else "<row filter>"
            refusals.append(Refusal(table.product, table.consumer, where,
                                    f"{exc}; no rule is made (Trino denies); nearest safe choice: deny "
                                    "the column, or mask it with redact or null for this consumer"))
            continue
        tables += rules
        for names, _, _ in places:
            for catalog in names:
                readers.setdefault(catalog, set()).update(users)
    notes += [f"product '{p}' has no Trino table (serve.trino: catalogs, product, tables): no rule"
              for p in sorted(unplaced)]
    notes = sorted(set(notes))
    opened = sorted({c.lower() for c in naming.open_catalogs})
    if opened:
        tables.append({"catalog": java_regex(opened), "privileges": ["SELECT"]})
    tables.append({"privileges": []})  # default deny: the last rule matches everyone, grants nothing
    catalog_rules: list[dict[str, Any]] = [
        {"user": java_regex(sorted(users)), "catalog": java_regex([catalog]), "allow": "read-only"}
        for catalog, users in sorted(readers.items()) if catalog not in opened]
    if opened:
        catalog_rules.append({"catalog": java_regex(opened), "allow": "read-only"})
    catalog_rules.append({"allow": "none"})
    document: dict[str, Any] = {
        "catalogs": catalog_rules,
        "schemas": [{"owner": False}],  # nobody owns a schema: no DDL, no SHOW CREATE SCHEMA
        "tables": tables,
        "queries": [{"allow": ["execute"]}],  # one's own queries only (always visible to their owner)
        # no session property may be set: none changes what a rule computes, and none is needed
        "system_session_properties": [{"allow": False}],
        "catalog_session_properties": [{"allow": False}],
    }
    return Rules(document, tuple(refusals), tuple(notes))


# ---------------------------------------------------------------- drift


@dataclass(frozen=True)
class Change:
    """One difference between the compiled rules and the deployed file (what apply changes)."""

    action: str  # "+", "~" or "-"
    what: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.action} {self.what}" + (f": {self.detail}" if self.detail else "")


def _label(rule: Mapping[str, Any]) -> str:
    if not isinstance(rule, Mapping):
        return "a rule that is not an object"
    where = ".".join(str(rule.get(k, "*")) for k in ("catalog", "schema", "table"))
    who = f"user {rule['user']}" if "user" in rule else "everyone"
    return f"table rule for {who} on {where}"


def _key(rule: Any) -> tuple[str, ...]:
    if not isinstance(rule, Mapping):
        return ("<not an object>",)
    return tuple(str(rule.get(k)) for k in ("user", "role", "group", "catalog", "schema", "table"))


def _rule_differences(want: Mapping[str, Any], have: Mapping[str, Any]) -> list[str]:
    """Which fields differ (names only: a hand-edited file may hold anything)."""
    out = [k for k in sorted(set(want) | set(have)) if k != "columns" and want.get(k) != have.get(k)]
    wc = {c.get("name"): c for c in want.get("columns") or [] if isinstance(c, Mapping)}
    hc = {c.get("name"): c for c in have.get("columns") or [] if isinstance(c, Mapping)} \
        if isinstance(have.get("columns") or [], list) else {}
    for name in sorted(set(wc) | set(hc), key=str):
        if name not in hc:
            out.append(f"column {name} missing")
        elif name not in wc:
            out.append(f"column {name} not compiled")
        elif wc[name] != hc[name]:
            fields = sorted(k for k in set(wc[name]) | set(hc[name]) if wc[name].get(k) != hc[name].get(k))
            out.append(f"column {name} {'/'.join(fields)}")
    if want.get("columns") and not isinstance(have.get("columns"), list):
        out.append("columns")
    return out


def diff(desired: Mapping[str, Any], deployed: str | None) -> list[Change]:
    """What apply changes: the deployed text (None: no file) against the compiled document."""
    wanted = list(desired.get("tables", []))
    if deployed is None:
        return [Change("+", _label(r)) for r in wanted] + \
            [Change("+", f"section {k}") for k in desired if k != "tables"]
    try:
        have = json.loads(deployed)
    except ValueError:
        return [Change("~", "rules file", "not valid JSON (apply replaces it)")]
    if not isinstance(have, dict):
        return [Change("~", "rules file", "not a JSON object (apply replaces it)")]
    changes: list[Change] = []
    for key in sorted(set(desired) | set(have)):
        if key == "tables":
            continue
        if key not in have:
            changes.append(Change("+", f"section {key}"))
        elif key not in desired:
            changes.append(Change("-", f"section {key}", "not compiled (edited by hand)"))
        elif desired[key] != have[key]:
            changes.append(Change("~", f"section {key}", "differs (edited by hand, or the policies changed)"))
    deployed_rules = have.get("tables")
    if not isinstance(deployed_rules, list):
        if "tables" in have:
            changes.append(Change("~", "section tables", "not a list (apply replaces it)"))
            deployed_rules = []
        else:
            deployed_rules = []
            changes.append(Change("+", "section tables"))
    want_keys = [_key(r) for r in wanted]
    wanted_set = set(want_keys)
    have_by_key: dict[tuple[str, ...], Any] = {}
    extra: list[Any] = []
    for rule in deployed_rules:
        k = _key(rule)
        if k in have_by_key or k not in wanted_set:
            extra.append(rule)
        else:
            have_by_key[k] = rule
    for rule, k in zip(wanted, want_keys, strict=True):
        if k not in have_by_key:
            changes.append(Change("+", _label(rule)))
        elif have_by_key[k] != rule:
            fields = _rule_differences(rule, have_by_key[k]) if isinstance(have_by_key[k], Mapping) else ["rule"]
            changes.append(Change("~", _label(rule), ", ".join(fields) + " differ (edited by hand, or the "
                                  "policies changed)"))
    changes += [Change("-", _label(r), "not compiled (a rule added by hand: first match could grant it)")
                for r in extra]
    common = [k for k in want_keys if k in have_by_key]
    deployed_order = [_key(r) for r in deployed_rules if _key(r) in have_by_key]
    seen = list(dict.fromkeys(deployed_order))  # first occurrences, in the file's order
    if seen != common:
        changes.append(Change("~", "section tables", "rule order differs (the first matching rule decides)"))
    return changes


# ---------------------------------------------------------------- files


def read_deployed(path: Path) -> str | None:
    """The deployed file's text, or None when there is none."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise NativeError(f"{path}: cannot read the rules file ({type(exc).__name__})") from None


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` as one step: a temporary file in the same folder, flushed to disk,
    renamed over the old file (POSIX rename is atomic), with the old file's mode (a new file:
    0640). Trino's refresh reads the old rules or the new ones, never a partial file."""
    folder = path.parent
    try:
        mode = path.stat().st_mode & 0o7777
    except FileNotFoundError:
        mode = NEW_FILE_MODE
    except OSError as exc:
        raise NativeError(f"{path}: cannot read the rules file ({type(exc).__name__})") from None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise NativeError(f"{folder}: cannot write there ({exc.strerror or type(exc).__name__})") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise NativeError(f"{path}: cannot write the rules file ({exc.strerror or type(exc).__name__})") from None
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)  # the rename itself survives a crash
    except OSError:
        pass
    finally:
        os.close(dir_fd)
