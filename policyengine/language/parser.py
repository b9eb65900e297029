"""Policy text → AST. Lark stays behind this module: callers see PolicyFile or a PolicyError.

The AST is built inside the LALR parse (Lark's inline transformer), spans come from token
positions, and comments are collected by the lexer itself (so a `#` inside a string is never
taken for one). Parsed files are cached by content hash, in memory and, for files read from
disk, in a per-user cache folder (pickles keyed by the hash of the grammar, the AST and parser
code, the path and the text), so an unchanged file is not parsed again, not even by the next run.
"""

from __future__ import annotations

import contextlib
import copyreg
import dataclasses
import datetime as dt
import gc
import hashlib
import io
import math
import operator
import os
import pickle
import sys
import tempfile
import threading
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import cast

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from policyengine.bounded import BoundedCache
from policyengine.diagnostics import Diagnostic, PolicyError, Span, located_diagnostic
from policyengine.language import ast
from policyengine.yamlsource import YamlError, hidden_below, read_source


def grammar_text() -> str:
    """The grammar, from the installed package or, in a source checkout, from `grammar/`."""
    try:
        return resources.files("policyengine").joinpath("_grammar/policy.lark").read_text("utf-8")
    except (FileNotFoundError, OSError):
        return (Path(__file__).resolve().parent.parent.parent / "grammar" / "policy.lark").read_text("utf-8")


GRAMMAR_HASH = hashlib.sha256(grammar_text().encode()).hexdigest()[:16]


def _code_hash() -> str:
    """Hash of everything a cached AST depends on: grammar, AST classes, this module, Python."""
    h = hashlib.sha256(GRAMMAR_HASH.encode())
    from policyengine import diagnostics

    for module_file in (ast.__file__, diagnostics.__file__, __file__):
        try:
            h.update(Path(module_file).read_bytes())
        except OSError:  # pragma: no cover - zipped install: never trust a disk cache then
            h.update(os.urandom(16))
    h.update(sys.version.encode())
    return h.hexdigest()[:16]


_CODE_HASH = _code_hash()

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


def _join(a: Span, b: Span) -> Span:
    return Span(a.file, a.line, a.column, b.end_line, b.end_column)


def _unquote(text: str) -> str:
    body = text[1:-1]
    if "\\" not in body:
        return body
    out, i = [], 0
    escapes = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'"}
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


MAX_EXPR_DEPTH = ast.MAX_EXPR_DEPTH


class _Build(Transformer):
    """Builds AST nodes during the LALR parse."""

    path = "<input>"
    comments: list[Token] = []
    # id(node) → (node, depth) for compound expression nodes, reset per parse; holding the node keeps
    # its id from being reused by another object while the entry exists
    depths: dict[int, tuple[object, int]] = {}

    def _nested(self, node, children):
        """`node`, after checking that it is not nested more than MAX_EXPR_DEPTH levels deep."""
        get = self.depths.get
        depth = 1
        for c in children:
            entry = get(id(c))
            if entry is not None and entry[1] >= depth:
                depth = entry[1] + 1
        if depth > MAX_EXPR_DEPTH:
            raise _SyntaxProblem(f"expression nested too deeply (more than {MAX_EXPR_DEPTH} levels): "
                                 f"split it into simpler conditions", node.span)
        self.depths[id(node)] = (node, depth)
        return node

    def _s(self, tok: Token) -> Span:
        # the lexer's tokens always carry their positions (Lark types them optional for others)
        return Span(self.path, tok.line, tok.column, tok.end_line, tok.end_column)  # type: ignore[arg-type]

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
        name = str(tok) if tok.type == "NAME" else _unquote(str(tok))
        return ast.Subject("user", name, self._s(tok))

    def group(self, c):
        tok = c[0]
        name = str(tok) if tok.type == "NAME" else _unquote(str(tok))
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
            if isinstance(value, float) and math.isinf(value):
                raise _SyntaxProblem(f"number '{text}' is too large", span)
            return ast.Literal(value, span)
        if t == "DATE":
            try:
                return ast.Literal(dt.date.fromisoformat(text), span)
            except ValueError:
                raise _SyntaxProblem(f"invalid date '{text}'", span) from None
        if t == "DATETIME":
            try:
                instant = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                raise _SyntaxProblem(f"invalid timestamp '{text}'", span) from None
            return ast.Literal(instant.astimezone(dt.UTC), span)
        if t == "TRUE":
            return ast.Literal(True, span)
        if t == "FALSE":
            return ast.Literal(False, span)
        raise _SyntaxProblem(f"unexpected literal '{text}'", span)

    def literal(self, c):
        return self._literal(c[0])

    def list_(self, c):
        # c: '[' token, the literals, ']' token (brackets are named terminals to give the span)
        return ast.ListExpr(tuple(c[1:-1]), _join(self._s(c[0]), self._s(c[-1])))

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
        return self._nested(ast.Compare(str(c[1]), c[0], c[2], _join(c[0].span, c[2].span)), (c[0], c[2]))

    def compare_in(self, c):
        return self._nested(ast.Compare("in", c[0], c[2], _join(c[0].span, c[2].span)), (c[0], c[2]))

    def compare_not_in(self, c):
        return self._nested(ast.Compare("not in", c[0], c[3], _join(c[0].span, c[3].span)), (c[0], c[3]))

    def compare_contains(self, c):
        return self._nested(ast.Compare("contains", c[0], c[2], _join(c[0].span, c[2].span)), (c[0], c[2]))

    def not_(self, c):
        return self._nested(ast.Not(c[1], _join(self._s(c[0]), c[1].span)), (c[1],))

    def _flat(self, cls, c):
        ops = []
        for x in c:
            if isinstance(x, Token):
                continue
            ops.extend(x.operands if isinstance(x, cls) else (x,))
        return self._nested(cls(tuple(ops), _join(ops[0].span, ops[-1].span)), ops)

    def and_expr(self, c):
        return self._flat(ast.And, c)

    def or_expr(self, c):
        return self._flat(ast.Or, c)


