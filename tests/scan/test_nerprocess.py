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
    inp = io.StringIO(json.dumps({"model": nlp_model}) + "\n" + json.dumps({"id": 7, "columns": COLUMNS}) + "\n")
    out = io.StringIO()
    nerprocess.serve(inp, out)
    ready, answer = (json.loads(line) for line in out.getvalue().splitlines())
    assert ready == {"why": None}
    assert answer["id"] == 7
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


_HELLO = "import sys\nprint('{\"hello\": true}', flush=True)\nsys.stdin.readline(); sys.stdin.readline()\n"


@pytest.mark.parametrize("answer", [
    '{"id": 1, "counts": []}',  # too few answers
    'not json at all',
    '["a list"]',
    '{"failed": true}',
    '{"id": 1, "counts": [{"checked": 1}, {"checked": 1}, {"checked": 1}, {"checked": 1}]}',  # another shape
    '{"id": 99, "counts": [' + ",".join(['{"checked": 1, "labels": [], "examples": []}'] * 4) + ']}',  # another request
])
def test_a_child_answering_anything_but_its_answer_is_not_believed(answer, nlp_model: str, fresh_children, monkeypatch) -> None:
    boot = _HELLO + f"print('{{\"why\": null}}', flush=True)\nsys.stdin.readline(); print({answer!r}, flush=True)\n"
    monkeypatch.setattr(nerprocess, "_BOOT", boot)
    count, _ = nerprocess.NerInChild(nlp_model).get()
    nlp, _ = cached_model(nlp_model)
    assert count(COLUMNS) == ner_counts(nlp, COLUMNS)  # counted in process instead
    assert nlp_model not in fresh_children


def test_an_interrupted_request_drops_the_child(nlp_model: str, fresh_children, monkeypatch) -> None:
    """Ctrl-C between a request and its answer must not leave the answer for the next request
    (the next scan would read another scan's counts)."""
    runner = nerprocess.NerInChild(nlp_model)
    count, _ = runner.get()
    child = fresh_children[nlp_model]
    real_receive = child._receive

    def interrupted(seconds: float):
        raise KeyboardInterrupt

    monkeypatch.setattr(child, "_receive", interrupted)
    with pytest.raises(KeyboardInterrupt):
        count(COLUMNS[1:2])  # the places: their answer is left in the pipe
    monkeypatch.setattr(child, "_receive", real_receive)
    assert nlp_model not in fresh_children and child._proc.poll() is not None
    nlp, _ = cached_model(nlp_model)
    again, _ = nerprocess.NerInChild(nlp_model).get()
    assert again(COLUMNS[:1]) == ner_counts(nlp, COLUMNS[:1])  # the names' counts, not the places'


def test_a_child_that_never_answers_is_not_waited_for(nlp_model: str, fresh_children, monkeypatch, tmp_path) -> None:
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\nexec sleep 3600\n")
    fake.chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(fake))
    monkeypatch.setattr(nerprocess, "HELLO_SECONDS", 1.0)
    count, why = nerprocess.NerInChild(nlp_model).get()
    nlp, _ = cached_model(nlp_model)
    assert why is None and count(COLUMNS) == ner_counts(nlp, COLUMNS)
    assert nlp_model not in fresh_children


def test_a_frozen_application_keeps_the_model_in_process(monkeypatch) -> None:
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert not nerprocess.in_child("some_model_not_loaded_here", 4)


def test_a_forked_process_does_not_share_the_child(nlp_model: str, fresh_children) -> None:
    """A fork copies the table of children and their pipes; both processes reading one pipe
    swap each other's answers. The forked process forgets them and never kills the parent's."""
    child = nerprocess._child(nlp_model)
    assert child.ready() is None
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the forked process
        try:
            nerprocess._close_all()  # e.g. its atexit: must not end the parent's child
            os.write(write, b"empty" if not nerprocess._CHILDREN else b"shared")
        finally:
            os._exit(0)
    os.close(write)
    assert os.read(read, 16) == b"empty"
    os.close(read)
    os.waitpid(pid, 0)
    assert child._proc.poll() is None  # still the parent's, alive
    nlp, _ = cached_model(nlp_model)
    assert child.count(COLUMNS) == ner_counts(nlp, COLUMNS)


