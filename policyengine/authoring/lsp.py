"""`policyengine lsp`: a language server on stdio (pygls) over the checker, the formatter and the
engine, for the project whose policyengine.yaml the editor's workspace holds.

Every change the author types re-checks the whole project with the editor's unsaved texts
(`Workspace.analyze`, a few milliseconds on the example mesh) and publishes the diagnostics
`policyengine check` gives, per file. Requests are answered from the last analysis by
`features`. A handler that fails answers nothing and logs one line: a broken file, contract or
configuration never stops the server.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from policyengine.authoring import features
from policyengine.authoring.workspace import Analysis, Workspace
from policyengine.diagnostics import Diagnostic, PolicyError, Span
from policyengine.language.formatter import format_text
from policyengine.yamlsource import YamlError

log = logging.getLogger("policyengine.lsp")
T = TypeVar("T")
P = ParamSpec("P")
RUN_TESTS = "policyengine.runTests"

_KINDS = {"product": lsp.CompletionItemKind.Module, "column": lsp.CompletionItemKind.Field,
          "tag": lsp.CompletionItemKind.EnumMember, "group": lsp.CompletionItemKind.Class,
          "user": lsp.CompletionItemKind.Variable,
          "mask": lsp.CompletionItemKind.Function, "purpose": lsp.CompletionItemKind.Constant,
          "attribute": lsp.CompletionItemKind.Property, "keyword": lsp.CompletionItemKind.Keyword}


class PolicyServer(LanguageServer):
    """The server and its one workspace; `analysis` is the last check of the whole project."""

    def __init__(self, version: str = "") -> None:
        super().__init__("policyengine", version or "unknown")
        self.model: Workspace | None = None
        self.analysis: Analysis | None = None
        self.published: set[str] = set()
        self.dirty = False
        self.last_check = 0.0  # seconds the last re-check took

    def changed(self) -> None:
        """The texts changed: re-check soon. When a check takes long (a large project), wait half
        as long as the last one took (at most 100 ms) first, so a burst of keystrokes costs one
        check; a fast check runs right away. A request in between sees the latest text (`current`)."""
        if not self.dirty:
            self.dirty = True
            delay = 0.0 if self.last_check < 0.02 else min(0.1, self.last_check / 2)
            try:
                asyncio.get_running_loop().call_later(delay, self.current)
            except RuntimeError:  # no loop (called directly): check now
                self.current()

    def current(self) -> Analysis | None:
        """The analysis of the latest texts (re-checking first when they changed)."""
        if self.dirty:
            self.dirty = False
            try:
                self.refresh()
            except Exception as exc:  # never let a check failure stop the server
                log.warning("policyengine lsp: re-check failed: %s", exc.__class__.__name__, exc_info=True)
        return self.analysis

    def refresh(self) -> Analysis | None:
        """Re-check the project and publish every file's diagnostics (clearing fixed ones)."""
        self.dirty = False
        if self.model is None:
            return None
        started = time.perf_counter()
        self.analysis = analysis = self.model.analyze()
        self.last_check = time.perf_counter() - started
        by_uri: dict[str, list[lsp.Diagnostic]] = {}
        for name in analysis.sources:
            by_uri.setdefault(_uri(name), [])
        for d in analysis.diagnostics:
            where = d.span.file if d.span is not None else d.file
            if not where:
                where = str(analysis.config.source) if analysis.config.source else None
            if where:
                by_uri.setdefault(_uri(where), []).append(to_lsp_diagnostic(d, analysis.sources.get(where)))
        for uri in self.published - set(by_uri):
            by_uri[uri] = []
        for uri, diags in by_uri.items():
            self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=diags))
        self.published = {u for u, ds in by_uri.items() if ds}
        return analysis


def _uri(path: str) -> str:
    return from_fs_path(str(Path(path).resolve())) or path


def _path(uri: str) -> Path:
    return Path(to_fs_path(uri) or uri)


def _col16(line_text: str | None, column: int) -> int:
    """A 1-based character column as a 0-based UTF-16 offset (LSP's default position encoding)."""
    if line_text is None:
        return max(0, column - 1)
    prefix = line_text[:max(0, column - 1)]
    return len(prefix.encode("utf-16-le")) // 2 + max(0, column - 1 - len(prefix))


def _from16(line_text: str, character: int) -> int:
    """A 0-based UTF-16 offset as a 1-based character column."""
    units = 0
    for i, ch in enumerate(line_text):
        if units >= character:
            return i + 1
        units += 2 if ord(ch) > 0xFFFF else 1
    return len(line_text) + 1 + max(0, character - units)