def cache_dir() -> Path | None:
    """The per-user folder for the parse cache, or None when caching on disk is off.

    `POLICYENGINE_CACHE_DIR` names it (empty or `off` turns the disk cache off); otherwise
    `$XDG_CACHE_HOME/policyengine` (default `~/.cache/policyengine`).
    """
    env = os.environ.get("POLICYENGINE_CACHE_DIR")
    if env is not None:
        return None if env.strip().lower() in ("", "off", "0", "none") else Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "policyengine"


def _lark_cache_file() -> str | None:
    """Where Lark keeps its grammar tables (x3 faster start-up); our folder, not a shared /tmp.
    None: no cache folder (the tables are built at each start)."""
    folder = cache_dir()
    if folder is None:
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError:
        return None
    return str(folder / f"grammar-{GRAMMAR_HASH}-{_CODE_HASH}.lark")


def _make_parser() -> tuple[Lark, _Build]:
    builder = _Build()
    builder.comments = []
    builder.depths = {}
    options = dict(parser="lalr", transformer=builder, maybe_placeholders=True,
                   lexer_callbacks={"COMMENT": builder.comments.append})
    cache = _lark_cache_file()
    if cache:
        try:
            return Lark(grammar_text(), cache=cache, **options), builder
        except Exception:  # a corrupt or foreign cache file: build the tables afresh
            try:
                os.unlink(cache)
            except OSError:
                pass
    return Lark(grammar_text(), **options), builder


_PARSER, _BUILDER = _make_parser()
_LOCK = threading.Lock()
_CACHE_SIZE = 4096
_CACHE: BoundedCache[str, ast.PolicyFile] = BoundedCache(_CACHE_SIZE)  # the oldest go first
_CACHE_LOCK = threading.Lock()  # guards _CACHE (parsing itself happens outside it)
_DISK_ENTRIES = 2000  # the disk cache keeps about this many files (the newest)
_pruned = False


def _expected_words(expected: set[str]) -> str:
    words = []
    for name in sorted(expected, key=_word_order):
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
    if len(words) > 10:
        words = words[:10] + ["..."]
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " or " + words[-1]


def _word_order(name: str) -> tuple[int, str]:
    """Keywords and punctuation first (alphabetically), then kinds of value, end of file last."""
    if name == "$END":
        return (2, name)
    return (1 if name in _TERMINAL_WORDS else 0, name)


def _describe_token(tok: Token) -> str:
    if tok.type == "$END":
        return "end of file"
    return f"'{tok}'"


