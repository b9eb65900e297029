"""Authoring tools: the editor's view of a project (`workspace`), the answers a language server
gives over it (`features`), the language server itself (`lsp`, on pygls, imported only by
`policyengine lsp`) and the self-contained HTML access report (`report`).

A stage above governance: it reads the checker, the formatter, the engine and the governance
functions, and nothing below imports it."""
