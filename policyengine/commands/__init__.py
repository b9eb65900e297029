"""CLI commands: thin layers over the library API, one module per command group."""
