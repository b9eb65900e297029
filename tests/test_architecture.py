"""The package's shape: data flows one way through the stages, with no import circle, no import
that runs back up a layer, and no stage reaching into another stage's private names.

Read from the source with the `ast` module (nothing is imported), counting every import: at
module level and inside functions alike."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "policyengine"

# the stage each top-level module or subpackage belongs to, lowest first; a module may import
# its own stage or a lower rank, never a higher one nor a different stage of the same rank
RANK = {
    "diagnostics": 0, "yamlsource": 0, "lazy": 0, "sarif": 0, "bounded": 0,
    "config": 1, "catalog": 1,
    "language": 2, "scan": 2,
    "engine": 3,
    "enforce": 4,
    "native": 4.5,  # compile and push: the policy set as an engine's own objects (over enforce)
    "governance": 5, "serve": 5, "wire": 5,
    "authoring": 5.5,  # the editor's view, the language server and the HTML report (over governance)
    "commands": 6, "": 6,  # "" is policyengine/__init__: the public API and composition root
    "cli": 7,
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


MODULES = _modules()


def _resolve(name: str) -> str | None:
    """The project module an import names (a package's __init__ for a package), or None."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str, path: Path) -> list[tuple[str, int, tuple[str, ...]]]:
    """(imported module, line, names taken) for every project import in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[str, int, tuple[str, ...]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = _resolve(alias.name)
                if target:
                    found.append((target, node.lineno, ()))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                submodule = _resolve(f"{base}.{alias.name}")
                if submodule == f"{base}.{alias.name}":
                    found.append((submodule, node.lineno, ()))
                else:
                    target = _resolve(base)
                    if target:
                        found.append((target, node.lineno, (alias.name,)))
    return found


def _stage(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _graph() -> dict[str, set[str]]:
    return {m: {t for t, _, _ in _imports(m, p) if t != m} for m, p in MODULES.items()}


def test_every_module_has_a_stage() -> None:
    unknown = sorted({_stage(m) for m in MODULES} - set(RANK))
    assert not unknown, f"modules outside any stage (add them to RANK): {unknown}"


def test_no_import_runs_back_up() -> None:
    bad = []
    for module, path in MODULES.items():
        here = _stage(module)
        for target, line, _ in _imports(module, path):
            there = _stage(target)
            if there == here or target == "policyengine" and here == "cli":
                continue
            if RANK[there] >= RANK[here]:
                bad.append(f"{path.relative_to(ROOT.parent)}:{line}: {module} ({here or 'policyengine'}) "
                           f"imports {target} ({there or 'policyengine'})")
    assert not bad, "imports that run up or sideways:\n" + "\n".join(bad)


def test_no_import_circle() -> None:
    graph = _graph()
    state: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                circles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    assert not circles, "import circles:\n" + "\n".join(" -> ".join(c) for c in circles)


def test_no_module_takes_another_modules_private_names() -> None:
    """What is shared has a public name in the module that owns it."""
    bad = []
    for module, path in MODULES.items():
        for target, line, names in _imports(module, path):
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            if private:
                bad.append(f"{path.relative_to(ROOT.parent)}:{line}: {module} takes {', '.join(private)} from {target}")
    assert not bad, "\n".join(bad)


# Inside a stage, modules that are layered too: each imports only the ones before it in its list
# (and modules of the stage not listed). The engine: what a decision is (semantics) knows nothing
# of how decisions are shared (cache), which knows nothing of the Engine, which knows nothing of
# loading a project; the SQL renderer's parts likewise.
LAYERS = [
    ["policyengine.engine.compiler", "policyengine.engine.semantics", "policyengine.engine.cache",
     "policyengine.engine.evaluator", "policyengine.engine.loading"],
    ["policyengine.enforce.sql_keys", "policyengine.enforce.sql_filters", "policyengine.enforce.sql_masks",
     "policyengine.enforce.sql"],
]


@pytest.mark.parametrize("layers", LAYERS, ids=lambda layers: layers[0].rpartition(".")[0])
def test_layers_inside_a_stage(layers: list[str]) -> None:
    missing = [m for m in layers if m not in MODULES]
    assert not missing, f"modules named in LAYERS that do not exist: {missing}"
    bad = []
    for i, module in enumerate(layers):
        for target, line, _ in _imports(module, MODULES[module]):
            if target in layers[i:] and target != module:
                bad.append(f"{MODULES[module].relative_to(ROOT.parent)}:{line}: {module} imports {target}, "
                           "a layer above it")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("snippet, expected", [
    ("from policyengine.language import ast\n", "policyengine.language.ast"),
    ("from policyengine.engine.decision import Decision\n", "policyengine.engine.decision"),
    ("import policyengine.enforce.sql\n", "policyengine.enforce.sql"),
])
def test_the_reader_resolves_imports(tmp_path: Path, snippet: str, expected: str) -> None:
    """The checks above can fail: the reader does see each form of import."""
    path = tmp_path / "probe.py"
    path.write_text(snippet, encoding="utf-8")
    assert [t for t, _, _ in _imports("policyengine.probe", path)] == [expected]
