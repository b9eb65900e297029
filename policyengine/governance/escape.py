"""Escaping what users wrote (rule names, approvals, file paths, product, column and consumer
names, reasons) before it reaches a report a person or a tool reads.

A pull-request comment is markdown: `@approved("GOV-8 <!--")` left raw opened an HTML comment
that hid every table after it, a `|` split a table cell, a backtick closed a code span, a
`](javascript:` made a link, an `@org/team` pinged a team. A text line with a line break in it
forged a second line (in a CI log, a `::error::` or `::add-mask::` workflow command); a SARIF
message treats `[text](n)` as a link. Each renderer passes every user-written string through the
function for its format; JSON needs none (the encoder escapes by construction).
"""

from __future__ import annotations

import re
import unicodedata

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _invisible(ch: str) -> bool:
    """Control, format (bidi overrides, zero-width) and line/paragraph separator characters."""
    return unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")


def plain(text: str) -> str:
    """`text` on one visible line: line breaks, control and bidi/zero-width characters written as
    `\\n`, `\\x1b`, `\\u202e` (they cannot start a new line, move the cursor or reorder text)."""
    if not any(_invisible(ch) for ch in text):
        return text
    out = []
    for ch in text:
        if not _invisible(ch):
            out.append(ch)
        elif ch in _NAMED:
            out.append(_NAMED[ch])
        elif ord(ch) < 0x100:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(f"\\u{ord(ch):04x}")
    return "".join(out)


# inline markdown anywhere in a line (a table cell, after `**`): emphasis, code, links and images
# (`[`), tables, strikethrough; HTML, entities and mentions become entities; line-start syntax
# (`#`, `-`, `>`) cannot occur, as the renderers never start a line with user text
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
_MD_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "@": "&#64;"}
_AUTOLINK = re.compile(r"(?i)://|www\.")


def md_text(text: str) -> str:
    """`text` as inert markdown prose on one line (also inside a table cell): HTML and entities
    escaped, inline markdown punctuation backslash-escaped, `@` as an entity (no mention), no
    autolink (`://`, `www.`), line breaks and control characters shown as escapes."""
    text = _MD_SPECIAL.sub(r"\\\1", plain(text))
    text = "".join(_MD_ENTITIES.get(ch, ch) for ch in text)
    return _AUTOLINK.sub(lambda m: m.group(0).replace(":", "&#58;").replace(".", "&#46;"), text)


def md_code(text: str) -> str:
    """`text` as one markdown code span (also inside a table cell): fenced with more backticks
    than any run inside it, `|` escaped for tables, line breaks and control characters shown as
    escapes. Inside a code span nothing else is interpreted (no HTML, no link, no mention)."""
    text = plain(text).replace("|", "\\|")
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or (text.startswith(" ") and text.endswith(" ")) else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def sarif_text(text: str) -> str:
    """`text` as a SARIF plain-text message: on one line, with `[` and `]` escaped (SARIF reads
    `[text](target)` in a message as an embedded link) and backslashes doubled first."""
    return plain(text).replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")
