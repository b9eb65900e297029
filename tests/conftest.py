"""Test-wide settings.

Hypothesis explores new random examples on every local run (that is how the formatter's
trailing-newline bug was found), but CI runs derandomized: a submission must not fail on an
example that no one has seen yet. Set CI=true locally to reproduce a CI run exactly.
"""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
    settings.load_profile("ci")
