"""The scanner on a labelled corpus of real tables: per-entity, micro and macro F1, false alarms.

    .venv/bin/python benchmarks/bench_real_tables.py CORPUS_DIR [--presidio] [--verbose]

CORPUS_DIR holds CSV/Parquet tables and a labels.json in score_pii.py's shape ({file: {column:
[ENTITY, ...] | null}}). It is not part of the repository (real tables are not ours to ship): when
the folder or its labels.json is absent the benchmark says so and exits 0. Our scanner runs in a
fresh process (imports and model load included in the wall time); with --presidio,
presidio-structured (most_common, n=100, same spaCy model) runs beside it on the same tables.
Scoring follows benchmarks/score_pii.py (its SCORED entity types; null labels are not scored).
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_scan import MODEL, OURS, run  # noqa: E402
from score_pii import SCORED  # noqa: E402

PRESIDIO_ANY = """
import sys, json, glob, os, warnings, logging
warnings.simplefilter("ignore")
logging.disable(logging.WARNING)
import tldextract
offline = tldextract.TLDExtract(cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True)
tldextract.extract = offline
import pandas as pd
from presidio_analyzer import AnalyzerEngine
from presidio_analyzer.nlp_engine import NlpEngineProvider
from presidio_structured import PandasAnalysisBuilder
nlp = NlpEngineProvider(nlp_configuration={"nlp_engine_name": "spacy",
      "models": [{"lang_code": "en", "model_name": sys.argv[3]}]}).create_engine()
builder = PandasAnalysisBuilder(AnalyzerEngine(nlp_engine=nlp, supported_languages=["en"]))
findings = []
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*"))):
    if path.endswith(".csv"):
        df = pd.read_csv(path, dtype=str, keep_default_na=False, on_bad_lines="skip", encoding_errors="replace")
    elif path.endswith(".parquet"):
        df = pd.read_parquet(path)
    else:
        continue
    df = df.astype(str)
    try:
        analysis = builder.generate_analysis(df, n=100, selection_strategy="most_common")
    except Exception:
        continue
    for column, entity in analysis.entity_mapping.items():
        findings.append({"source": path, "column": column, "entity": entity})
json.dump({"findings": findings}, open(sys.argv[2], "w"))
import resource
print("RSS", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def score(corpus: Path, report: Path, verbose: bool = False) -> dict[str, object]:
    """Per-entity (P, R, F1, tp, fp, fn), micro and macro F1, false alarms on PII-free columns."""
    labels = json.loads((corpus / "labels.json").read_text("utf-8"))
    pred: dict[tuple[str, str], set[str]] = defaultdict(set)
    for f in json.loads(report.read_text("utf-8"))["findings"]:
        if f["entity"] in SCORED:
            pred[(Path(f["source"]).name, f["column"])].add(f["entity"])
    tp: dict[str, int] = defaultdict(int)
    fp: dict[str, int] = defaultdict(int)
    fn: dict[str, int] = defaultdict(int)
    clean = flagged = 0
    for table, cols in labels.items():
        for col, lab in cols.items():
            if lab is None:
                continue
            want, got = set(lab) & SCORED, pred.get((table, col), set())
            for e in want & got:
                tp[e] += 1
            for e in got - want:
                fp[e] += 1
            for e in want - got:
                fn[e] += 1
            clean += not want
            flagged += (not want) and bool(got)
            if verbose and want != got:
                print(f"    {table}:{col} want={sorted(want)} got={sorted(got)}")
    entities = sorted(e for e in SCORED if tp[e] + fp[e] + fn[e])
    per = {e: (*prf(tp[e], fp[e], fn[e]), tp[e], fp[e], fn[e]) for e in entities}
    micro = prf(sum(tp.values()), sum(fp.values()), sum(fn.values()))
    macro = sum(v[2] for v in per.values()) / len(per) if per else 1.0
    return {"per": per, "micro": micro, "macro": macro, "false_alarms": (flagged, clean)}


def show(name: str, s: dict[str, object], wall: float, peak: int) -> None:
    p, r, f1 = s["micro"]
    fa, clean = s["false_alarms"]
    print(f"  {name:22s} micro P={p:.3f} R={r:.3f} F1={f1:.3f}  macro F1={s['macro']:.3f}  "
          f"false alarms={fa}/{clean} ({fa / clean:.1%})  wall={wall:.1f}s  peak RSS={peak} MB")
    for e, (ep, er, ef, t, f, n) in s["per"].items():
        print(f"      {e:14s} P={ep:.3f} R={er:.3f} F1={ef:.3f}  (tp={t} fp={f} fn={n})")


def main(argv: list[str]) -> int:
    args = [a for a in argv if not a.startswith("--")]
    if not args:
        print(__doc__.strip().splitlines()[2].strip())
        return 2
    corpus = Path(args[0])
    if not (corpus / "labels.json").is_file():
        print(f"skipped: no labelled corpus at {corpus} (labels.json not found)")
        return 0
    verbose = "--verbose" in argv
    tmp = Path(tempfile.mkdtemp(prefix="bench_real_"))
    print(f"corpus: {corpus} ({len(json.loads((corpus / 'labels.json').read_text('utf-8')))} tables), model {MODEL}")
    run(OURS, str(corpus), str(tmp / "warm.json"), MODEL)  # warm the OS file cache
    wall, peak, _ = run(OURS, str(corpus), str(tmp / "ours.json"), MODEL)
    show("policyengine scan", score(corpus, tmp / "ours.json", verbose), wall, peak)
    if "--presidio" in argv:
        try:
            import presidio_structured  # noqa: F401
        except ImportError:
            print("  presidio-structured    not installed (pip install presidio-structured): skipped")
        else:
            pwall, ppeak, _ = run(PRESIDIO_ANY, str(corpus), str(tmp / "presidio.json"), MODEL)
            show("presidio-structured", score(corpus, tmp / "presidio.json", verbose), pwall, ppeak)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
