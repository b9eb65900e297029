"""`policyengine lsp` end to end: a real LSP client (pytest-lsp) starts the server over stdio in a
private copy of the example project and checks what an author sees, against the CLI and the
engine (not against the server's own helpers)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

import policyengine
from policyengine.language.formatter import format_text

SERVER = [sys.executable, "-m", "policyengine.cli", "lsp"]


def uri(path: Path) -> str:
    return path.resolve().as_uri()


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER))
async def client(lsp_client: LanguageClient, project: Path):
    lsp_client.lens_refreshes = []  # the client claims VS Code's capabilities: answer what it asks

    @lsp_client.feature(lsp.WORKSPACE_CODE_LENS_REFRESH)
    def _refresh(params: None) -> None:
        lsp_client.lens_refreshes.append(params)

    params = lsp.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        root_uri=uri(project), workspace_folders=[lsp.WorkspaceFolder(uri(project), "mesh")])
    await lsp_client.initialize_session(params)
    await barrier(lsp_client, project)
    yield
    await lsp_client.shutdown_session()


async def barrier(client: LanguageClient, project: Path) -> None:
    """Wait until the server has handled everything sent before (it answers in order, and
    publishes diagnostics before answering the next request)."""
    await client.text_document_document_symbol_async(
        lsp.DocumentSymbolParams(lsp.TextDocumentIdentifier(uri(project / "policies" / "sales.policy"))))


def open_doc(client: LanguageClient, path: Path, text: str | None = None, language: str = "policy") -> None:
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(lsp.TextDocumentItem(
        uri(path), language, 1, path.read_text(encoding="utf-8") if text is None else text)))


def change(client: LanguageClient, path: Path, text: str, version: int = 2) -> None:
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        lsp.VersionedTextDocumentIdentifier(version=version, uri=uri(path)),
        [lsp.TextDocumentContentChangeWholeDocument(text=text)]))


def position_of(text: str, needle: str, offset: int = 0, last: bool = False) -> lsp.Position:
    at = (text.rindex(needle) if last else text.index(needle)) + offset
    line = text.count("\n", 0, at)
    return lsp.Position(line, at - (text.rfind("\n", 0, at) + 1))


def check_json(project: Path) -> list[dict]:
    out = subprocess.run([sys.executable, "-m", "policyengine.cli", "check", "--format", "json"],
                         cwd=project, capture_output=True, text=True, check=False)
    return json.loads(out.stdout)["diagnostics"]


def published(client: LanguageClient, project: Path) -> list[tuple[str, int, str, str]]:
    """Every published diagnostic as (file relative to the project, line, severity, message)."""
    out = []
    for u, diags in client.diagnostics.items():
        rel = Path(u.removeprefix("file://")).resolve().relative_to(project.resolve()).as_posix()
        for d in diags:
            sev = "error" if d.severity == lsp.DiagnosticSeverity.Error else "warning"
            out.append((rel, d.range.start.line + 1, sev, d.message.split("\nnote:")[0]))
    return sorted(out)


def expected(project: Path, diags: list[dict]) -> list[tuple[str, int, str, str]]:
    out = []
    for d in diags:
        span = d["span"]
        where = span["file"] if span else d["location"]
        rel = (project / where).resolve().relative_to(project.resolve()).as_posix()
        out.append((rel, span["line"] if span else 1, d["severity"], d["message"]))
    return sorted(out)


BROKEN = """scope domain sales

@name("typo-column")
allow read sales.orders.{order_id, amout} to group:finance;

