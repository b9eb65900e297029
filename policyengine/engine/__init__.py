"""The engine: checked rules → compiled policy → `evaluate()` → Decision.

`compiler` (rules indexed by product, conditions compiled to closures), `decision` (the frozen
Decision a request gets), `evaluator` (Engine, load, evaluate: the runtime), `policytest`
(policy authors' YAML test cases run against an Engine).
"""
