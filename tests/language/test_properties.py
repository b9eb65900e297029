"""Property tests: random valid policy texts parse to the AST they were built from, and formatting
is idempotent, keeps every comment and never changes what a file means.

The strategy draws whole rules as (text, expected AST) pairs: every target form, subjects with
`except`, purposes, conditions with every operator and literal type (dates, UTC timestamps,
negative numbers, floats with exponents, strings with quotes, backslashes, tabs and newlines,
single- and double-quoted), windows, masks with positional and named arguments, row filters,
annotations, redundant parentheses, clauses in any order, and comments and line breaks between
any two tokens. Names include keywords where the grammar allows them (subjects, purposes,
products), which the formatter must print so that they read back the same.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policyengine.language import ast
from policyengine.language.formatter import format_file, format_text
from policyengine.language.parser import parse_policy

# ---------------------------------------------------------------- comparing ASTs


def shape(node: object) -> object:
    """A comparable form of an AST that keeps literal types (1, 1.0 and true differ) and no spans."""
    if isinstance(node, ast.Literal):
        return ("Literal", type(node.value).__name__, node.value)
    if isinstance(node, tuple):
        return tuple(shape(n) for n in node)
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        return (type(node).__name__,) + tuple(
            shape(getattr(node, f.name)) for f in dataclasses.fields(node) if f.compare
        )
    return node


# ---------------------------------------------------------------- building blocks

PLAIN = ["orders", "sales", "hr", "x", "a_b", "team-7", "Z9", "_private"]
KEYWORDS = ["for", "when", "from", "until", "in", "not", "and", "or", "everyone", "tagged", "rows", "mask"]
names = st.sampled_from(PLAIN)
loose_names = st.sampled_from(PLAIN + KEYWORDS)  # where the grammar takes any name
text_chars = st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\u2028\u2029\x85")
free_text = st.text(text_chars | st.sampled_from(['"', "'", "\\", "#", "\t", "\n", "\r", "`"]), max_size=12)


@st.composite
def sep(draw) -> str:
    """Whitespace between two tokens, sometimes a line break with a comment before it."""
    kind = draw(st.integers(0, 9))
    if kind < 6:
        return " "
    if kind < 8:
        return draw(st.sampled_from(["\n", "\n    ", "\t", "  \n\n  "]))
    body = draw(st.text(text_chars, max_size=10)).replace("\n", " ")
    return f"  # {body}\n    "


def join(draw, *chunks: str) -> str:
    out = chunks[0]
    for c in chunks[1:]:
        out += draw(sep()) + c
    return out


def dq(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t") + '"'


def sq(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\t", "\\t") + "'"


@st.composite
def literals(draw, kinds: tuple[str, ...] = ("str", "int", "float", "bool", "date", "timestamp")):
    kind = draw(st.sampled_from(kinds))
    if kind == "str":
        value = draw(free_text)
        return draw(st.sampled_from([dq, sq]))(value), ast.Literal(value)
    if kind == "int":
        value = draw(st.integers(-10**12, 10**12))
        text = str(value) if value < 0 or draw(st.booleans()) else f"+{value}"
        return text, ast.Literal(value)
    if kind == "float":
        sign = draw(st.sampled_from(["", "-", "+"]))
        mantissa = f"{draw(st.integers(0, 99999))}.{draw(st.integers(0, 999))}"
        exponent = draw(st.sampled_from(["", "e3", "E-7", "e+12", "e-300"]))
        if not exponent and draw(st.booleans()):
            mantissa, exponent = str(draw(st.integers(0, 999))), "e2"
        text = sign + mantissa + exponent
        return text, ast.Literal(float(text))
    if kind == "bool":
        value = draw(st.booleans())
        return ("true" if value else "false"), ast.Literal(value)
    if kind == "date":
        value = draw(st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)))
        return value.isoformat(), ast.Literal(value)
    value = draw(st.datetimes(dt.datetime(1, 1, 2), dt.datetime(9999, 12, 30))).replace(microsecond=0)
    value = value.replace(tzinfo=dt.UTC)
    if value.second == 0 and draw(st.booleans()):
        text = value.strftime("%H:%M")
    else:
        text = value.strftime("%H:%M:%S")
    return f"{value.date().isoformat()}T{text}Z", ast.Literal(value)


@st.composite
def list_exprs(draw):
    items = draw(st.lists(literals(), max_size=4))
    trailing = "," if items and draw(st.booleans()) else ""
    text = "[" + ", ".join(t for t, _ in items) + trailing + "]"
    return text, ast.ListExpr(tuple(node for _, node in items))


@st.composite
def refs(draw, columns: bool):
    if columns and draw(st.booleans()):
        if draw(st.booleans()):
            name = draw(loose_names)
            return (f"`{name}`" if name in KEYWORDS else name), ast.ColumnRef(name)
        name = draw(st.text(text_chars.filter(lambda c: c not in "`\n"), min_size=1, max_size=8))
        return f"`{name}`", ast.ColumnRef(name)
    attr = draw(names)
    return f"consumer.{attr}", ast.ConsumerRef(attr)


@st.composite
def comparisons(draw, columns: bool):
    op = draw(st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "in", "not in", "contains"]))
    left_text, left = draw(st.one_of(refs(columns), literals()))
    if op in ("in", "not in"):
        right_text, right = draw(st.one_of(list_exprs(), refs(columns)))
    else:
        right_text, right = draw(st.one_of(refs(columns), literals()))
    op_text = join(draw, "not", "in") if op == "not in" else op
    return join(draw, left_text, op_text, right_text), ast.Compare(op, left, right)


def _flatten(cls, parts):
    out = []
    for p in parts:
        out.extend(p.operands if isinstance(p, cls) else (p,))
    return cls(tuple(out))


def exprs(columns: bool):
    leaves = st.one_of(
        comparisons(columns),
        refs(columns),
        st.sampled_from([("true", ast.Literal(True)), ("false", ast.Literal(False))]),
    )

    def extend(children):
        def combine(draw_parts):
            kind, parts = draw_parts
            if kind == "not":
                text, node = parts[0]
                return f"not ({text})", ast.Not(node)
            word, cls = ("and", ast.And) if kind == "and" else ("or", ast.Or)
            text = f" {word} ".join(f"({t})" for t, _ in parts)
            return text, _flatten(cls, [n for _, n in parts])

        def paren_compare(parts):
            (lt, left), (rt, right) = parts
            return f"({lt}) == ({rt})", ast.Compare("==", left, right)

        return st.one_of(
            st.tuples(st.sampled_from(["and", "or"]), st.lists(children, min_size=2, max_size=3)).map(combine),
            st.tuples(st.just("not"), st.lists(children, min_size=1, max_size=1)).map(combine),
            st.lists(children, min_size=2, max_size=2).map(paren_compare),
        )

    return st.recursive(leaves, extend, max_leaves=6)


@st.composite
def product_patterns(draw, allow_star_alone: bool = True):
    if allow_star_alone and draw(st.integers(0, 5)) == 0:
        return "*"
    # `allow read tagged.x` reads as a tag target: a domain cannot be called `tagged`
    domain = draw(st.one_of(loose_names.filter(lambda n: n != "tagged"), st.just("*")))
    product = draw(st.one_of(loose_names, st.just("*")))
    return f"{domain}.{product}"


@st.composite
def column_names(draw):
    if draw(st.booleans()):
        name = draw(loose_names)
        return (f"`{name}`" if name in KEYWORDS else name), name
    name = draw(st.text(text_chars.filter(lambda c: c not in "`\n"), min_size=1, max_size=8))
    return f"`{name}`", name


@st.composite
def targets(draw):
    if draw(st.booleans()):
        tags = draw(st.lists(st.lists(loose_names, min_size=1, max_size=3).map(".".join), min_size=1, max_size=3))
        products = draw(st.lists(product_patterns(), max_size=3))
        text = "tagged " + ", ".join(tags) + ("" if not products else " in " + ", ".join(products))
        return text, ast.TagTarget(tuple(ast.Ident(t) for t in tags), tuple(ast.Ident(p) for p in products))
    pattern = draw(product_patterns())
    if pattern == "*":
        return "*", ast.ProductTarget(ast.Ident("*"))
    form = draw(st.integers(0, 3))
    if form == 0:
        return pattern, ast.ProductTarget(ast.Ident(pattern))
    if form == 1:
        return pattern + ".*", ast.ProductTarget(ast.Ident(pattern))
    cols = draw(st.lists(column_names(), min_size=1, max_size=4))
    if form == 2:
        text, name = cols[0]
        return f"{pattern}.{text}", ast.ProductTarget(ast.Ident(pattern), (ast.Ident(name),))
    trailing = "," if draw(st.booleans()) else ""
    text = f"{pattern}.{{" + ", ".join(t for t, _ in cols) + trailing + "}"
    return text, ast.ProductTarget(ast.Ident(pattern), tuple(ast.Ident(n) for _, n in cols))


@st.composite
def subject(draw):
    kind = draw(st.sampled_from(["everyone", "user", "group"]))
    if kind == "everyone":
        return "everyone", ast.Subject("everyone")
    if draw(st.booleans()):
        name = draw(loose_names)
        return f"{kind}:{name}", ast.Subject(kind, name)
    name = draw(free_text)
    return f"{kind}:{draw(st.sampled_from([dq, sq]))(name)}", ast.Subject(kind, name)


@st.composite
def subjects(draw):
    include = draw(st.lists(subject(), min_size=1, max_size=3))
    exclude = draw(st.lists(subject(), max_size=2))
    text = "to " + ", ".join(t for t, _ in include)
    if exclude:
        text += " except " + ", ".join(t for t, _ in exclude)
    return text, ast.Subjects(tuple(n for _, n in include), tuple(n for _, n in exclude))


@st.composite
def masks(draw):
    name = draw(names)
    form = draw(st.integers(0, 2))
    if form == 0:
        return name, ast.MaskSpec(ast.Ident(name))
    if form == 1 and draw(st.booleans()):
        return f"{name}()", ast.MaskSpec(ast.Ident(name))
    args = []
    for i, (text, lit) in enumerate(draw(st.lists(literals(), min_size=1, max_size=3))):
        if draw(st.booleans()):
            key = f"k{i}"
            args.append((f"{key}={text}", ast.MaskArg(key, lit)))
        else:
            args.append((text, ast.MaskArg(None, lit)))
    return f"{name}(" + ", ".join(t for t, _ in args) + ")", ast.MaskSpec(ast.Ident(name), tuple(a for _, a in args))


@st.composite
def rules(draw):
    kind = draw(st.sampled_from(["allow", "deny", "mask", "filter"]))
    subj_text, subj = draw(subjects())
    fields: dict[str, object] = {}
    if kind == "filter":
        pattern = draw(product_patterns())
        expr_text, expr = draw(exprs(columns=True))
        head = join(draw, "filter", pattern, "rows", "where", expr_text, subj_text)
        target = ast.ProductTarget(ast.Ident(pattern))
        fields["row_filter"] = expr
    else:
        target_text, target = draw(targets())
        if kind == "mask":
            mask_text, mask = draw(masks())
            head = join(draw, "mask", target_text, "using", mask_text, subj_text)
            fields["mask"] = mask
        else:
            head = join(draw, kind, "read", target_text, subj_text)
    clauses = []
    if draw(st.booleans()):
        purposes = draw(st.lists(loose_names, min_size=1, max_size=3))
        word = draw(st.sampled_from(["purpose", "purposes"]))
        clauses.append(f"for {word} " + ", ".join(purposes))
        fields["purposes"] = tuple(ast.Ident(p) for p in purposes)
    if draw(st.booleans()):
        text, expr = draw(exprs(columns=False))
        clauses.append(f"when {text}")
        fields["condition"] = expr
    for word, key in (("from", "valid_from"), ("until", "valid_until")):
        if draw(st.booleans()):
            text, lit = draw(literals(("date", "timestamp")))
            clauses.append(f"{word} {text}")
            fields[key] = lit
    clauses = draw(st.permutations(clauses))
    annotations = []
    for _ in range(draw(st.integers(0, 2))):
        key, value = draw(names), draw(free_text)
        annotations.append((f"@{key}({draw(st.sampled_from([dq, sq]))(value)})", ast.Annotation(key, value)))
    text = join(draw, *[a for a, _ in annotations], head, *clauses) + draw(st.sampled_from([";", " ;", "\n;"]))
    rule = ast.Rule(kind, target, subj, annotations=tuple(a for _, a in annotations), **fields)
    return text, rule


@st.composite
def policy_texts(draw):
    scope_kind = draw(st.sampled_from(["platform", "domain", None]))
    parts, scope = [], None
    if draw(st.booleans()):
        parts.append("# header " + draw(st.text(text_chars, max_size=10)).replace("\n", " ") + "\n")
    if scope_kind == "platform":
        parts.append("scope platform")
        scope = ast.Scope("platform")
    elif scope_kind == "domain":
        domain = draw(loose_names)
        parts.append(f"scope domain {domain}")
        scope = ast.Scope("domain", domain)
    drawn = draw(st.lists(rules(), max_size=4))
    for text, _ in drawn:
        parts.append(text + draw(st.sampled_from(["", "  # trailing\n"])))
    if draw(st.booleans()):
        parts.append("# footer")
    text = draw(st.sampled_from(["\n", "\n\n", " "])).join(parts)
    return text, ast.PolicyFile("<gen>", scope, tuple(r for _, r in drawn))


def comment_texts(text: str) -> list[str]:
    return sorted(c.text for c in parse_policy(text, "<gen>").comments)


# ---------------------------------------------------------------- properties

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(policy_texts())
def test_generated_text_parses_to_the_ast_it_was_built_from(case) -> None:
    text, expected = case
    parsed = parse_policy(text, "<gen>")
    assert shape(parsed.scope) == shape(expected.scope)
    assert shape(parsed.rules) == shape(expected.rules)


@SETTINGS
@given(policy_texts())
def test_format_is_idempotent_keeps_meaning_and_comments(case) -> None:
    text, _ = case
    once = format_text(text, "<gen>")
    assert format_text(once, "<gen>") == once
    assert shape(parse_policy(once, "<gen>")) == shape(parse_policy(text, "<gen>"))
    assert comment_texts(once) == comment_texts(text)


@SETTINGS
@given(policy_texts())
def test_rule_spans_cover_the_rule_text(case) -> None:
    text, _ = case
    lines = text.split("\n")
    for rule in parse_policy(text, "<gen>").rules:
        s = rule.span
        start = lines[s.line - 1][s.column - 1:]
        assert start.startswith("@" if rule.annotations else rule.kind)
        assert lines[s.end_line - 1][s.end_column - 2] == ";"


@SETTINGS
@given(st.lists(rules(), min_size=1, max_size=3))
def test_ast_formats_to_text_that_parses_back_to_it(drawn) -> None:
    """From the AST side: format_file(ast) reads back as the same AST."""
    policy = ast.PolicyFile("<gen>", ast.Scope("platform"), tuple(r for _, r in drawn))
    text = format_file(policy)
    assert shape(parse_policy(text, "<gen>").rules) == shape(policy.rules)
