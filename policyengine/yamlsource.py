"""Reading source files, and YAML loading that remembers where each key came from, so errors can
name file:line:col.

Every file the project reads as text (policies, contracts, consumers, test files, recognizer
files, scan reports, `policyengine.yaml`) goes through `read_source`: one place that drops a
byte-order mark, bounds the size and turns undecodable bytes into a located error. YAML is
bounded too: alias expansion (a "billion laughs" document) and nesting depth have limits, and a
duplicate key is an error (never last-one-wins).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

MAX_SOURCE_BYTES = 16 * 1024 * 1024
"""The largest text file read (16 MiB): a larger policy, contract or YAML file is an error, not a hang."""
MAX_YAML_DEPTH = 64
"""The deepest nesting of YAML mappings and lists accepted."""
MAX_YAML_NODES = 1_000_000
"""The most YAML values one document may expand to (aliases counted each time they are used)."""


class YamlError(ValueError):
    """A YAML (or other source) file that cannot be read or does not have the expected shape.

    `str()` is one line, `file:line:col: error: message`; `file`, `line`, `column` and `message`
    are also fields, so callers build located diagnostics without parsing the text back. A
    YamlError made from a whole preformatted line (`YamlError("x.yaml: error: ...")`) keeps it
    as its text, with no location fields.
    """

    def __init__(self, message: str, file: str | Path | None = None, line: int | None = None,
                 column: int | None = None) -> None:
        self.message = message
        self.file = str(file) if file is not None else None
        self.line = line
        self.column = column
        if self.file is None:
            text = message
        elif line is None:
            text = f"{self.file}: error: {message}"
        else:
            text = f"{self.file}:{line}:{column or 1}: error: {message}"
        super().__init__(text)

    @classmethod
    def at(cls, file: str | Path, where: tuple[int, int], message: str) -> YamlError:
        """An error at (line, column) of `file`."""
        return cls(message, file, where[0], where[1])


def _position(data: bytes, offset: int) -> tuple[int, int]:
    """1-based (line, column) of byte `offset` (column counted in bytes of that line)."""
    line_start = data.rfind(b"\n", 0, offset) + 1
    return data.count(b"\n", 0, offset) + 1, offset - line_start + 1


def read_source(path: str | Path, max_bytes: int = MAX_SOURCE_BYTES) -> str:
    """The UTF-8 text of a file, without a leading byte-order mark (a Windows editor's BOM is no
    token). Raises YamlError: unreadable file, larger than `max_bytes`, or not UTF-8 (located at
    the first bad byte; the byte itself is not shown)."""
    p = Path(path)
    try:
        with p.open("rb") as fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        raise YamlError(f"cannot read file: {reason}", p) from None
    if len(data) > max_bytes:
        raise YamlError(f"file is larger than {max_bytes // (1024 * 1024)} MiB; not read", p, 1, 1)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, col = _position(data, exc.start)
        raise YamlError("not UTF-8 text (a binary file?): undecodable byte", p, line, col) from None
    return text


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


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _bounded(node: yaml.Node, source: str) -> None:
    """Raise YamlError when the document nests deeper than MAX_YAML_DEPTH, refers to itself, or
    expands (every alias counted each time it is used) to more than MAX_YAML_NODES values."""
    size: dict[int, int] = {}
    stack: list[tuple[yaml.Node, int, bool]] = [(node, 1, False)]
    open_: set[int] = set()
    while stack:
        current, depth, done = stack.pop()
        key = id(current)
        if done:
            open_.discard(key)
            size[key] = 1 + sum(size[id(c)] for c in _children(current))
            if size[key] > MAX_YAML_NODES:
                mark = current.start_mark
                raise YamlError(f"the document expands to more than {MAX_YAML_NODES} values "
                                "(aliases repeat what they refer to); not loaded",
                                source, mark.line + 1, mark.column + 1)
            continue
        if key in size:
            continue
        mark = current.start_mark
        if key in open_:
            raise YamlError("an alias refers to a value that contains it", source, mark.line + 1, mark.column + 1)
        if depth > MAX_YAML_DEPTH:
            raise YamlError(f"nested deeper than {MAX_YAML_DEPTH} levels", source, mark.line + 1, mark.column + 1)
        open_.add(key)
        stack.append((current, depth, True))
        stack.extend((c, depth + 1, False) for c in _children(current) if id(c) not in size)


def load_yaml_text(text: str, source: str) -> Any:
    """Parse YAML text; raise YamlError with `source:line:col: error: ...` on malformed input,
    a duplicate key, or a document past the depth and expansion bounds."""
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            _bounded(node, source)
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = (exc.problem or exc.context or "malformed YAML").strip()
        if mark is None:
            raise YamlError(f"malformed YAML: {problem}", source) from None
        raise YamlError(f"malformed YAML: {problem}", source, mark.line + 1, mark.column + 1) from None
    except yaml.YAMLError as exc:
        raise YamlError(f"malformed YAML: {str(exc).splitlines()[0]}", source) from None
    except RecursionError:
        raise YamlError(f"nested deeper than {MAX_YAML_DEPTH} levels", source) from None


def load_yaml_file(path: str | Path) -> Any:
    """Read (see `read_source`) and parse a YAML file; every failure raises a located YamlError."""
    return load_yaml_text(read_source(path), str(path))
