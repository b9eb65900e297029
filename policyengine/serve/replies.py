"""Decision → the JSON API's reply document, with the bulk encoded once per shared part.

`Decision.to_dict()` builds a dict per column and per cited rule on every request, and encoding
those costs more than the evaluation itself (≈ 30 µs of a 56 µs `/v1/evaluate` for 6 columns).
The per-column decisions are one immutable mapping shared by every decision with the same
outcome (engine/evaluator.py), so their JSON (and that of `readable_columns`, derived from them)
is encoded once and spliced in as an `orjson.Fragment`. The reply's bytes equal
`orjson.dumps(decision.to_dict())`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from policyengine.engine.decision import ColumnDecision, Decision


class DecisionDocuments:
    """Reply documents for decisions; holds up to `size` encoded column mappings (then starts
    afresh). Not thread-safe: one per event loop (the app's handlers run on its thread)."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        # id(mapping) -> (the mapping, kept alive so its id is not reused; columns JSON; readable JSON)
        self._encoded: dict[int, tuple[Mapping[str, ColumnDecision], orjson.Fragment, orjson.Fragment]] = {}
        # id(row filter) -> (the expression, kept alive; its text): filters are shared too
        self._filters: dict[int, tuple[Any, str]] = {}

    def document(self, d: Decision) -> dict[str, Any]:
        """`d.to_dict()`, its `columns` and `readable_columns` as pre-encoded JSON fragments."""
        cols = d.columns
        found = self._encoded.get(id(cols))
        if found is None or found[0] is not cols:
            found = (cols, orjson.Fragment(orjson.dumps({name: c.to_dict() for name, c in cols.items()})),
                     orjson.Fragment(orjson.dumps(list(d.readable_columns))))
            if len(self._encoded) >= self.size:
                self._encoded.clear()
            self._encoded[id(cols)] = found
        return {
            "product": d.product,
            "consumer": d.consumer,
            "purpose": d.purpose,
            "at": d.at.isoformat() if d.at else None,
            "policy_version": d.policy_version,
            "bundle_version": d.bundle_version,
            "columns": found[1],
            "readable_columns": found[2],
            "row_filter": self._filter_text(d.row_filter),
            "filter_rules": [r.to_dict() for r in d.filter_rules],
            "error": d.error,
            "reason": d.reason,
        }

    def _filter_text(self, expr: Any) -> str | None:
        """`Decision.row_filter_text`, rendered once per shared filter expression."""
        if expr is None:
            return None
        found = self._filters.get(id(expr))
        if found is None or found[0] is not expr:
            found = (expr, str(expr))
            if len(self._filters) >= self.size:
                self._filters.clear()
            self._filters[id(expr)] = found
        return found[1]
