"""Options and option parsing shared by the commands (one definition each)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from policyengine.catalog.consumers import AttributeSchema, Consumer, has_type
from policyengine.commands.common import fail
from policyengine.diagnostics import did_you_mean
from policyengine.language.values import type_name


class OutputFormat(str, Enum):
    text = "text"
    json = "json"


ConfigOpt = Annotated[Path | None, typer.Option("--config", help="Project configuration file.")]


_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def parse_attr_value(text: str) -> Any:
    """An --attr value: true/false, a number, an ISO date, a [list], else the text as it is.

    Deliberately not YAML: YAML 1.1 reads `no`, `on` or `y` as booleans, and a region called
    `no` (Norway) must stay a string."""
    value = text.strip()
    if value in ("true", "false"):
        return value == "true"
    if _NUMBER.fullmatch(value):
        return int(value) if value.lstrip("+-").isdigit() else float(value)
    if len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    if value.startswith("[") and value.endswith("]"):
        inner = value[1:-1].strip()
        return [parse_attr_value(item.strip().strip("'\"")) for item in inner.split(",")] if inner else []
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return text


def parse_at(text: str | None) -> dt.datetime | None:
    """An --at option: an ISO date or timestamp (UTC unless it says otherwise); exit 2 otherwise."""
    if text is None:
        return None
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise fail(f"error: --at must be an ISO date or timestamp, found {text!r}", 2) from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def consumer_from_options(consumer: str, known: Consumer | None, groups: Sequence[str] | None,
                          attrs: Sequence[str] | None, schema: AttributeSchema | None = None) -> Consumer:
    """The consumer a command acts as: a known consumer's groups and attributes, plus `--group`
    and `--attr key=value` options (exit 2 on a malformed --attr). With the consumers file's
    attribute `schema`, a value of the wrong type is exit 2 (it would make every condition on it
    false, silently) and an attribute the schema does not declare is a warning with did-you-mean."""
    group_set = set(known.groups) if known else set()
    attributes: dict[str, Any] = dict(known.attributes) if known else {}
    group_set.update(groups or ())
    for item in attrs or ():
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise fail(f"error: --attr takes key=value, found {item!r}", 2)
        attributes[key] = parse_attr_value(value)
        if schema is not None:
            _check_attr(key, attributes[key], schema)
    return Consumer(consumer, frozenset(group_set), attributes)


def _check_attr(key: str, value: Any, schema: AttributeSchema) -> None:
    kind = schema.type_of(key)
    if kind is None:
        typer.echo(f"warning: --attr {key}: the consumers file declares no attribute '{key}'"
                   f"{did_you_mean(key, schema.types)}; conditions on it see this value unchecked", err=True)
    elif not has_type(value, kind):
        # the value itself is the user's own input, but it is not repeated: only its type
        raise fail(f"error: --attr {key}: '{key}' has type {kind} in the consumers file's attribute schema; "
                   f"the value given reads as {type_name(value)}", 2)


def warn_unknown_purpose(purpose: str | None, rules: Sequence[Any]) -> None:
    """A warning when `--purpose` names a purpose no rule names: rules restricted to purposes
    then do not apply (the request is evaluated as one with no purpose), which is rarely meant."""
    if purpose is None:
        return
    named = set().union(*(r.purposes for r in rules)) if rules else set()
    if purpose.strip().casefold() not in named:
        known = f" (rules name: {', '.join(sorted(named))})" if named else " (no rule names a purpose)"
        typer.echo(f"warning: --purpose {purpose!r} is named by no rule{did_you_mean(purpose, named)}: "
                   f"rules limited to purposes do not apply{known}", err=True)