def to_range(span: Span | None, source: str | None = None) -> lsp.Range:
    if span is None:
        return lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0))
    lines = source.split("\n") if source is not None else None

    def line_of(n: int) -> str | None:
        return lines[n - 1] if lines is not None and 0 < n <= len(lines) else None

    return lsp.Range(lsp.Position(max(0, span.line - 1), _col16(line_of(span.line), span.column)),
                     lsp.Position(max(0, span.end_line - 1), _col16(line_of(span.end_line), span.end_column)))


def to_lsp_diagnostic(d: Diagnostic, source: str | None) -> lsp.Diagnostic:
    message = d.message + "".join(f"\nnote: {n}" for n in d.notes)
    return lsp.Diagnostic(range=to_range(d.span, source), message=message,
                          severity=lsp.DiagnosticSeverity.Error if d.severity == "error"
                          else lsp.DiagnosticSeverity.Warning,
                          code=d.code or None, source="policyengine")


def _safe(default: Callable[[], Any]) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """A handler that logs its failure and answers `default()` instead of an error (the handler's
    empty answer: None or []; typed Any as the handler's own type is known only once it is wrapped)."""
    def wrap(fn: Callable[P, T]) -> Callable[P, T]:
        @functools.wraps(fn)
        def run(*args: P.args, **kw: P.kwargs) -> T:
            try:
                return fn(*args, **kw)
            except Exception as exc:
                log.warning("policyengine lsp: %s failed: %s", fn.__name__, exc.__class__.__name__,
                            exc_info=True)
                return default()
        return run
    return wrap


server = PolicyServer()


def _position(ls: PolicyServer, uri: str, pos: lsp.Position) -> tuple[Analysis, Path, int, int] | None:
    """The analysis, the file and the 1-based (line, column) of an LSP position."""
    a = ls.current()
    if a is None:
        return None
    path = _path(uri)
    name = a.file_named(path)
    text = a.sources.get(name) if name else None
    lines = text.split("\n") if text is not None else []
    line_text = lines[pos.line] if pos.line < len(lines) else ""
    return a, path, pos.line + 1, _from16(line_text, pos.character)


@server.feature(lsp.INITIALIZE)
@_safe(lambda: None)
def _initialize(ls: PolicyServer, params: lsp.InitializeParams) -> None:
    options = params.initialization_options if isinstance(params.initialization_options, dict) else {}
    config = options.get("config")
    if config is None:
        root = None
        if params.workspace_folders:
            root = _path(params.workspace_folders[0].uri)
        elif params.root_uri:
            root = _path(params.root_uri)
        elif params.root_path:
            root = Path(params.root_path)
        if root is not None:
            from policyengine.config import find_config

            config = find_config(root)
    ls.model = Workspace(config)


@server.feature(lsp.INITIALIZED)
@_safe(lambda: None)
def _initialized(ls: PolicyServer, params: lsp.InitializedParams) -> None:
    ls.refresh()


def _set(ls: PolicyServer, uri: str, text: str) -> None:
    if ls.model is None:
        return
    path = _path(uri)
    if path.suffix == ".policy":
        ls.model.set_text(path, text)
        ls.changed()


@server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
@_safe(lambda: None)
def _did_open(ls: PolicyServer, params: lsp.DidOpenTextDocumentParams) -> None:
    _set(ls, params.text_document.uri, params.text_document.text)


@server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
@_safe(lambda: None)
def _did_change(ls: PolicyServer, params: lsp.DidChangeTextDocumentParams) -> None:
    doc = ls.workspace.get_text_document(params.text_document.uri)  # pygls applied the changes
    _set(ls, params.text_document.uri, doc.source)


@server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
@_safe(lambda: None)
def _did_close(ls: PolicyServer, params: lsp.DidCloseTextDocumentParams) -> None:
    if ls.model is not None:
        ls.model.close(_path(params.text_document.uri))
        ls.changed()


@server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
@_safe(lambda: None)
def _did_save(ls: PolicyServer, params: lsp.DidSaveTextDocumentParams) -> None:
    if ls.model is not None and ls.model.is_project_input(_path(params.text_document.uri)):
        ls.model.reload_project()
        ls.refresh()


