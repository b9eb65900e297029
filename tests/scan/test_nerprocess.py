"""The NER model in a child process: the same counts as in process, fallbacks, no leaks.

Attacks first: a child that dies at start, one killed mid-scan, one that writes a data value
to stderr, a caller script without a `__main__` guard, a caller that exits without cleaning up.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from policyengine.scan import ner, nerprocess
from policyengine.scan.ner import DEFAULT_MODEL, cached_model, ner_counts

ROOT = Path(__file__).resolve().parents[2]
COLUMNS = [
    ["John Smith", "Mary Jones", "Lukas Müller", "Sofia Rossi", "Emma Brown"],
    ["Berlin", "Paris", "Madrid", "Amsterdam", "Lisbon", "Vienna"],
    ["Acme Corp", "Globex Inc", "Initech LLC"],
    ["new", "shipped", "returned"],
]


@pytest.fixture()
def fresh_children():
    """No child shared with other tests; every child started here is ended after."""
    saved = dict(nerprocess._CHILDREN)
    nerprocess._CHILDREN.clear()
    yield nerprocess._CHILDREN
    nerprocess._close_all()
    nerprocess._CHILDREN.update(saved)


def test_plain_round_trip() -> None:
    c = ner.NerCounts(5, (("GPE", 2), ("PERSON", 3)), (("PERSON", ("J*** S****",)),))
    assert nerprocess.from_plain(json.loads(json.dumps(nerprocess.to_plain(c)))) == c


def test_serve_answers_like_ner_counts_in_process(nlp_model: str) -> None:
    nlp, _ = cached_model(nlp_model)
    inp = io.StringIO(json.dumps({"model": nlp_model}) + "\n" + json.dumps(COLUMNS) + "\n")
    out = io.StringIO()
    nerprocess.serve(inp, out)
    ready, answer = (json.loads(line) for line in out.getvalue().splitlines())
    assert ready == {"why": None}
    assert [nerprocess.from_plain(d) for d in answer["counts"]] == ner_counts(nlp, COLUMNS)


def test_serve_reports_a_missing_model_in_one_line() -> None:
    out = io.StringIO()
    nerprocess.serve(io.StringIO(json.dumps({"model": "no_such_model_pkg"}) + "\n"), out)
    (line,) = out.getvalue().splitlines()
    assert "no_such_model_pkg" in json.loads(line)["why"]


def test_child_gives_the_in_process_counts(nlp_model: str, fresh_children) -> None:
    nlp, _ = cached_model(nlp_model)
    child = nerprocess._Child(nlp_model)
    assert child.ready() is None
    assert child.count(COLUMNS) == ner_counts(nlp, COLUMNS)
    assert child.count(COLUMNS[:1]) == ner_counts(nlp, COLUMNS[:1])  # it serves later scans too
    child.close()
    assert child._proc.poll() is not None


def test_a_child_that_dies_at_start_falls_back_to_this_process(nlp_model: str, fresh_children, monkeypatch) -> None:
    monkeypatch.setattr(nerprocess, "_BOOT", "import sys; sys.exit(3)")
    runner = nerprocess.NerInChild(nlp_model)
    count, why = runner.get()
    assert why is None
    nlp, _ = cached_model(nlp_model)
    assert count(COLUMNS) == ner_counts(nlp, COLUMNS)
    assert nlp_model not in fresh_children  # the dead child is dropped


def test_a_child_killed_mid_scan_falls_back_to_this_process(nlp_model: str, fresh_children) -> None:
    runner = nerprocess.NerInChild(nlp_model)
    count, why = runner.get()
    assert why is None
    fresh_children[nlp_model]._proc.kill()
    fresh_children[nlp_model]._proc.wait()
    nlp, _ = cached_model(nlp_model)
    assert count(COLUMNS) == ner_counts(nlp, COLUMNS)
    assert nlp_model not in fresh_children


def test_a_child_answering_garbage_is_not_believed(nlp_model: str, fresh_children, monkeypatch) -> None:
    boot = "import sys\nsys.stdin.readline(); sys.stdin.readline()\nprint('{\"why\": null}', flush=True)\n" \
           "sys.stdin.readline(); print('{\"counts\": []}', flush=True)\n"
    monkeypatch.setattr(nerprocess, "_BOOT", boot)
    runner = nerprocess.NerInChild(nlp_model)
    count, _ = runner.get()
    nlp, _ = cached_model(nlp_model)
    assert count(COLUMNS) == ner_counts(nlp, COLUMNS)  # too few answers: counted in process


def test_the_childs_stderr_never_reaches_ours(fresh_children, monkeypatch, capfd) -> None:
    boot = "import sys\nsys.stderr.write('4111111111111111 leaked\\n'); sys.stderr.flush(); sys.exit(1)\n"
    monkeypatch.setattr(nerprocess, "_BOOT", boot)
    child = nerprocess._Child(DEFAULT_MODEL)
    with pytest.raises(nerprocess.ChildFailed):
        child.ready()
    child.close()
    assert "4111" not in capfd.readouterr().err


def test_one_job_or_no_model_keeps_the_scan_in_one_process(nlp_model: str) -> None:
    assert not nerprocess.in_child("none", None)
    assert not nerprocess.in_child(nlp_model, 1)
    assert not nerprocess.in_child(nlp_model, 4)  # already loaded here (the fixture): no second copy


def _script(tmp_path: Path, body: str) -> subprocess.CompletedProcess:
    script = tmp_path / "caller.py"
    script.write_text(textwrap.dedent(body))  # no `if __name__ == "__main__":` guard, on purpose
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300)


def test_an_unguarded_script_scans_a_large_file_on_threads_with_the_child(tmp_path: Path) -> None:
    """multiprocessing's spawn re-imports the caller's `__main__`; with no guard that crashed
    the scan (BrokenProcessPool) before phase 1 moved to threads and NER to a plain subprocess."""
    rows = 40_000
    first = ["James", "Mary", "Lukas", "Sofia", "Noah", "Emma", "Marco", "Anna", "Hugo", "Lea"]
    last = ["Smith", "Jones", "Müller", "Rossi", "Berg", "Brown", "Novak", "Silva", "Dubois", "Jansen"]
    names = [f"{first[i % 10]} {last[(i // 10) % 10]}" for i in range(rows)]
    table = pa.table({"email": [f"user{i}@example.com" for i in range(rows)], "name": names})
    pq.write_table(table, tmp_path / "big.parquet", row_group_size=5_000)
    done = _script(tmp_path, f"""
        import json, os
        import policyengine.scan.pipeline as pipeline
        import policyengine.scan.nerprocess as nerprocess
        pipeline.PARALLEL_MIN_BYTES = 0   # cut the file into row-group tasks, as for a large file
        from policyengine.scan import scan_paths
        report = scan_paths([{str(tmp_path / 'big.parquet')!r}], jobs=2)
        alone = scan_paths([{str(tmp_path / 'big.parquet')!r}], jobs=1)
        child = nerprocess._CHILDREN[{DEFAULT_MODEL!r}]._proc.pid
        print(json.dumps({{"found": sorted((f.column, f.entity) for f in report.findings),
                          "alone": sorted((f.column, f.entity) for f in alone.findings),
                          "child": child}}))
    """)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stderr == ""
    out = json.loads(done.stdout)
    assert out["found"] == out["alone"] == [["email", "EMAIL_ADDRESS"], ["name", "PERSON"]]
    deadline = time.monotonic() + 10
    while Path(f"/proc/{out['child']}").exists() and time.monotonic() < deadline:  # ended with its parent
        time.sleep(0.05)
    assert not Path(f"/proc/{out['child']}").exists() or "zombie" in Path(f"/proc/{out['child']}/status").read_text()


def test_the_english_pipeline_runs_ner_without_the_shared_tok2vec(nlp_model: str) -> None:
    """en_core_web_sm's `ner` embeds its own tok2vec, so the shared one is not run; the counts
    are the same as with it."""
    nlp, _ = cached_model(nlp_model)
    assert [name for name, _ in nlp.pipeline] == ["ner"]
    without = ner_counts(nlp, COLUMNS)
    nlp.enable_pipe("tok2vec")
    try:
        assert ner_counts(nlp, COLUMNS) == without
    finally:
        nlp.disable_pipe("tok2vec")


def test_the_recognizer_alone_finds_what_the_analyzer_engine_finds(nlp_model: str) -> None:
    """ner_counts calls Presidio's spaCy recognizer without the AnalyzerEngine's context pass
    (which only changes scores); the spans and labels must be the engine's."""
    from presidio_analyzer import EntityRecognizer

    nlp, _ = cached_model(nlp_model)
    analyzer = ner.cached_analyzer(nlp)
    entities = analyzer.get_supported_entities("en")
    recognizers = analyzer.registry.get_recognizers(language="en", entities=entities)
    texts = [" | ".join(col) for col in COLUMNS] + ["Call John at the Hilton in Berlin | Dr. Anna Novak"]
    for text, artifacts in analyzer.nlp_engine.process_batch(texts, language="en"):
        engine = analyzer.analyze(text, language="en", entities=entities, nlp_artifacts=artifacts)
        alone = EntityRecognizer.remove_duplicates(
            [r for rec in recognizers for r in rec.analyze(text=text, entities=entities, nlp_artifacts=artifacts)]
        )
        key = lambda r: (r.start, r.end, r.entity_type)  # noqa: E731
        assert sorted(map(key, alone)) == sorted(map(key, engine))
