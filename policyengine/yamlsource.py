"""YAML loading that remembers where each key came from, so errors can name file:line:col."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class YamlError(ValueError):
    """A YAML file that cannot be read or does not have the expected shape (message is one line)."""


class LocatedDict(dict):
    """A mapping that also knows the (line, column) of each key, 1-based."""

    __slots__ = ("positions", "start")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.positions: dict[str, tuple[int, int]] = {}
        self.start: tuple[int, int] = (1, 1)

    def where(self, key: str | None = None) -> tuple[int, int]:
        """Line and column of `key` (or of the mapping itself)."""
        if key is not None and key in self.positions:
            return self.positions[key]
        return self.start


# libyaml's C parser (bundled with PyYAML wheels) is ~10x faster; marks work the same.
_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[misc, valid-type]
    pass


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LocatedDict:
    loader.flatten_mapping(node)
    out = LocatedDict()
    out.start = (node.start_mark.line + 1, node.start_mark.column + 1)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            raise yaml.constructor.ConstructorError(
                None, None, "mapping keys must be scalars", key_node.start_mark
            )
        key = str(key)
        if key in out:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key '{key}' (the first is on line {out.positions[key][0]})",
                key_node.start_mark,
            )
        out[key] = loader.construct_object(value_node, deep=True)
        out.positions[key] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
    return out


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml_text(text: str, source: str) -> Any:
    """Parse YAML text; raise YamlError with `source:line:col: error: ...` on malformed input."""
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        problem = (exc.problem or exc.context or "malformed YAML").strip()
        raise YamlError(f"{where}: error: malformed YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise YamlError(f"{source}: error: malformed YAML: {str(exc).splitlines()[0]}") from None


def load_yaml_file(path: str | Path) -> Any:
    """Read and parse a YAML file; unreadable files raise YamlError too."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise YamlError(f"{path}: error: cannot read file: {exc.__class__.__name__}: {exc}") from None
    return load_yaml_text(text, str(path))
