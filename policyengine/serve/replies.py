"""Decision → the JSON API's reply document, with the bulk encoded once per shared part.

`Decision.to_dict()` builds a dict per column and per cited rule on every request, and encoding
those costs more than the evaluation itself (≈ 30 µs of a 56 µs `/v1/evaluate` for 6 columns).
The per-column decisions are one immutable mapping shared by every decision with the same
outcome (engine/cache.py), named by `Decision.columns_key`, so their JSON (and that of
`readable_columns`, derived from them) is encoded once per key and spliced in as an
`orjson.Fragment`; a decision without a key is encoded afresh. The reply's bytes equal
`orjson.dumps(decision.to_dict())`.
"""

from __future__ import annotations

from typing import Any

import orjson

from policyengine.bounded import BoundedCache
from policyengine.engine.decision import Decision


class DecisionDocuments:
    """Reply documents for decisions; holds up to `size` encoded column mappings (a
    `BoundedCache`: then the oldest go). Not thread-safe: one per event loop (the app's handlers run on its thread)."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        # Decision.columns_key -> (columns JSON, readable JSON)
        self._encoded: BoundedCache[int, tuple[orjson.Fragment, orjson.Fragment]] = BoundedCache(size)
        # Decision.row_filter_key -> its text: filters are shared too
        self._filters: BoundedCache[int, str | None] = BoundedCache(size)

    def __len__(self) -> int:
        """How many encoded column mappings are held (at most `size`)."""
        return len(self._encoded)

    def document(self, d: Decision) -> dict[str, Any]:
        """`d.to_dict()`, its `columns` and `readable_columns` as pre-encoded JSON fragments."""
        key = d.columns_key
        found = self._encoded.get(key) if key is not None else None
        if found is None:
            found = (orjson.Fragment(orjson.dumps({name: c.to_dict() for name, c in d.columns.items()})),
                     orjson.Fragment(orjson.dumps(list(d.readable_columns))))
            if key is not None:
                self._encoded.put(key, found)
        return {
            "product": d.product,
            "consumer": d.consumer,
            "purpose": d.purpose,
            "at": d.at.isoformat() if d.at else None,
            "policy_version": d.policy_version,
            "bundle_version": d.bundle_version,
            "columns": found[0],
            "readable_columns": found[1],
            "row_filter": self._filter_text(d),
            "filter_rules": [r.to_dict() for r in d.filter_rules],
            "error": d.error,
            "reason": d.reason,
        }

    def _filter_text(self, d: Decision) -> str | None:
        """`Decision.row_filter_text`, rendered once per shared filter (by its outcome key)."""
        if d.row_filter is None:
            return None
        serial = d.row_filter_key
        if serial is None:
            return str(d.row_filter)
        found = self._filters.get(serial)
        if found is None:
            found = str(d.row_filter)
            self._filters.put(serial, found)
        return found
