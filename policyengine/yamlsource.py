"""Reading source files, and YAML loading that remembers where each key came from, so errors can
name file:line:col.

Every file the project reads as text (policies, contracts, consumers, test files, recognizer
files, scan reports, `policyengine.yaml`) goes through `read_source`: one place that drops a
byte-order mark, bounds the size and turns undecodable bytes into a located error. YAML is
bounded too: alias expansion (a "billion laughs" document) and nesting depth have limits, and a
duplicate key is an error (never last-one-wins).

YAML is parsed and composed by libyaml's C parser (PyYAML's CSafeLoader; its nodes carry marks).
Objects are then built from the nodes in one pass that also keeps the bounds (`_Fast`): the
plain strings, lists and mappings contracts consist of directly, any other scalar through PyYAML's
own constructor. Anything unusual (a merge key, a tag, a bound crossed, a duplicate key, any
error) falls back to the general path, which checks the bounds (`_bounded`) and then constructs
with PyYAML: the same objects, and every error exactly as before, at 2-3x less cost per file.
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


def hidden_below(path: Path, root: Path) -> bool:
    """Whether a file found below the folder `root` is hidden there: a name on its way down
    starts with `.` (`.git`, an editor's `.history`, a `.trash`). Every loader of a folder (policies,
    contracts, the files a bundle carries and hashes) skips those, so all read the same files."""
    return any(part.startswith(".") for part in path.relative_to(root).parts)


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


_PLAIN_TAGS: dict[str, str] = {}  # a plain scalar's text -> its implicit tag (short texts; bounded)


class _Loader(_Base):  # type: ignore[misc, valid-type]
    """libyaml's loader with PyYAML's resolver made cheap: libyaml calls back into Python to tag
    every node (`resolve`) and to track the path (`descend_resolver`/`ascend_resolver`), which
    cost as much as parsing. No path resolvers are registered, so tracking is skipped, and a
    plain scalar's implicit tag, which depends on its text alone, is remembered."""

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is yaml.ScalarNode:
            if not implicit[0]:
                return self.DEFAULT_SCALAR_TAG  # quoted: a string
            tag = _PLAIN_TAGS.get(value)
            if tag is None:
                tag = super().resolve(kind, value, implicit)
                if len(value) <= 64 and len(_PLAIN_TAGS) < 65536:
                    _PLAIN_TAGS[value] = tag
            return tag
        return super().resolve(kind, value, implicit)


assert not _Loader.yaml_path_resolvers, "path resolvers need descend_resolver and ascend_resolver"


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


_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_SPECIAL_KEYS = frozenset({"tag:yaml.org,2002:merge", "tag:yaml.org,2002:value"})
_Scalar, _Sequence, _Mapping = yaml.ScalarNode, yaml.SequenceNode, yaml.MappingNode


class _Unusual(Exception):
    """The fast path met something it leaves to the general path."""


class _Fast:
    """Objects from a composed document in one pass, keeping the bounds (depth, self-reference,
    expansion counted as `_bounded` counts it); raises _Unusual for anything else. An alias is the
    same node twice: it gives the same object (as PyYAML's constructor does) and counts its size
    each time."""

    __slots__ = ("loader", "done", "open")

    def __init__(self, loader: _Loader) -> None:
        self.loader = loader
        self.done: dict[int, tuple[Any, int, yaml.Node]] = {}  # the node kept: its id stays unique
        self.open: set[int] = set()

    def build(self, node: yaml.Node, depth: int) -> tuple[Any, int]:
        key = id(node)
        hit = self.done.get(key)
        if hit is not None:
            return hit[0], hit[1]
        if depth > MAX_YAML_DEPTH:
            raise _Unusual
        cls, tag = node.__class__, node.tag
        size = 1
        if cls is _Scalar:
            if tag == _STR:
                return node.value, 1  # a string is never shared by identity: no memo needed
            if tag == _BOOL:
                obj: Any = self.loader.bool_values[node.value.lower()]
            elif tag == _NULL:
                obj = None
            else:
                obj = self.loader.construct_object(node, deep=True)
        elif key in self.open:
            raise _Unusual
        elif cls is _Sequence and tag == _SEQ:
            self.open.add(key)
            obj = []
            inline = depth < MAX_YAML_DEPTH  # a child's depth is within bounds: a string is read here
            for child in node.value:
                if inline and child.__class__ is _Scalar and child.tag == _STR:
                    obj.append(child.value)
                    size += 1
                    continue
                value, n = self.build(child, depth + 1)
                obj.append(value)
                size += n
            self.open.discard(key)
        elif cls is _Mapping and tag == _MAP:
            self.open.add(key)
            obj = LocatedDict()
            obj.start = (node.start_mark.line + 1, node.start_mark.column + 1)
            positions = obj.positions
            inline = depth < MAX_YAML_DEPTH  # as for a sequence: plain strings without a call
            for key_node, value_node in node.value:
                if inline and key_node.__class__ is _Scalar and key_node.tag == _STR:
                    name, n = key_node.value, 1
                else:
                    if key_node.tag in _SPECIAL_KEYS:
                        raise _Unusual
                    name, n = self.build(key_node, depth + 1)
                if name.__class__ is not str:
                    if not isinstance(name, (str, int, float, bool)) and name is not None:
                        raise _Unusual
                    name = str(name)
                if name in obj:
                    raise _Unusual
                if inline and value_node.__class__ is _Scalar and value_node.tag == _STR:
                    value, m = value_node.value, 1
                else:
                    value, m = self.build(value_node, depth + 1)
                obj[name] = value
                mark = key_node.start_mark
                positions[name] = (mark.line + 1, mark.column + 1)
                size += n + m
            self.open.discard(key)
        else:
            raise _Unusual
        if size > MAX_YAML_NODES:
            raise _Unusual
        self.done[key] = (obj, size, node)
        return obj, size


def load_yaml_text(text: str, source: str) -> Any:
    """Parse YAML text; raise YamlError with `source:line:col: error: ...` on malformed input,
    a duplicate key, or a document past the depth and expansion bounds."""
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            return _Fast(loader).build(node, 1)[0]
        finally:
            loader.dispose()
    except Exception:  # noqa: S110 - anything unusual or wrong: the general path, which says what
        pass
    return _load_general(text, source)


def _load_general(text: str, source: str) -> Any:
    """`load_yaml_text` by the general path: bounds first, then PyYAML's constructor; every
    error located."""
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
    except YamlError:
        raise
    except (ValueError, TypeError, OverflowError) as exc:  # a scalar the constructor cannot build
        line, column = _unbuildable(text)
        raise YamlError(f"malformed YAML: a value that cannot be read ({str(exc).splitlines()[0][:200]})",
                        source, line, column) from None


def _unbuildable(text: str) -> tuple[int | None, int | None]:
    """The position of the first scalar PyYAML's constructor fails on (`2026-21-01`, read as a
    date), for the error that names it; (None, None) if none is found."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        stack = [node] if node is not None else []
        while stack:
            current = stack.pop(0)
            if isinstance(current, yaml.ScalarNode):
                try:
                    loader.construct_object(current, deep=True)
                except Exception:
                    return current.start_mark.line + 1, current.start_mark.column + 1
            else:
                stack.extend(_children(current))
    except Exception:  # noqa: S110 - the position is a courtesy; the error is raised anyway
        pass
    finally:
        loader.dispose()
    return None, None


def load_yaml_file(path: str | Path) -> Any:
    """Read (see `read_source`) and parse a YAML file; every failure raises a located YamlError."""
    return load_yaml_text(read_source(path), str(path))