@server.feature(lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES)
@_safe(lambda: None)
def _watched(ls: PolicyServer, params: lsp.DidChangeWatchedFilesParams) -> None:
    if ls.model is None:
        return
    if any(ls.model.is_project_input(_path(c.uri)) for c in params.changes):
        ls.model.reload_project()
    ls.refresh()


@server.feature(lsp.TEXT_DOCUMENT_HOVER)
@_safe(lambda: None)
def _hover(ls: PolicyServer, params: lsp.HoverParams) -> lsp.Hover | None:
    at = _position(ls, params.text_document.uri, params.position)
    if at is None:
        return None
    found = features.hover(*at)
    if found is None:
        return None
    text, span = found
    return lsp.Hover(lsp.MarkupContent(lsp.MarkupKind.Markdown, text),
                     to_range(span, at[0].sources.get(span.file)))


@server.feature(lsp.TEXT_DOCUMENT_COMPLETION,
                lsp.CompletionOptions(trigger_characters=[".", ":", " ", "{", ","]))
@_safe(lambda: lsp.CompletionList(is_incomplete=False, items=[]))
def _completion(ls: PolicyServer, params: lsp.CompletionParams) -> lsp.CompletionList:
    at = _position(ls, params.text_document.uri, params.position)
    items = []
    for c in features.completions(*at) if at else []:
        items.append(lsp.CompletionItem(
            label=c.label, kind=_KINDS.get(c.kind), detail=c.detail or None,
            insert_text=c.insert, insert_text_format=lsp.InsertTextFormat.Snippet if c.insert else None))
    return lsp.CompletionList(is_incomplete=False, items=items)


def _locations(a: Analysis, spans: list[Span]) -> list[lsp.Location]:
    return [lsp.Location(_uri(s.file), to_range(s, a.sources.get(s.file))) for s in spans]


@server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
@_safe(list)
def _definition(ls: PolicyServer, params: lsp.DefinitionParams) -> list[lsp.Location]:
    at = _position(ls, params.text_document.uri, params.position)
    return _locations(at[0], features.definition(*at)) if at else []


@server.feature(lsp.TEXT_DOCUMENT_REFERENCES)
@_safe(list)
def _references(ls: PolicyServer, params: lsp.ReferenceParams) -> list[lsp.Location]:
    at = _position(ls, params.text_document.uri, params.position)
    return _locations(at[0], features.references(*at)) if at else []


@server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
@_safe(list)
def _symbols(ls: PolicyServer, params: lsp.DocumentSymbolParams) -> list[lsp.DocumentSymbol]:
    a = ls.current()
    if a is None:
        return []
    out = []
    for s in features.document_symbols(a, _path(params.text_document.uri)):
        r = to_range(s.span, a.sources.get(s.span.file))
        out.append(lsp.DocumentSymbol(name=s.name, detail=s.detail or None, range=r, selection_range=r,
                                      kind=lsp.SymbolKind.Namespace if s.kind == "scope"
                                      else lsp.SymbolKind.Function))
    return out


@server.feature(lsp.TEXT_DOCUMENT_FORMATTING)
@_safe(list)
def _formatting(ls: PolicyServer, params: lsp.DocumentFormattingParams) -> list[lsp.TextEdit]:
    """The whole file in `policyengine fmt`'s layout; nothing while it has a syntax error."""
    doc = ls.workspace.get_text_document(params.text_document.uri)
    text = doc.source
    try:
        new = format_text(text, str(_path(params.text_document.uri)))
    except PolicyError:
        return []
    if new == text:
        return []
    lines = text.split("\n")
    end = lsp.Position(len(lines) - 1, len(lines[-1].encode("utf-16-le")) // 2)
    return [lsp.TextEdit(lsp.Range(lsp.Position(0, 0), end), new)]


@server.feature(lsp.TEXT_DOCUMENT_CODE_ACTION,
                lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix]))
