"""Approval ids: what `policyengine diff` accepts as the approval of a loosening.

An approval (`@approved("GOV-123")` on a rule, `approved: GOV-123` on a consumer, a
`policyengine-approved` custom property on a contract, a `# policyengine-approved: GOV-123`
line in a `.gitattributes`) names the ticket in which the reviewer CODEOWNERS makes required
signed off the change. Written as free text, `GOV-7.`, `gov-7` or `n/a` passed where the base's
own `GOV-7` was refused as reuse. So each id is normalised (Unicode NFKC, trimmed, upper case,
a trailing `.`, `,`, `;`, `:`, `!` or `?` dropped), must match the configured pattern (`approvals:
pattern:` in policyengine.yaml, read from the BASE version so a change cannot widen the pattern
it is checked against; default `DEFAULT_PATTERN`), and may not be one the base already used
anywhere (its rules, contracts, consumers file or `.gitattributes`), leading zeros of its numbers
aside (`GOV-007` is `GOV-7`): an old ticket approved an older change.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

DEFAULT_PATTERN = r"^[A-Z][A-Z0-9]*-[0-9]+$"
_TRAILING = ".,;:!?"


def normalise(raw: str) -> str:
    """The id as compared: NFKC (full-width `ＧＯＶ－７` is `GOV-7`), trimmed, upper case, without a
    trailing sentence mark."""
    text = unicodedata.normalize("NFKC", raw).strip().upper()
    while text and text[-1] in _TRAILING:
        text = text[:-1].rstrip()
    return text


_NUMBER = re.compile(r"(?<![0-9])0+(?=[0-9])")


def reuse_key(ident: str) -> str:
    """A normalised id as compared for reuse: leading zeros of its numbers dropped (`GOV-007` is
    ticket `GOV-7`, which the base may already have used)."""
    return _NUMBER.sub("", ident)


@dataclass(frozen=True)
class ApprovalCheck:
    """The pattern ids must match and the ids the base already used (normalised)."""

    pattern: re.Pattern[str]
    used: frozenset[str]

    @classmethod
    def of(cls, pattern: str | None, used: Iterable[str]) -> ApprovalCheck:
        return cls(re.compile(pattern or DEFAULT_PATTERN), frozenset(reuse_key(normalise(u)) for u in used if u))

    def judge(self, raw: str | None) -> tuple[str | None, str | None]:
        """(the normalised id, None) when `raw` approves; (None, why not) when it does not;
        (None, None) when there is no approval at all."""
        if raw is None:
            return None, None
        ident = normalise(raw)
        if not ident or self.pattern.fullmatch(ident) is None:
            return None, f"approval '{raw}' does not match the approvals pattern '{self.pattern.pattern}'"
        if reuse_key(ident) in self.used:
            return None, f"approval '{raw}' was already used in the base: an old ticket approved an older change"
        return ident, None
