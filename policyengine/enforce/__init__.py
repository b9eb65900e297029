"""Enforcement: apply a Decision as SQL (`to_sql`, six dialects) or to Arrow data (`enforce`).

Both paths compute each mask exactly as `policyengine.masks.apply_mask` defines it.
"""

from __future__ import annotations

from policyengine.enforce.arrow import enforce
from policyengine.enforce.sql import (
    DIALECTS,
    Rendered,
    RenderError,
    hash_parameters,
    positional_parameters,
    render,
    to_sql,
)

__all__ = ["DIALECTS", "RenderError", "Rendered", "enforce", "hash_parameters", "positional_parameters", "render",
           "to_sql"]