@contextlib.contextmanager
def _gc_paused():
    """Pause the cyclic garbage collector while building an AST.

    A parse allocates hundreds of thousands of small acyclic objects; every few thousand, the
    collector would walk all live objects again (measured: 30-50% of parse time on 10,000 rules,
    and unpickling a cached AST 4x slower). Reference counting still frees everything.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _comments_from(tokens: list[Token]) -> tuple[ast.Comment, ...]:
    # lexed tokens: their positions are set
    return tuple(ast.Comment(str(t).rstrip(), t.line, t.column) for t in tokens)  # type: ignore[arg-type]


def _parse_uncached(text: str, path: str) -> ast.PolicyFile:
    try:
        with _LOCK, _gc_paused():
            _BUILDER.path = path
            _BUILDER.comments.clear()
            _BUILDER.depths.clear()
            try:
                # the transformer (_Build) turns the tree into (scope, rules)
                scope, rules = cast("tuple[ast.Scope | None, tuple[ast.Rule, ...]]", _PARSER.parse(text))
            finally:
                comments = _comments_from(_BUILDER.comments)
                _BUILDER.comments.clear()
                _BUILDER.depths.clear()
    except _SyntaxProblem as exc:
        raise PolicyError([Diagnostic("error", str(exc), exc.span, code="syntax")], {path: text}) from None
    except UnexpectedInput as exc:
        raise PolicyError([_syntax_diagnostic(exc, text, path)], {path: text}) from None
    return ast.PolicyFile(path, scope, rules, comments)


def parse_resuming(text: str, path: str,
                   on_error: Callable[[Diagnostic], tuple[int, int] | None]) -> ast.PolicyFile | None:
    """Parse `text` in one pass that goes on after syntax errors (Lark's LALR `on_error`).

    Each syntax error's diagnostic (worded and located as parse_policy's) goes to `on_error`, which
    answers the text to drop, (start, stop) offsets (the statement holding the error), or None to
    stop. The parser then returns to its state between statements, lexing goes on at `stop`, and
    comments inside the dropped text are dropped with it: the result is what a parse of the text
    with that statement blanked out gives. Returns the file of the statements that parsed, or None
    once `on_error` stopped. An error found while building the AST (a number too large, a clause
    twice) cannot be resumed from: it raises PolicyError, as parse_policy does. Not cached."""
    dropped: list[tuple[int, int]] = []

    def resume(exc: UnexpectedInput) -> bool:
        if not isinstance(exc, (UnexpectedToken, UnexpectedCharacters)) or exc.interactive_parser is None:
            return False
        span = on_error(_syntax_diagnostic(exc, text, path))
        if span is None:
            return False
        start, stop = span
        dropped.append(span)
        lexing = exc.interactive_parser.lexer_thread.state
        if lexing is None:  # pragma: no cover - Lark sets it for every text parse
            return False
        at = lexing.line_ctr.char_pos  # just after the bad token (or at the bad character)
        if stop > at:
            lexing.line_ctr.feed(text[at:stop])
        lexing.last_token = None  # as after a blank: no token of the dropped statement precedes
        state = exc.interactive_parser.parser_state
        table = state.parse_conf.states
        # back to between statements: the nearest state where a rule or the end of file may come
        # (inside a rule neither may: every rule ends in ';', and annotations precede its keyword)
        while len(state.state_stack) > 1 and not table[state.state_stack[-1]].keys() >= _BETWEEN_STATEMENTS:
            state.state_stack.pop()
            state.value_stack.pop()
        return True

    try:
        with _LOCK, _gc_paused():
            _BUILDER.path = path
            _BUILDER.comments.clear()
            _BUILDER.depths.clear()
            try:
                scope, rules = cast("tuple[ast.Scope | None, tuple[ast.Rule, ...]]",
                                    _PARSER.parse(text, on_error=resume))
            finally:
                kept = [t for t in _BUILDER.comments
                        if not any(a <= (t.start_pos or 0) < b for a, b in dropped)]
                comments = _comments_from(kept)
                _BUILDER.comments.clear()
                _BUILDER.depths.clear()
    except _SyntaxProblem as exc:
        raise PolicyError([Diagnostic("error", str(exc), exc.span, code="syntax")], {path: text}) from None
    except UnexpectedInput:  # on_error stopped
        return None
    return ast.PolicyFile(path, scope, rules, comments)


_BETWEEN_STATEMENTS = frozenset({"ALLOW", "$END"})


def _end_span(text: str, path: str, tok: Token | None) -> Span:
    """Just after the last token (where the missing text belongs), else the end of the text."""
    if tok is not None and tok.end_line is not None and tok.end_column is not None:
        return Span(path, tok.end_line, tok.end_column, tok.end_line, tok.end_column + 1)
    lines = text.split("\n")
    return Span(path, len(lines), len(lines[-1]) + 1, len(lines), len(lines[-1]) + 2)


def _acceptable(exc: UnexpectedToken) -> set[str]:
    """The terminals that really continue the parse here (LALR state merging over-reports)."""
    try:
        found = exc.interactive_parser.accepts() if exc.interactive_parser is not None else set()
    except Exception:  # pragma: no cover - fall back to the parse table's view
        found = set()
    return set(found) or set(exc.expected)


def _syntax_diagnostic(exc: UnexpectedInput, text: str, path: str) -> Diagnostic:
    if isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream
        ch = text[pos] if pos is not None and pos < len(text) else "?"
        span = Span(path, exc.line, exc.column, exc.line, exc.column + 1)
        if ch in "\"'":
            return Diagnostic("error", f"unterminated string: a string opened with {ch} must close on "
                              f"the same line", span, code="syntax")
        if ch == "`":
            return Diagnostic("error", "unterminated quoted name: a `name` must close on the same line",
                              span, code="syntax")
        return Diagnostic("error", f"unexpected character '{ch}'", span, code="syntax")
    if isinstance(exc, UnexpectedToken):
        tok = exc.token
        expected_set = _acceptable(exc)
        if tok.type == "$END":
            span = _end_span(text, path, tok)
        else:
            span = Span(path, tok.line, tok.column, tok.end_line or tok.line,
                        tok.end_column or tok.column + len(str(tok)))
        expected = _expected_words(expected_set)
        hint = ""
        if "SEMICOLON" in expected_set and tok.type in ("ALLOW", "DENY", "MASK", "FILTER", "AT", "SCOPE",
                                                       "$END"):
            hint = " (did the previous rule miss its ';'?)"
        if str(tok) == "=" and "COMPARE_OP" in expected_set:
            return Diagnostic("error", "unexpected '=': write '==' to compare", span, code="syntax")
        # Lark's history holds None before the first token (a file whose first word starts with T)
        before = exc.token_history[-1] if exc.token_history else None
        if tok.type == "NAME" and str(tok)[:1] == "T" and before is not None and before.type == "DATE":
            hint = " (a timestamp is written YYYY-MM-DDTHH:MM:SSZ, in UTC, ending in Z)"
        return Diagnostic("error", f"unexpected {_describe_token(tok)}: expected {expected}{hint}", span,
                          code="syntax")
    if isinstance(exc, UnexpectedEOF):  # pragma: no cover - the LALR parser reports UnexpectedToken
        span = _end_span(text, path, None)
        return Diagnostic("error", f"unexpected end of file: expected {_expected_words(set(exc.expected))}",
                          span, code="syntax")
    return Diagnostic("error", str(exc).splitlines()[0], None, file=path, code="syntax")  # pragma: no cover


def _cache_key(text: str, path: str) -> str:
    return hashlib.sha256(f"{_CODE_HASH}\0{path}\0".encode() + text.encode("utf-8", "surrogatepass")).hexdigest()


def _disk_load(folder: Path, key: str, path: str) -> ast.PolicyFile | None:
    """The cached AST, or None when absent or unusable (a corrupt entry is ignored and removed)."""
    entry = folder / "parse" / key[:2] / key
    try:
        data = entry.read_bytes()
    except OSError:
        return None
    try:
        with _gc_paused():
            result = pickle.loads(data)  # noqa: S301 - our own per-user cache, keyed by content hash
    except Exception:
        result = None
    if not isinstance(result, ast.PolicyFile) or result.path != path:
        try:
            entry.unlink()
        except OSError:
            pass
        return None
    return result


def _constructor_reducer(cls: type):
    """Pickle a dataclass as `cls(*fields)`: 3x faster both ways than the default for frozen,
    slotted dataclasses (whose `__getstate__`/`__setstate__` loop over fields in Python)."""
    fields = dataclasses.fields(cls)
    if any(not f.init or f.kw_only for f in fields):
        return None
    getter = operator.attrgetter(*(f.name for f in fields))
    if len(fields) == 1:
        return lambda obj: (cls, (getter(obj),))
    return lambda obj: (cls, getter(obj))


def _dispatch_table() -> dict:
    table = dict(copyreg.dispatch_table)
    for value in [*vars(ast).values(), Span]:
        if isinstance(value, type) and dataclasses.is_dataclass(value):
            reducer = _constructor_reducer(value)
            if reducer is not None:
                table[value] = reducer
    return table


_DISPATCH: dict | None = None


def _dumps(result: ast.PolicyFile) -> bytes:
    global _DISPATCH
    if _DISPATCH is None:
        _DISPATCH = _dispatch_table()
    buf = io.BytesIO()
    pickler = pickle.Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.dispatch_table = _DISPATCH
    pickler.dump(result)
    return buf.getvalue()


def _disk_store(folder: Path, key: str, result: ast.PolicyFile) -> None:
    """Write the entry atomically; any failure (read-only home, full disk) is ignored."""
    global _pruned
    sub = folder / "parse" / key[:2]
    try:
        sub.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=sub)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(_dumps(result))
            os.replace(tmp, sub / key)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
    except Exception:
        return
    if not _pruned:
        _pruned = True
        _prune(folder / "parse")


def _prune(root: Path) -> None:
    """Keep the newest `_DISK_ENTRIES` entries (checked once per process)."""
    try:
        entries = [p for p in root.glob("*/*") if not p.name.startswith(".tmp-")]
        if len(entries) <= _DISK_ENTRIES:
            return
        entries.sort(key=lambda p: p.stat().st_mtime)
        for p in entries[: len(entries) - _DISK_ENTRIES]:
            p.unlink()
    except OSError:
        pass


def clear_cache(memory: bool = True, disk: bool = False) -> None:
    """Forget parsed files: the in-memory cache and/or this user's on-disk parse cache."""
    if memory:
        with _CACHE_LOCK:
            _CACHE.clear()
    folder = cache_dir()
    if disk and folder is not None:
        import shutil

        shutil.rmtree(folder / "parse", ignore_errors=True)


