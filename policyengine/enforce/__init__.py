"""Enforcement: apply a Decision as SQL (`to_sql`, six dialects) or to Arrow data (`enforce`).

Both paths compute each mask exactly as `policyengine.language.masks.apply_mask` defines it.
"""

from __future__ import annotations

import sys
import types

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


class _CallableModule(types.ModuleType):
    """`policyengine.enforce(table, decision)` is the documented call, and `policyengine.enforce`
    is also this subpackage: once the subpackage is imported, Python's import system sets the
    package attribute to the module, shadowing the function. Calling the module calls the
    function, so the documented call works whatever was imported first."""

    def __call__(self, *args: object, **kwargs: object) -> object:
        return enforce(*args, **kwargs)  # type: ignore[arg-type]


sys.modules[__name__].__class__ = _CallableModule