def test_prestart_starts_the_child_the_scan_then_uses(fresh_children) -> None:
    name = "no_such_model_for_prestart"  # not loaded here; the child says why, the scan falls back
    nerprocess.prestart(name, 2)
    started = fresh_children[name]
    runner = nerprocess.ner_runner(name, 2)
    assert isinstance(runner, nerprocess.NerInChild) and runner._child is started
    count, why = runner.get()
    assert count is None and name in why
    assert name not in fresh_children and started._proc.poll() is not None


def test_one_job_or_no_model_keeps_the_scan_in_one_process(nlp_model: str) -> None:
    assert not nerprocess.in_child("none", None)
    assert not nerprocess.in_child("some_model_not_loaded_here", 1)
    assert nerprocess.in_child("some_model_not_loaded_here", 2)
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
        pools = []
        class Recording(pipeline.ThreadPoolExecutor):
            def __init__(self, *a, **k):
                pools.append(k.get("max_workers"))
                super().__init__(*a, **k)
        pipeline.ThreadPoolExecutor = Recording
        from policyengine.scan import scan_paths
        report = scan_paths([{str(tmp_path / 'big.parquet')!r}], jobs=3)  # 2 threads + the model's process
        assert pools == [2], pools
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


def _people(folder: Path) -> Path:
    first = ["James", "Mary", "Lukas", "Sofia", "Noah", "Emma", "Marco", "Anna", "Hugo", "Lea"]
    last = ["Smith", "Jones", "Müller", "Rossi", "Berg", "Brown", "Novak", "Silva", "Dubois", "Jansen"]
    rows = ["name,city"] + [f"{first[i % 10]} {last[i // 10]},{['Berlin', 'Paris', 'Madrid', 'Vienna', 'Lisbon'][i % 5]}"
                            for i in range(100)]
    path = folder / "people.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_a_module_in_the_scanned_folder_never_runs_in_the_child(tmp_path: Path) -> None:
    """`python -c` puts the current folder first on sys.path: a `json.py` in the folder being
    scanned ran in the child before it replaced its path. The child runs isolated (`-I`)."""
    work, code = tmp_path / "untrusted", tmp_path / "code"
    work.mkdir()
    code.mkdir()
    _people(work)
    (work / "json.py").write_text("open(__file__ + '.ran', 'w').write('ran')\nfrom _json import *\n")
    (code / "caller.py").write_text(
        "from policyengine.scan import scan_paths\n"
        "print(sorted((f.column, f.entity) for f in scan_paths(['people.csv'], jobs=2).findings))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, str(code / "caller.py")], capture_output=True, text=True, env=env,
                          cwd=work, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert not (work / "json.py.ran").exists()
    assert "PERSON" in done.stdout


def test_the_child_runs_this_process_s_policyengine_not_one_found_later(tmp_path: Path) -> None:
    """A caller that imported policyengine through '' (the current folder) and then changed
    folder: the child must not import another `policyengine` found from the new folder."""
    shadow = tmp_path / "shadow"
    fake = shadow / "policyengine" / "scan"
    fake.mkdir(parents=True)
    (shadow / "policyengine" / "__init__.py").write_text("")
    (fake / "__init__.py").write_text("")
    (fake / "nerprocess.py").write_text(
        "import json\n"
        "def serve(inp, out):\n"
        "    open({!r}, 'w').write('used')\n"
        "    out.write(json.dumps({{'why': 'shadow'}}) + '\\n'); out.flush()\n".format(str(tmp_path / "SHADOW_USED"))
    )
    _people(shadow)
    code = (
        "import os\n"
        "from policyengine.scan import scan_paths\n"
        f"os.chdir({str(shadow)!r})\n"
        "print(sorted((f.column, f.entity) for f in scan_paths(['people.csv'], jobs=2).findings))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert not (tmp_path / "SHADOW_USED").exists()
    assert "'name', 'PERSON'" in done.stdout


# a second review's attacks on the fixes ---------------------------------------------------------

@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGSTOP"), reason="POSIX signals")
def test_a_hung_child_with_a_full_pipe_is_killed_not_waited_on(nlp_model: str, fresh_children, monkeypatch) -> None:
    """A stopped child never reads: a request over the pipe's 64 KiB blocks the writer, which
    holds the pipe's lock; closing stdin first then hung forever. The child is killed first."""
    import signal

    runner = nerprocess.NerInChild(nlp_model)
    count, _ = runner.get()
    child = fresh_children[runner.name]
    monkeypatch.setattr(nerprocess, "ANSWER_SECONDS", 1.0)
    os.kill(child._proc.pid, signal.SIGSTOP)
    big = [[f"Person Number{i}" for i in range(48)] for _ in range(400)]  # ~600 KB of JSON
    started = time.monotonic()
    nlp, _ = cached_model(nlp_model)
    assert count(big) == ner_counts(nlp, big)
    assert time.monotonic() - started < 120
    assert child._proc.poll() is not None


def test_a_module_in_the_folder_a_repl_moved_to_never_runs_in_the_child(tmp_path: Path) -> None:
    """A caller with '' on its path (`python -c`, a REPL, Jupyter) that changes into a data
    folder: '' then means that folder, and the child imported `random.py` from it."""
    clean, data = tmp_path / "clean", tmp_path / "data"
    clean.mkdir()
    data.mkdir()
    _people(data)
    (data / "random.py").write_text("open(__file__ + '.ran', 'w').write('ran')\n")
    code = (
        "import os, random\n"
        "from policyengine.scan import scan_paths\n"
        f"os.chdir({str(data)!r})\n"
        "print(sorted((f.column, f.entity) for f in scan_paths(['people.csv'], jobs=2).findings))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=clean, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert not (data / "random.py.ran").exists()
    assert "'name', 'PERSON'" in done.stdout


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork")
def test_a_fork_during_a_model_load_does_not_deadlock(fresh_children) -> None:
    with ner._LOCK:  # as if another thread were loading the model right now
        pid = os.fork()
        if pid == 0:
            try:
                ok = ner.is_cached("a_model_nobody_loaded") is False and not nerprocess.in_child("none", 2)
            finally:
                os._exit(0 if ok else 1)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        time.sleep(0.05)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    pytest.fail("the forked process deadlocked on the model lock")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork")
def test_a_forked_process_closes_its_copies_of_the_childs_pipes(nlp_model: str, fresh_children) -> None:
    """Else the child outlives its owner while any forked worker lives."""
    child = nerprocess._child(nlp_model)
    fds = [child._proc.stdin.fileno(), child._proc.stdout.fileno()]
    pid = os.fork()
    if pid == 0:
        closed = 0
        for fd in fds:
            try:
                os.fstat(fd)
            except OSError:
                closed += 1
        os._exit(0 if closed == 2 else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert child.ready() is None  # the parent's copies still work


def test_eof_stays_eof_for_the_next_reader(fresh_children, monkeypatch) -> None:
    monkeypatch.setattr(nerprocess, "_BOOT", "import sys")
    child = nerprocess._Child("no_such_model_eof")
    with pytest.raises(nerprocess.ChildFailed):
        child.ready()
    started = time.monotonic()
    with pytest.raises(nerprocess.ChildFailed):
        child._receive(20)
    assert time.monotonic() - started < 5  # not a wait for a line that can never come
    child.close()


def test_an_interrupted_load_wait_drops_the_child(fresh_children, monkeypatch) -> None:
    child = nerprocess._child("no_such_model_interrupted")

    def interrupted(seconds: float):
        raise KeyboardInterrupt

    monkeypatch.setattr(child, "_receive", interrupted)
    with pytest.raises(KeyboardInterrupt):
        child.ready()
    assert "no_such_model_interrupted" not in fresh_children and child._proc.poll() is not None


@pytest.mark.skipif(os.name != "posix", reason="sessions")
def test_the_child_has_its_own_session(fresh_children) -> None:
    """A terminal's Ctrl-C goes to the caller's process group, not to the model's process."""
    child = nerprocess._child("no_such_model_session")
    assert os.getsid(child._proc.pid) != os.getsid(0)


def test_an_embedding_host_is_not_started_as_python(monkeypatch) -> None:
    monkeypatch.setattr(sys, "executable", "/usr/sbin/uwsgi")
    assert not nerprocess.in_child("some_model_not_loaded_here", 4)