def parse_policy(text: str, path: str = "<input>", *, disk_cache: bool = False) -> ast.PolicyFile:
    """Parse policy text; raise PolicyError with a located, worded diagnostic on a syntax error.

    Results are cached by (grammar, path, content hash): parsing the same text again is free.
    With `disk_cache`, the result is also kept on disk (see `cache_dir`) for the next process;
    `parse_file` and `policyengine check`/`fmt` use it for files they read.
    """
    key = _cache_key(text, path)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            return hit
    folder = cache_dir() if disk_cache else None
    result = _disk_load(folder, key, path) if folder is not None else None
    if result is None:
        result = _parse_uncached(text, path)
        if folder is not None:
            _disk_store(folder, key, result)
    with _CACHE_LOCK:
        _CACHE.put(key, result)
    return result


def parse_file(path: str | Path) -> ast.PolicyFile:
    """Read and parse one policy file (cached in memory and on disk by content hash)."""
    try:
        text = read_source(path)
    except YamlError as exc:
        raise PolicyError([located_diagnostic(exc, "io", str(path))]) from None
    return parse_policy(text, str(path), disk_cache=True)


def policy_files(paths: list[str | Path] | tuple[str | Path, ...]) -> list[Path]:
    """Every `*.policy` file under the given files and folders, sorted, each once; in a folder,
    none in a hidden folder or hidden itself (`yamlsource.hidden_below`), as a bundle carries them.

    A file named twice (`policies/` and `policies/sales.policy`) is read once: checking it twice
    would report its rule names as duplicates.
    """
    out: list[Path] = []
    seen: set[Path] = set()
    for p in map(Path, paths):
        found = sorted(f for f in p.rglob("*.policy") if not hidden_below(f, p)) if p.is_dir() else [p]
        for f in found:
            key = f.resolve()
            if key not in seen:
                seen.add(key)
                out.append(f)
    return out
