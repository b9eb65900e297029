"""Tests of the policy language: parser corpus, checker cases, formatter, catalog loader, CLI."""
