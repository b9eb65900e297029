"""Custom recognizers from YAML.

    recognizers:
      - name: employee_number          # unique name
        entity: EMPLOYEE_ID            # entity type reported
        tag: pii.employee_id           # optional; else the taxonomy's tag for the entity
        regex: 'EMP-\\d{6}'            # RE2 syntax, run by pyarrow.compute: cannot hang
        names: [emp_no, personalnummer] # column-name hints (lower-case words)
        validator: luhn                # optional: luhn card iban ssn ip email phone gtin nino nhs nif it_fiscal_code de_tax_id nl_bsn fr_nir imei btc secret passport mrn
        whole_value: true              # only whole-value matches count (default true)
        min_share: 0.5                 # share of distinct values that must match (default 0.5)

Errors name the file and the recognizer, one line each.
"""

from __future__ import annotations

from pathlib import Path

from policyengine.scan.entities import BUILTIN, Recognizer
from policyengine.scan.names import STRONG
from policyengine.scan.recognizers import check_pattern
from policyengine.scan.validators import VALIDATORS
from policyengine.yamlsource import YamlError, load_yaml_file


class ConfigError(ValueError):
    """A custom-recognizer file that cannot be used (one-line message)."""


def load_scan_config(path: str | Path | None) -> tuple[tuple[Recognizer, ...], tuple[tuple[str, str, float], ...], dict[str, str]]:
    """(recognizers = built-ins + custom, extra name hints, entity → tag overrides)."""
    if path is None:
        return BUILTIN, (), {}
    p = Path(path)
    try:  # the project's YAML reader: bounded size, aliases and nesting; duplicate keys are errors
        data = load_yaml_file(p) or {}
    except YamlError as exc:
        raise ConfigError(f"{p}: cannot read recognizer config: {exc.message}") from None
    items = data.get("recognizers") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ConfigError(f"{p}: expected a 'recognizers' list")
    recs: list[Recognizer] = list(BUILTIN)
    hints: list[tuple[str, str, float]] = []
    tags: dict[str, str] = {}
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise ConfigError(f"{p}: recognizer #{i + 1} must be a mapping")
        name = str(item.get("name") or f"custom_{i + 1}")
        entity = item.get("entity")
        regex = item.get("regex")
        if not entity or not regex:
            raise ConfigError(f"{p}: recognizer '{name}' needs 'entity' and 'regex'")
        err = check_pattern(str(regex))
        if err:
            raise ConfigError(f"{p}: recognizer '{name}': regex is not valid RE2: {err}")
        validator = item.get("validator")
        if validator is not None and validator not in VALIDATORS:
            raise ConfigError(f"{p}: recognizer '{name}': unknown validator '{validator}' (known: {', '.join(sorted(VALIDATORS))})")
        whole = bool(item.get("whole_value", True))
        pattern = str(regex)
        if whole and not pattern.startswith("^"):
            pattern = f"^(?:{pattern})$"
        names = tuple(str(n).lower() for n in item.get("names") or ())
        recs.append(Recognizer(name, str(entity), pattern, validator, whole_only=whole, names=names,
                               tag=item.get("tag"), min_share=_share(p, name, item.get("min_share", 0.5)),
                               builtin=False))
        hints.extend((n, str(entity), STRONG) for n in names)
        if item.get("tag"):
            tags[str(entity)] = str(item["tag"])
    return tuple(recs), tuple(hints), tags


def _share(path: Path, name: str, value: object) -> float:
    """`min_share` as a number in [0, 1]; anything else is a ConfigError naming the recognizer."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 1:
        return float(value)
    raise ConfigError(f"{path}: recognizer '{name}': 'min_share' must be a number from 0 to 1")
