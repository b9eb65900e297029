"""Compile and push: the whole policy set as native objects of an engine (issue 22).

`compile.py` folds `evaluate()`'s decisions into one engine-neutral plan per (product, consumer):
one expression per readable column, one row predicate per table, our precedence, and the rules
a target cannot express refused with their file:line:col. `postgres.py` turns that plan into
PostgreSQL roles, schemas and `security_barrier` views, reads the live state back from the
catalogs, diffs it (plan, drift) and applies the difference in one transaction.
"""

from policyengine.native.compile import (
    Capabilities,
    ColumnPlan,
    NativePlan,
    Refusal,
    TablePlan,
    compile_plan,
)

__all__ = ["Capabilities", "ColumnPlan", "NativePlan", "Refusal", "TablePlan", "compile_plan"]
