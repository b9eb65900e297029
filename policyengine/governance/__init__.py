"""Federated governance: which team owns which files, checked and turned into CODEOWNERS.

`ownership` (the `ownership:` map of policyengine.yaml: the scopes a policy file's path allows,
the domain a contract's path or team binds it to, and the CODEOWNERS file they generate).
Depends on the language and catalog stages' data only (AST files, products), never on the engine.
"""
