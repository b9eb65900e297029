"""The policy language: text → AST with spans → checked rules.

`ast` (nodes and their canonical text), `parser` (Lark grammar → AST), `formatter` (AST → canonical
file text), `values` (value semantics: comparison, folding, substitution), `masks` (the mask
strategies: definitions, strictness and the Python reference), `checker` (rules against the
catalog) and `files` (a folder of policy files parsed and checked at once).
"""
