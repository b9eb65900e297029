"""Policy text → AST. Lark stays behind this module: callers see PolicyFile or a PolicyError.

The AST is built inside the LALR parse (Lark's inline transformer), spans come from token
positions, and parsed files are cached by content hash so an unchanged file is not parsed again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
from collections import OrderedDict
from importlib import resources
from pathlib import Path

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from policyengine import ast
from policyengine.diagnostics import Diagnostic, PolicyError, Span


def grammar_text() -> str:
    """The grammar, from the installed package or, in a source checkout, from `grammar/`."""
    try:
        return resources.files("policyengine").joinpath("_grammar/policy.lark").read_text("utf-8")
    except (FileNotFoundError, OSError):
        return (Path(__file__).resolve().parent.parent / "grammar" / "policy.lark").read_text("utf-8")


GRAMMAR_HASH = hashlib.sha256(grammar_text().encode()).hexdigest()[:16]

# Terminal names → words for syntax errors.
_TERMINAL_WORDS = {
    "NAME": "a name",
    "QUOTED_NAME": "a `quoted name`",
    "STRING": "a string",
    "SQ_STRING": "a string",
    "SIGNED_NUMBER": "a number",
    "DATE": "a date (YYYY-MM-DD)",
    "DATETIME": "a timestamp (YYYY-MM-DDTHH:MM:SSZ)",
    "COMPARE_OP": "a comparison (==, !=, <, <=, >, >=)",
    "$END": "end of file",
}


def _tok_span(path: str, tok: Token) -> Span:
    return Span(path, tok.line, tok.column, tok.end_line, tok.end_column)


def _join(a: Span, b: Span) -> Span:
    return Span(a.file, a.line, a.column, b.end_line, b.end_column)


def _first_span(path: str, item: object) -> Span:
    if isinstance(item, Token):
        return _tok_span(path, item)
    span = getattr(item, "span", None)
    if isinstance(span, Span):
        return span
    if isinstance(item, tuple) and item:
        return _first_span(path, item[0])
    raise ValueError("no span")


def _last_span(path: str, item: object) -> Span:
    if isinstance(item, Token):
        return _tok_span(path, item)
    if isinstance(item, tuple) and item:
        return _last_span(path, item[-1])
    span = getattr(item, "span", None)
    if isinstance(span, Span):
        return span
    raise ValueError("no span")


def _unquote(text: str) -> str:
    body = text[1:-1]
    if "\\" not in body:
        return body
    out, i = [], 0
    escapes = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'"}
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            out.append(escapes.get(body[i + 1], body[i + 1]))
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


class _SyntaxProblem(Exception):
    def __init__(self, message: str, span: Span):
        super().__init__(message)
        self.span = span


class _Build(Transformer):
    """Builds AST nodes during the LALR parse."""

    path = "<input>"

    def _s(self, tok: Token) -> Span:
        return Span(self.path, tok.line, tok.column, tok.end_line, tok.end_column)

    # ---- file
    def start(self, children):
        scope = None
        rules = []
        for c in children:
            if isinstance(c, ast.Scope):
                scope = c
            else:
                rules.append(c)
        return scope, tuple(rules)

    def scope_platform(self, c):
        return ast.Scope("platform", None, _join(self._s(c[0]), self._s(c[1])))

    def scope_domain(self, c):
        return ast.Scope("domain", str(c[2]), _join(self._s(c[0]), self._s(c[2])))

    def annotation(self, c):
        return ast.Annotation(str(c[1]), _unquote(str(c[2])), _join(self._s(c[0]), self._s(c[2])))

    def rule(self, c):
        annotations = tuple(x for x in c[:-2] if isinstance(x, ast.Annotation))
        body: ast.Rule = c[-2]
        start = annotations[0].span if annotations else body.span
        span = _join(start, self._s(c[-1]))
        return ast.Rule(
            body.kind, body.target, body.subjects, body.purposes, body.condition, body.valid_from,
            body.valid_until, body.mask, body.row_filter, annotations, span,
        )

    def _rule(self, kind, head: Token, target, subjects, clauses, mask=None, row_filter=None):
        purposes: tuple = ()
        condition = valid_from = valid_until = None
        seen: set[str] = set()
        for name, value, span in clauses:
            if name in seen:
                raise _SyntaxProblem(f"duplicate '{name}' clause in one rule", span)
            seen.add(name)
            if name == "for":
                purposes = value
            elif name == "when":
                condition = value
            elif name == "from":
                valid_from = value
            else:
                valid_until = value
        return ast.Rule(kind, target, subjects, purposes, condition, valid_from, valid_until, mask,
                        row_filter, (), self._s(head))

    def allow_rule(self, c):
        return self._rule("allow", c[0], c[1], c[2], c[3:])

    def deny_rule(self, c):
        return self._rule("deny", c[0], c[1], c[2], c[3:])

    def mask_rule(self, c):
        return self._rule("mask", c[0], c[1], c[3], c[4:], mask=c[2])

    def filter_rule(self, c):
        product, expr, subjects = c[1], c[2], c[3]
        target = ast.ProductTarget(product, None, product.span)
        return self._rule("filter", c[0], target, subjects, c[4:], row_filter=expr)

    # ---- targets
    def pattern_part(self, c):
        return c[0]

    def path_target(self, c):
        domain, product = c[0], c[1]
        pspan = _join(self._s(domain), self._s(product))
        pid = ast.Ident(f"{domain}.{product}", pspan)
        columns = c[2] if len(c) > 2 else None
        end = columns[-1].span if columns else pspan
        if columns == ():  # `.*`
            columns = None
        return ast.ProductTarget(pid, columns, _join(pspan, end if columns else pspan))

    def all_products(self, c):
        s = self._s(c[0])
        return ast.ProductTarget(ast.Ident("*", s), None, s)

    def column_part(self, c):
        return c[0]

    def one_column(self, c):
        return (c[0],)

    def every_column(self, c):
        return ()

    def column_set(self, c):
        return tuple(c)

    def column_name(self, c):
        tok = c[0]
        text = str(tok)
        if tok.type == "QUOTED_NAME":
            text = text[1:-1]
        return ast.Ident(text, self._s(tok))

    def tag(self, c):
        return ast.Ident(".".join(map(str, c)), _join(self._s(c[0]), self._s(c[-1])))

    def tag_target(self, c):
        tags = tuple(x for x in c if isinstance(x, ast.Ident))
        products = c[-1] if isinstance(c[-1], tuple) else ()
        end = products[-1].span if products else tags[-1].span
        return ast.TagTarget(tags, products, _join(tags[0].span, end))

    def product_list(self, c):
        return tuple(c)

    def product_pattern(self, c):
        return ast.Ident(f"{c[0]}.{c[1]}", _join(self._s(c[0]), self._s(c[1])))

    def any_product(self, c):
        return ast.Ident("*", self._s(c[0]))

    # ---- subjects and clauses
    def subjects(self, c):
        include: list[ast.Subject] = []
        exclude: list[ast.Subject] = []
        target = include
        for s in c:
            if isinstance(s, Token):  # EXCEPT
                target = exclude
            else:
                target.append(s)
        return ast.Subjects(tuple(include), tuple(exclude))

    def everyone(self, c):
        return ast.Subject("everyone", None, self._s(c[0]))

    def user(self, c):
        tok = c[0]
        name = _unquote(str(tok)) if tok.type == "STRING" else str(tok)
        return ast.Subject("user", name, self._s(tok))

    def group(self, c):
        tok = c[0]
        name = _unquote(str(tok)) if tok.type == "STRING" else str(tok)
        return ast.Subject("group", name, self._s(tok))

    def purpose_clause(self, c):
        names = tuple(ast.Ident(str(t), self._s(t)) for t in c[1:])
        return ("for", names, self._s(c[0]))

    def when_clause(self, c):
        return ("when", c[1], self._s(c[0]))

    def from_clause(self, c):
        return ("from", c[1], self._s(c[0]))

    def until_clause(self, c):
        return ("until", c[1], self._s(c[0]))

    def time(self, c):
        return self._literal(c[0])

    # ---- strategies
    def strategy(self, c):
        name = ast.Ident(str(c[0]), self._s(c[0]))
        args = tuple(a for a in c[1:] if a is not None)
        end = args[-1].span if args else name.span
        return ast.MaskSpec(name, args, _join(name.span, end))

    def named_arg(self, c):
        return ast.MaskArg(str(c[0]), c[1], _join(self._s(c[0]), c[1].span))

    def positional_arg(self, c):
        return ast.MaskArg(None, c[0], c[0].span)

    # ---- expressions
    def _literal(self, tok: Token) -> ast.Literal:
        t, text = tok.type, str(tok)
        span = self._s(tok)
        if t in ("STRING", "SQ_STRING"):
            return ast.Literal(_unquote(text), span)
        if t == "SIGNED_NUMBER":
            value = float(text) if any(ch in text for ch in ".eE") else int(text)
            return ast.Literal(value, span)
        if t == "DATE":
            try:
                return ast.Literal(dt.date.fromisoformat(text), span)
            except ValueError:
                raise _SyntaxProblem(f"invalid date '{text}'", span) from None
        if t == "DATETIME":
            try:
                value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                raise _SyntaxProblem(f"invalid timestamp '{text}'", span) from None
            return ast.Literal(value.astimezone(dt.UTC), span)
        if t == "TRUE":
            return ast.Literal(True, span)
        if t == "FALSE":
            return ast.Literal(False, span)
        raise _SyntaxProblem(f"unexpected literal '{text}'", span)

    def literal(self, c):
        return self._literal(c[0])

    def list_(self, c):
        items = tuple(x for x in c if x is not None)
        if items:
            return ast.ListExpr(items, _join(items[0].span, items[-1].span))
        return ast.ListExpr((), ast.NO_SPAN)

    def ref(self, c):
        parts = [str(t) for t in c]
        span = _join(self._s(c[0]), self._s(c[-1]))
        if parts[0] == "consumer":
            if len(parts) != 2:
                raise _SyntaxProblem("write a consumer attribute as consumer.<name>", span)
            return ast.ConsumerRef(parts[1], span)
        if len(parts) != 1:
            raise _SyntaxProblem(
                f"unknown reference '{'.'.join(parts)}': use a column name or consumer.<attribute>", span
            )
        return ast.ColumnRef(parts[0], span)

    def quoted_ref(self, c):
        return ast.ColumnRef(str(c[0])[1:-1], self._s(c[0]))

    def compare(self, c):
        return ast.Compare(str(c[1]), c[0], c[2], _join(c[0].span, c[2].span))

    def compare_in(self, c):
        return ast.Compare("in", c[0], c[2], _join(c[0].span, c[2].span))

    def compare_not_in(self, c):
        return ast.Compare("not in", c[0], c[3], _join(c[0].span, c[3].span))

    def compare_contains(self, c):
        return ast.Compare("contains", c[0], c[2], _join(c[0].span, c[2].span))

    def not_(self, c):
        return ast.Not(c[1], _join(self._s(c[0]), c[1].span))

    def _flat(self, cls, c):
        ops = []
        for x in c:
            if isinstance(x, Token):
                continue
            ops.extend(x.operands if isinstance(x, cls) else (x,))
        return cls(tuple(ops), _join(ops[0].span, ops[-1].span))

    def and_expr(self, c):
        return self._flat(ast.And, c)

    def or_expr(self, c):
        return self._flat(ast.Or, c)


def _make_parser() -> tuple[Lark, _Build]:
    builder = _Build()
    return Lark(grammar_text(), parser="lalr", transformer=builder, maybe_placeholders=True), builder


_PARSER, _BUILDER = _make_parser()
_LOCK = threading.Lock()
_CACHE: OrderedDict[str, ast.PolicyFile] = OrderedDict()
_CACHE_SIZE = 4096


def _expected_words(expected: set[str]) -> str:
    words = []
    for name in sorted(expected):
        if name in _TERMINAL_WORDS:
            word = _TERMINAL_WORDS[name]
        else:
            try:
                pattern = _PARSER.get_terminal(name).pattern
                word = f"'{pattern.value}'" if pattern.type == "str" else name.lower()
            except KeyError:
                word = name.lower()
        if word not in words:
            words.append(word)
    if len(words) > 8:
        words = words[:8] + ["..."]
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " or " + words[-1]


def _describe_token(tok: Token) -> str:
    if tok.type == "$END":
        return "end of file"
    return f"'{tok}'"


def _collect_comments(text: str) -> tuple[ast.Comment, ...]:
    """Comments with their positions (a `#` outside strings and quoted names)."""
    out = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if "#" not in line:
            continue
        quote = None
        for i, ch in enumerate(line):
            if quote:
                if ch == "\\":
                    continue
                if ch == quote:
                    quote = None
            elif ch in "\"'`":
                quote = ch
            elif ch == "#":
                out.append(ast.Comment(line[i:].rstrip(), lineno, i + 1))
                break
    return tuple(out)


def _parse_uncached(text: str, path: str) -> ast.PolicyFile:
    try:
        with _LOCK:
            _BUILDER.path = path
            scope, rules = _PARSER.parse(text)
    except _SyntaxProblem as exc:
        raise PolicyError([Diagnostic("error", str(exc), exc.span, code="syntax")], {path: text}) from None
    except UnexpectedInput as exc:
        raise PolicyError([_syntax_diagnostic(exc, text, path)], {path: text}) from None
    return ast.PolicyFile(path, scope, rules, _collect_comments(text))


def _syntax_diagnostic(exc: UnexpectedInput, text: str, path: str) -> Diagnostic:
    if isinstance(exc, UnexpectedCharacters):
        ch = text[exc.pos_in_stream] if exc.pos_in_stream < len(text) else "?"
        span = Span(path, exc.line, exc.column, exc.line, exc.column + 1)
        return Diagnostic("error", f"unexpected character '{ch}'", span, code="syntax")
    if isinstance(exc, UnexpectedToken):
        tok = exc.token
        if tok.type == "$END":
            lines = text.splitlines() or [""]
            line = len(lines)
            col = len(lines[-1]) + 1
            span = Span(path, line, col, line, col + 1)
        else:
            span = Span(path, tok.line, tok.column, tok.end_line or tok.line,
                        tok.end_column or tok.column + len(str(tok)))
        expected = _expected_words(set(exc.expected))
        hint = ""
        if "SEMICOLON" in exc.expected and tok.type in ("ALLOW", "DENY", "MASK", "FILTER", "AT", "$END"):
            hint = " (did the previous rule miss its ';'?)"
        if "COMPARE_OP" in exc.expected and str(tok) == "=":
            return Diagnostic("error", "unexpected '=': write '==' to compare", span, code="syntax")
        return Diagnostic("error", f"unexpected {_describe_token(tok)}: expected {expected}{hint}", span,
                          code="syntax")
    if isinstance(exc, UnexpectedEOF):
        lines = text.splitlines() or [""]
        span = Span(path, len(lines), len(lines[-1]) + 1, len(lines), len(lines[-1]) + 2)
        return Diagnostic("error", f"unexpected end of file: expected {_expected_words(set(exc.expected))}",
                          span, code="syntax")
    return Diagnostic("error", str(exc).splitlines()[0], None, file=path, code="syntax")


def parse_policy(text: str, path: str = "<input>") -> ast.PolicyFile:
    """Parse policy text; raise PolicyError with a located, worded diagnostic on a syntax error.

    Results are cached by (grammar, path, content hash): parsing the same text again is free.
    """
    key = hashlib.sha256(f"{GRAMMAR_HASH}\0{path}\0".encode() + text.encode()).hexdigest()
    hit = _CACHE.get(key)
    if hit is not None:
        _CACHE.move_to_end(key)
        return hit
    result = _parse_uncached(text, path)
    _CACHE[key] = result
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return result


def parse_file(path: str | Path) -> ast.PolicyFile:
    """Read and parse one policy file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError([Diagnostic("error", f"cannot read file: {exc}", file=str(path), code="io")]) from None
    return parse_policy(text, str(path))


def policy_files(paths: list[str | Path] | tuple[str | Path, ...]) -> list[Path]:
    """Every `*.policy` file under the given files and folders, sorted."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out.extend(sorted(p.rglob("*.policy")))
        else:
            out.append(p)
    return out