@name("typo-group")
allow read sales.customers to group:analytcs;
"""


@pytest.mark.asyncio
async def test_diagnostics_match_check_and_follow_the_editor_text(client: LanguageClient, project: Path):
    """At start the diagnostics are `check`'s; typing a mistake (unsaved) adds check's errors for
    it, with a did-you-mean code action whose edit fixes it; the disk is never read for an open file."""
    assert published(client, project) == expected(project, check_json(project))
    sales = project / "policies" / "sales.policy"
    on_disk = sales.read_text(encoding="utf-8")
    open_doc(client, sales)
    change(client, sales, BROKEN)
    await barrier(client, project)
    sales.write_text(BROKEN, encoding="utf-8")  # what check says about this text
    try:
        want = expected(project, check_json(project))
    finally:
        sales.write_text(on_disk, encoding="utf-8")
    assert published(client, project) == want
    messages = [d for d in client.diagnostics[uri(sales)]]
    assert any("amout" in d.message and d.severity == lsp.DiagnosticSeverity.Error for d in messages)
    assert any("analytcs" in d.message and d.code == "unknown-subject" for d in messages)

    fixed = BROKEN
    for word, right in (("amout", "amount"), ("analytcs", "analytics")):
        diag = next(d for d in client.diagnostics[uri(sales)] if word in d.message)
        actions = await client.text_document_code_action_async(lsp.CodeActionParams(
            lsp.TextDocumentIdentifier(uri(sales)), diag.range, lsp.CodeActionContext([diag])))
        assert actions and actions[0].title == f"Change to '{right}'"
        (edit,) = actions[0].edit.changes[uri(sales)]
        lines = fixed.split("\n")
        r = edit.range
        line = lines[r.start.line]
        assert line[r.start.character:r.end.character] == word
        lines[r.start.line] = line[:r.start.character] + edit.new_text + line[r.end.character:]
        fixed = "\n".join(lines)
    change(client, sales, fixed, 3)
    await barrier(client, project)
    assert not [d for d in client.diagnostics[uri(sales)] if "amout" in d.message or "analytcs" in d.message]
    # closing the file goes back to the disk's text: check's diagnostics again
    client.text_document_did_close(lsp.DidCloseTextDocumentParams(lsp.TextDocumentIdentifier(uri(sales))))
    await barrier(client, project)
    assert published(client, project) == expected(project, check_json(project))


@pytest.mark.asyncio
async def test_ownership_errors_are_diagnostics(client: LanguageClient, project: Path):
    """A domain file declaring another domain's scope: the ownership map's error, as check gives it."""
    hr = project / "policies" / "hr.policy"
    text = hr.read_text(encoding="utf-8").replace("scope domain hr", "scope domain sales", 1)
    open_doc(client, hr, text)
    await barrier(client, project)
    diags = client.diagnostics[uri(hr)]
    hr_on_disk = hr.read_text(encoding="utf-8")
    hr.write_text(text, encoding="utf-8")
    try:
        want = [d for d in expected(project, check_json(project)) if d[0] == "policies/hr.policy"]
    finally:
        hr.write_text(hr_on_disk, encoding="utf-8")
    assert want and any(d.severity == lsp.DiagnosticSeverity.Error for d in diags)
    assert [d for d in published(client, project) if d[0] == "policies/hr.policy"] == want


async def complete(client: LanguageClient, path: Path, text: str, needle: str) -> list[lsp.CompletionItem]:
    """Completions with the cursor right after `needle` in `text` (sent as the file's text)."""
    change(client, path, text, 10 + len(needle))
    result = await client.text_document_completion_async(lsp.CompletionParams(
        lsp.TextDocumentIdentifier(uri(path)), position_of(text, needle, len(needle), last=True)))
    return result.items if isinstance(result, lsp.CompletionList) else list(result or [])


@pytest.mark.asyncio
async def test_completion(client: LanguageClient, project: Path):
    engine = policyengine.load(project / "policies", project / "examples/mesh/products",
                               consumers=project / "examples/mesh/consumers.yaml")
    sales = project / "policies" / "sales.policy"
    base = sales.read_text(encoding="utf-8")
    open_doc(client, sales)

    def labels(items: list[lsp.CompletionItem]) -> list[str]:
        return [i.label for i in items]

    text = base + "\nallow read sales.orders."
    assert labels(await complete(client, sales, text, "sales.orders.")) == \
        list(engine.catalog.products["sales.orders"].column_names)
    text = base + "\nallow read sales.orders.{order_id, "
    assert "amount" in labels(await complete(client, sales, text, "{order_id, "))
    groups = sorted({g for c in engine.consumers.values() for g in c.groups})
    text = base + "\nallow read sales.orders to group:"
    assert labels(await complete(client, sales, text, "group:")) == groups
    text = base + "\nallow read sales.orders to user:"
    assert labels(await complete(client, sales, text, "user:")) == sorted(engine.consumers)
    text = base + "\nmask sales.orders.amount using "
    masks = {i.label: i for i in await complete(client, sales, text, "using ")}
    assert {"hash", "round", "partial", "last4", "redact"} <= set(masks)
    assert masks["partial"].insert_text == "partial(${1:first}, ${2:last})"
    assert masks["round"].insert_text == "round(${1:0})"
    text = base + "\nallow read sales.orders to group:finance for purpose "
    assert {"reporting", "forecasting", "operations"} <= set(labels(await complete(client, sales, text, "purpose ")))
    text = base + "\nallow read sales.orders to group:finance when consumer."
    assert labels(await complete(client, sales, text, "consumer.")) == sorted(engine.schema.types)
    text = base + "\nmask tagged "
    tags = labels(await complete(client, sales, text, "tagged "))
    assert {"pii.email", "pii.name"} <= set(tags)
    text = base + "\n"
    products = labels(await complete(client, sales, text + "allow read ", "allow read "))
    assert set(engine.catalog.products) <= set(products)


@pytest.mark.asyncio
async def test_hover_shows_the_engine_decisions(client: LanguageClient, project: Path):
    """Hover on a column: type, tags, domain, contract file, and per consumer the engine's outcome
    (checked against `Engine.evaluate` for every consumer with no purpose)."""
    engine = policyengine.load(project / "policies", project / "examples/mesh/products",
                               consumers=project / "examples/mesh/consumers.yaml")
    sales = project / "policies" / "sales.policy"
    text = sales.read_text(encoding="utf-8")
    open_doc(client, sales)
    hover = await client.text_document_hover_async(lsp.HoverParams(
        lsp.TextDocumentIdentifier(uri(sales)), position_of(text, "margin, currency")))
    value = hover.contents.value
    col = engine.catalog.products["sales.orders"].column("margin")
    assert f"`{col.logical_type}`" in value and "domain: `sales`" in value
    assert "examples/mesh/products/sales.orders.yaml:" in value
    for tag in col.tags:
        assert f"`{tag}`" in value
    rows = {line.split(" | ")[0].lstrip("| ").replace("\\", ""): line.split(" | ")[1]
            for line in value.splitlines() if line.startswith("| ") and "(" in line}
    for cid, consumer in engine.consumers.items():
        cd = engine.evaluate(consumer, "sales.orders", ["margin"]).columns["margin"]
        want = f"mask({cd.strategy})" if cd.effect == "mask" else cd.effect
        label = f"{cid} ({', '.join(sorted(consumer.groups)) or 'no group'})"
        assert rows[label] == want, (label, value)

    # by group: each group's members with the engine's outcome for them
    groups = {line[3:].split("`")[0]: line.split(": ", 1)[1] for line in value.splitlines() if line.startswith("- `")}
    assert set(groups) == {g for c in engine.consumers.values() for g in c.groups}
    for group, shown in groups.items():
        for outcome, members in re.findall(r"([a-z]+(?:\(\w+\))?) \(([^)]*)\)", shown):
            for cid in members.split(", "):
                cd = engine.evaluate(cid, "sales.orders", ["margin"]).columns["margin"]
                assert outcome == (f"mask({cd.strategy})" if cd.effect == "mask" else cd.effect), (group, cid)
                assert group in engine.consumers[cid].groups

    # on a rule: what it decides and which rules win over it, by the engine's decisions
    hover = await client.text_document_hover_async(lsp.HoverParams(
        lsp.TextDocumentIdentifier(uri(sales)), position_of(text, "allow read sales.orders to group:analytics")))
    value = hover.contents.value
    assert "analysts-read-orders" in value and "allows reading sales.orders" in value
    assert "margin-for-leads-and-finance" in value  # the deny on margin wins for the analysts

    # on a tag: its columns and who reads them
    hr = project / "policies" / "platform.policy"
    ptext = hr.read_text(encoding="utf-8")
    open_doc(client, hr)
    at = ptext.index("tagged ") + len("tagged ")
    hover = await client.text_document_hover_async(lsp.HoverParams(
        lsp.TextDocumentIdentifier(uri(hr)), position_of(ptext, ptext[at:at + 3])))
    assert hover is not None and "tag **" in hover.contents.value


@pytest.mark.asyncio
async def test_navigation_symbols_and_formatting(client: LanguageClient, project: Path):
    sales = project / "policies" / "sales.policy"
    text = sales.read_text(encoding="utf-8")
    open_doc(client, sales)
    doc = lsp.TextDocumentIdentifier(uri(sales))
    # product -> its contract, at the line naming it
    (loc,) = await client.text_document_definition_async(lsp.DefinitionParams(doc, position_of(text, "sales.orders to")))
    contract = project / "examples/mesh/products/sales.orders.yaml"
    assert loc.uri == uri(contract)
    assert "sales.orders" in contract.read_text().split("\n")[loc.range.start.line] or \
        "orders" in contract.read_text().split("\n")[loc.range.start.line]
    # column -> its line in the contract
    (loc,) = await client.text_document_definition_async(lsp.DefinitionParams(doc, position_of(text, "margin, currency")))
    assert "margin" in contract.read_text().split("\n")[loc.range.start.line]
    # @name -> its rule
    (loc,) = await client.text_document_definition_async(lsp.DefinitionParams(
        doc, position_of(text, '"margin-for-leads-and-finance"', 2)))
    assert text.split("\n")[loc.range.start.line].startswith("@name(\"margin-for-leads-and-finance\")")
    # references of margin: the rules naming it
    refs = await client.text_document_references_async(lsp.ReferenceParams(
        text_document=doc, position=position_of(text, "margin, currency"),
        context=lsp.ReferenceContext(include_declaration=True)))
    lines = {(r.uri, r.range.start.line) for r in refs}
    assert (uri(sales), position_of(text, "sales.orders.margin to").line) in lines
    # document symbols: the scope and every rule by name
    symbols = await client.text_document_document_symbol_async(lsp.DocumentSymbolParams(doc))
    names = [s.name for s in symbols]
    assert names[0] == "scope domain sales" and "coarse-amounts-for-forecasting" in names
    # formatting gives `fmt`'s text
    messy = text.replace("allow read sales.orders.{order_id,", "allow   read sales.orders.{ order_id ,")
    change(client, sales, messy)
    edits = await client.text_document_formatting_async(lsp.DocumentFormattingParams(
        doc, lsp.FormattingOptions(tab_size=4, insert_spaces=True)))
    assert len(edits) == 1 and edits[0].new_text == format_text(messy, str(sales))
    change(client, sales, "scope domain sales\nallow read", 5)  # a syntax error: no edits, no crash
    assert await client.text_document_formatting_async(lsp.DocumentFormattingParams(
        doc, lsp.FormattingOptions(tab_size=4, insert_spaces=True))) in (None, [], ())


@pytest.mark.asyncio
async def test_code_lens_runs_policy_tests(client: LanguageClient, project: Path):
    """The lenses on a policy test file show each test's result as `policyengine test` gives it;
    the command runs them and says the outcome."""
    tests = project / "policies" / "tests" / "mesh.yaml"
    open_doc(client, tests, language="yaml")
    lenses = await client.text_document_code_lens_async(lsp.CodeLensParams(lsp.TextDocumentIdentifier(uri(tests))))
    out = subprocess.run([sys.executable, "-m", "policyengine.cli", "test", "--format", "json"],
                         cwd=project, capture_output=True, text=True, check=False)
    cases = json.loads(out.stdout)["cases"]
    per_case = lenses[1:]
    assert len(per_case) == len(cases)
    for lens, case in zip(per_case, cases, strict=True):
        assert lens.range.start.line + 1 == int(case["location"].rpartition(":")[2])
        assert lens.command.title.startswith("✓" if case["passed"] else "✗")
    assert f"{sum(c['passed'] for c in cases)} passed" in lenses[0].command.title
    # an unsaved edit that breaks a test: its lens says so
    text = tests.read_text(encoding="utf-8").replace("margin: deny", "margin: allow", 1)
    change(client, tests, text)
    lenses = await client.text_document_code_lens_async(lsp.CodeLensParams(lsp.TextDocumentIdentifier(uri(tests))))
    assert sum(lens.command.title.startswith("✗") for lens in lenses[1:]) == 1
    result = await client.workspace_execute_command_async(lsp.ExecuteCommandParams(
        lenses[0].command.command, [uri(tests)]))
    assert len(result["failed"]) == 1 and "margin" in result["failed"][0]["failure"]
    assert client.lens_refreshes  # the lenses are asked to show the new results
    assert any("1 failed" in m.message for m in client.messages)


GARBAGE = [
    "",
    "scope",
    "scope domain sales\nallow read sales.orders to group:\"",
    "scope domain sales\n" + "allow read sales.orders to group:x when " + "(" * 5000 + "\n",
    "\x00\x01\ufeff@@@@;;;;{{{{",
    "scope domain sales\n@name(\"x\") @name(\"x\")\nmask sales.orders.amount using round(\"a\", 1, 2) to everyone;",
    "scope domain sales\nallow read sales.orders.{`weird`} to user:\"\U0001f600\";",
]


@pytest.mark.asyncio
async def test_a_broken_file_never_stops_the_server(client: LanguageClient, project: Path):
    sales = project / "policies" / "sales.policy"
    open_doc(client, sales)
    for i, text in enumerate(GARBAGE, 2):
        change(client, sales, text, i)
        doc = lsp.TextDocumentIdentifier(uri(sales))
        end = lsp.Position(text.count("\n"), len(text.split("\n")[-1]))
        for pos in (lsp.Position(0, 0), end, lsp.Position(99, 99)):
            await client.text_document_hover_async(lsp.HoverParams(doc, pos))
            await client.text_document_completion_async(lsp.CompletionParams(doc, pos))
            await client.text_document_definition_async(lsp.DefinitionParams(doc, pos))
        await client.text_document_formatting_async(lsp.DocumentFormattingParams(
            doc, lsp.FormattingOptions(tab_size=4, insert_spaces=True)))
    change(client, sales, sales.read_text(encoding="utf-8"), 100)
    await barrier(client, project)
    assert published(client, project) == expected(project, check_json(project))


@pytest.mark.asyncio
@pytest.mark.parametrize("target, garbage", [
    ("examples/mesh/products/sales.orders.yaml", "schema: [\n  - name: orders\n    properties: {oops"),
    ("examples/mesh/consumers.yaml", "consumers:\n  - id: [unclosed\n"),
    ("policyengine.yaml", "policies: policies/\ncatalgo: nope\n"),
])
async def test_a_broken_project_file_is_a_diagnostic_not_a_crash(client: LanguageClient, project: Path,
                                                                 target: str, garbage: str):
    """A contract, the consumers file or policyengine.yaml saved broken: the server reloads, shows
    what `check` shows for it, keeps answering, and recovers when the file is fixed."""
    path = project / target
    good = path.read_text(encoding="utf-8")
    path.write_text(garbage, encoding="utf-8")
    client.text_document_did_save(lsp.DidSaveTextDocumentParams(lsp.TextDocumentIdentifier(uri(path))))
    await barrier(client, project)
    done = subprocess.run([sys.executable, "-m", "policyengine.cli", "check", "--format", "json"],
                          cwd=project, capture_output=True, text=True, check=False)
    assert done.returncode in (1, 2)
    shown = [d for d in published(client, project) if d[2] == "error"]
    assert shown and all(d[0] == target for d in shown)
    first = done.stderr.splitlines()[0] if done.returncode == 2 else json.loads(done.stdout)["diagnostics"][0]["message"]
    assert any(d[3] in first for d in shown), (shown, first)
    sales = project / "policies" / "sales.policy"
    text = sales.read_text(encoding="utf-8")
    open_doc(client, sales)
    await client.text_document_hover_async(lsp.HoverParams(
        lsp.TextDocumentIdentifier(uri(sales)), position_of(text, "margin, currency")))
    path.write_text(good, encoding="utf-8")
    client.workspace_did_change_watched_files(lsp.DidChangeWatchedFilesParams(
        [lsp.FileEvent(uri(path), lsp.FileChangeType.Changed)]))
    await barrier(client, project)
    assert published(client, project) == expected(project, check_json(project))


@pytest.mark.asyncio
async def test_positions_count_utf16_code_units(client: LanguageClient, project: Path):
    """LSP positions count UTF-16 code units: after an emoji (two units) on the same line, the
    diagnostic and its fix still point at the misspelt word, and hover finds the column."""
    sales = project / "policies" / "sales.policy"
    line = 'allow read sales.orders.{order_id, amount} to user:"\U0001f600", group:analytcs;'
    text = "scope domain sales\n\n" + line + "\n"
    open_doc(client, sales, text)
    await barrier(client, project)
    diag = next(d for d in client.diagnostics[uri(sales)] if "analytcs" in d.message)
    units = line.encode("utf-16-le")

    def utf16_slice(start: int, end: int) -> str:
        return units[2 * start:2 * end].decode("utf-16-le")

    assert utf16_slice(diag.range.start.character, diag.range.end.character).endswith("analytcs")
    actions = await client.text_document_code_action_async(lsp.CodeActionParams(
        lsp.TextDocumentIdentifier(uri(sales)), diag.range, lsp.CodeActionContext([diag])))
    (edit,) = actions[0].edit.changes[uri(sales)]
    assert utf16_slice(edit.range.start.character, edit.range.end.character) == "analytcs"
    at = len(line[:line.index("amount")].encode("utf-16-le")) // 2
    hover = await client.text_document_hover_async(lsp.HoverParams(
        lsp.TextDocumentIdentifier(uri(sales)), lsp.Position(2, at + 1)))
    assert hover is not None and "sales.orders.amount" in hover.contents.value
