"""Benchmark signed policy bundles (issue 24) side by side with loading from sources.

For W1 (200 products), 10x W1 (2,000 products) and a generated 10,000-product mesh (1,000
domains, 10,000 purpose grants; benchmarks/workload.py): load from sources (`loading.load`,
first with an empty parse cache, then again as a replica's second load), build a bundle (check +
pack + sign), verify it (parse, Ed25519 signature, member hashes), load from it (verify + catalog +
checked form + compile; timed as serve loads it, frozen out of the collector, at start-up and as a
reload while another engine is in force; and as the library loads it, with the collection after it),
the loaded engine's memory (tracemalloc: what the engine keeps, and
the load's peak), and `serve --bundle` started as a process until its first decision (`/health`
polled, then one `POST /v1/evaluate`). Each time is the median of `--repeat` runs in this one
process, wall clock and CPU time of this process (the machine may be shared: CPU time is what
the load itself costs), with the ratio bundle / sources.

    .venv/bin/python benchmarks/bench_bundle.py [--repeat 3] [--sizes 200,2000,10000] [--no-serve]
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import urllib.request
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import workload as wl  # noqa: E402

from policyengine.config import Config  # noqa: E402
from policyengine.engine import keys  # noqa: E402
from policyengine.engine.bundlefile import build_bundle, engine_from, verify_bundle  # noqa: E402
from policyengine.engine.loading import load  # noqa: E402
from policyengine.language.parser import clear_cache  # noqa: E402

Timing = tuple[float, float]  # (wall seconds, CPU seconds of this process)


def thaw() -> None:
    """Undo a previous bundle load's gc.freeze() and collect (outside the timing): the next
    bundle load is then timed as a replica's first one, at start-up."""
    gc.unfreeze()
    gc.collect()


def timed(fn: Callable[[], object], repeat: int, before: Callable[[], None] = gc.collect) -> Timing:
    walls, cpus = [], []
    for _ in range(repeat):
        before()
        w, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus)


def ms(t: Timing) -> str:
    return f"{t[0] * 1000:8.0f} ms wall {t[1] * 1000:7.0f} ms CPU"


def mesh(products: int) -> wl.Workload:
    if products == 200:
        return wl.make_workload()
    return wl.make_workload(products=products, domains=products // 10, purpose_grants=products)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def serve_first_answer(bundle: Path, public: Path, product: str, folder: Path) -> Timing:
    """(wall, CPU of the serve process) from starting `policyengine serve --bundle` to its first
    decision."""
    port = free_port()
    cli = Path(sys.executable).with_name("policyengine")
    t0 = time.perf_counter()
    proc = subprocess.Popen([str(cli), "serve", "--bundle", str(bundle), "--public-key", str(public),
                             "--port", str(port)], cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"serve exited: {proc.stderr.read().decode()[-500:] if proc.stderr else ''}")
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=1) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                time.sleep(0.01)
        body = json.dumps({"consumer": {"id": "u", "groups": ["staff"]}, "product": product}).encode()
        request = urllib.request.Request(f"{base}/v1/evaluate", body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as reply:
            decision = json.loads(reply.read())
        elapsed = time.perf_counter() - t0
        cpu = process_cpu(proc.pid)
        assert decision["product"] == product and decision["bundle_version"], decision
        return elapsed, cpu
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def run(name: str, w: wl.Workload, repeat: int, root: Path, serve: bool) -> None:
    folder = root / name.replace(" ", "_")
    t0 = time.perf_counter()
    policies, catalog = wl.write_policyengine(w, folder)
    generated = time.perf_counter() - t0
    cfg = Config(policies=(policies,), catalog=(catalog,), root=folder)
    key_path, pub_path, _ = keys.generate(folder / "keys")
    signing, trusted = keys.signing_key(key_path), keys.public_keys([pub_path])
    n = len(w.products)

    clear_cache(memory=True, disk=True)  # the parse cache (a temporary folder): a first load
    cold = timed(lambda: load([policies], [catalog]), 1)
    sources = timed(lambda: load([policies], [catalog]), repeat)  # a replica's second load
    now = dt.datetime.now(dt.UTC)
    build = timed(lambda: build_bundle(cfg, signing, sequence=1, now=now), 1)
    data, _ = build_bundle(cfg, signing, sequence=1, now=now)
    bundle = folder / "mesh.bundle"
    bundle.write_bytes(data)
    verify = timed(lambda: verify_bundle(data, trusted), repeat)
    def from_file(freeze: bool) -> object:
        return engine_from(verify_bundle(bundle.read_bytes(), trusted), freeze=freeze)

    library = timed(lambda: (from_file(False), gc.collect()), repeat, thaw)  # and its first collection
    from_bundle = timed(lambda: from_file(True), repeat, thaw)
    engine = from_file(True)  # in force while the next one loads
    reload = timed(lambda: from_file(True), repeat)
    assert engine.bundle_version == load([policies], [catalog]).bundle_version
    assert engine.evaluate({"id": "u", "groups": ["staff"]}, w.target_product).columns

    del engine
    thaw()
    tracemalloc.start()
    kept = from_file(False)
    gc.collect()
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del kept

    print(f"{name}: {n} products, {len(w.purpose_grants) + len(w.domains) + 1} rules, bundle "
          f"{len(data) / 1e6:.1f} MB (mesh written in {generated:.1f} s)")
    print(f"  load from sources, first   {ms(cold)}  ({cold[1] / n * 1000:.2f} ms CPU per contract)")
    print(f"  load from sources, again   {ms(sources)}  ({sources[1] / n * 1000:.2f} ms CPU per contract; "
          f"target <= 0.5)")
    print(f"  build (check + sign)       {ms(build)}")
    print(f"  verify (signature, hashes) {ms(verify)}")
    print(f"  load from bundle           {ms(from_bundle)}  = {from_bundle[1] / sources[1]:.3f}x sources' CPU "
          f"(target <= 0.1x, <= 1 s at 10,000; frozen, as serve loads)")
    print(f"  load from bundle, library  {ms(library)}  (load_bundle: not frozen; with the collection that follows)")
    print(f"  reload from bundle         {ms(reload)}  (another engine in force: thawed and collected once)")
    print(f"  engine memory              {current / 1e6:8.0f} MB kept, {peak / 1e6:.0f} MB peak while loading")
    if serve:
        runs = [serve_first_answer(bundle, pub_path, w.target_product, folder) for _ in range(max(1, min(repeat, 3)))]
        first = (statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs))
        print(f"  serve --bundle, 1st answer {ms(first)}  (process start, imports, verify, load, bind, "
              "one decision; CPU of the serve process)")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", default="200,2000,10000", help="products per mesh, comma-separated")
    parser.add_argument("--no-serve", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["POLICYENGINE_CACHE_DIR"] = str(Path(tmp) / "cache")
        for size in (int(s) for s in args.sizes.split(",")):
            name = {200: "W1", 2000: "10x W1"}.get(size, f"{size:,} products")
            run(name, mesh(size), args.repeat, Path(tmp), not args.no_serve)


if __name__ == "__main__":
    main()
