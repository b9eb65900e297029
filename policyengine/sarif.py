"""SARIF 2.1.0 logs, written one way for every report that has a SARIF form (the scan report,
the coverage gate, the access-matrix diff): the schema address, the version and the envelope
(one run: the tool's driver, the results, then whatever else the run says) live here once."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"


def sarif_log(driver: Mapping[str, Any], results: Sequence[Mapping[str, Any]], **run: Any) -> str:
    """A SARIF log of one run as JSON text (indented by 2, non-ASCII kept): `driver` is the
    tool's `tool.driver` object, `results` the run's results, `run` further members of the run
    (`invocations`, `properties`), in the order given, after `tool` and `results`."""
    log = {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION,
           "runs": [{"tool": {"driver": driver}, "results": list(results), **run}]}
    return json.dumps(log, indent=2, ensure_ascii=False)