@_safe(list)
def _code_actions(ls: PolicyServer, params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
    """The did-you-mean fixes of the diagnostics in the requested range."""
    a = ls.current()
    if a is None:
        return []
    name = a.file_named(_path(params.text_document.uri))
    if name is None:
        return []
    source = a.sources[name]
    want = params.range
    out = []
    for d in a.diagnostics:
        if d.span is None or d.span.file != name:
            continue
        r = to_range(d.span, source)
        if (r.end.line, r.end.character) < (want.start.line, want.start.character) or \
                (r.start.line, r.start.character) > (want.end.line, want.end.character):
            continue
        fix = features.quick_fix(d, source)
        if fix is None:
            continue
        span, replacement = fix
        edit = lsp.TextEdit(to_range(span, source), replacement)
        out.append(lsp.CodeAction(
            title=f"Change to '{replacement}'", kind=lsp.CodeActionKind.QuickFix,
            diagnostics=[to_lsp_diagnostic(d, source)], is_preferred=True,
            edit=lsp.WorkspaceEdit(changes={params.text_document.uri: [edit]})))
    return out


# ------------------------------------------------------------------ policy test files


def _test_results(ls: PolicyServer, uri: str) -> tuple[list[tuple[int, str, bool, str]], str | None]:
    """Run the policy test file at `uri` (its editor text) against the current analysis:
    (line, test name, passed, first failure) per case, and an error that stopped the run."""
    from policyengine.engine.policytest import load_cases, run_tests

    a = ls.current()
    if a is None:
        return [], "the project is not loaded"
    doc = ls.workspace.get_text_document(uri)
    text = doc.source
    with tempfile.TemporaryDirectory(prefix="policyengine-lsp-") as tmp:
        copy = Path(tmp) / "tests.yaml"
        copy.write_text(text, encoding="utf-8")
        try:
            cases = load_cases(copy)
        except YamlError as exc:
            return [], str(exc).replace(str(copy), str(_path(uri)))
    report = run_tests(a.engine(), cases)
    out = []
    for r in report.results:
        line = int(r.case.location.rpartition(":")[2] or 1)
        out.append((line, r.case.name, r.passed, r.failures[0] if r.failures else ""))
    return out, (f"the project has {a.errors} error(s): tests ran without the rules that do not check"
                 if a.errors else None)


def _is_test_file(ls: PolicyServer, uri: str) -> bool:
    path = _path(uri)
    if path.suffix not in (".yaml", ".yml") or ls.model is None:
        return False
    text = ls.workspace.get_text_document(uri).source
    return any(line.startswith("tests:") for line in text.split("\n"))


@server.feature(lsp.TEXT_DOCUMENT_CODE_LENS)
@_safe(list)
def _code_lens(ls: PolicyServer, params: lsp.CodeLensParams) -> list[lsp.CodeLens]:
    """On a policy test file: a lens running every test, and each test's result at its line."""
    uri = params.text_document.uri
    if not _is_test_file(ls, uri):
        return []
    results, error = _test_results(ls, uri)
    passed = sum(p for _, _, p, _ in results)
    at_top = lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0))
    title = (f"▶ run {len(results)} policy test(s): {passed} passed, {len(results) - passed} failed"
             if error is None or results else f"▶ run policy tests ({error})")
    lenses = [lsp.CodeLens(at_top, lsp.Command(title, RUN_TESTS, arguments=[uri]))]
    for line, _, ok, failure in results:
        where = lsp.Range(lsp.Position(line - 1, 0), lsp.Position(line - 1, 0))
        text = "✓ passed" if ok else f"✗ failed: {failure}"
        lenses.append(lsp.CodeLens(where, lsp.Command(text, RUN_TESTS, arguments=[uri])))
    return lenses


@server.command(RUN_TESTS)
@_safe(lambda: {"error": "the tests could not run"})
def _run_tests(ls: PolicyServer, *args: Any) -> dict[str, Any]:
    """Run a policy test file; show the outcome and return it (for clients that script it)."""
    uri = args[0] if args and isinstance(args[0], str) else (args[0][0] if args and args[0] else "")
    results, error = _test_results(ls, uri)
    failed = [(line, name, f) for line, name, ok, f in results if not ok]
    summary = f"policy tests: {len(results) - len(failed)} passed, {len(failed)} failed"
    if error:
        summary += f" ({error})"
    ls.window_show_message(lsp.ShowMessageParams(
        lsp.MessageType.Error if failed or (error and not results) else lsp.MessageType.Info, summary))
    caps = ls.client_capabilities.workspace
    if caps is not None and caps.code_lens is not None and caps.code_lens.refresh_support:
        ls.workspace_code_lens_refresh(None)  # the lenses show the new results
    return {"passed": len(results) - len(failed), "failed": [
        {"line": line, "name": name, "failure": f} for line, name, f in failed], "error": error}


def main(version: str = "") -> None:
    """Serve on stdin/stdout until the client exits; `version` is what the server reports."""
    server.version = version or server.version
    logging.basicConfig(level=logging.WARNING, format="%(message)s")  # stderr: stdout carries the protocol
    server.start_io()
