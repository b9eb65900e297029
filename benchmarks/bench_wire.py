"""The PostgreSQL-protocol gateway against the same query through the Gateway library call in
process, side by side in one run: the latency the wire, the protocol layer and psycopg add, the
rewrite's own cost, and throughput under concurrent clients.

    .venv/bin/python benchmarks/bench_wire.py [--runs 300] [--clients 16] [--seconds 5] [--json]
    .venv/bin/python benchmarks/bench_wire.py --baseline /tmp/old-tree [--baseline-path DIR]

Starts `policyengine gateway` on the example mesh (the repository's policyengine.yaml, trust on
loopback) in a subprocess on a free port, connects psycopg 3 as bob (autocommit), and times each
query: the same text again and again ("seen"), and a new text every time (a literal changes, so
the rewrite cache misses). The in-process column is `Gateway.query` on a Gateway built the same
way. Issue 23's targets: added p50 ≤ 1 ms seen, ≤ 3 ms new; the rewrite of the 3-table join ≤ 1
ms with every cache empty and ≤ 0.5 ms for a new text over known decisions.

The load run: `--clients` connections sending the small query back to back for `--seconds`,
with pgbench (a custom script, simple protocol) when it is installed, else threads of this
process with psycopg; queries/s, p50 and p99 latency, errors, and the gateway's CPU time per
query (read from /proc: what the figures cost whatever else the machine runs). Target: ≥ 2,000
queries/s on 2 cores, p99 ≤ 20 ms, 0 errors.

`--baseline TREE` starts a second gateway from another checkout (e.g. `git archive REV | tar -x
-C TREE`), with `--baseline-path` entries put first on its PYTHONPATH (e.g. a plain sqlglot),
and interleaves every measurement between the two: before and after in one run.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

import policyengine  # noqa: E402
from policyengine.enforce.gateway import REWRITE_CACHE, Gateway, rewrite_query  # noqa: E402

KEY = "policyengine-demo-key-not-a-secret"
QUERIES = {
    "small": "SELECT customer_email, region, amount FROM sales.orders WHERE amount > {n} ORDER BY amount DESC LIMIT 3",
    "join": ("SELECT o.order_id, c.email, o.amount FROM sales.orders o JOIN sales.customers c "
             "ON o.customer_id = c.customer_id WHERE o.amount > {n} ORDER BY o.order_id"),
}
JOIN3 = ("SELECT o.order_id, c.email, l.score FROM sales.orders o "
         "JOIN sales.customers c ON o.customer_id = c.customer_id "
         "JOIN marketing.leads l ON l.country = c.country WHERE o.amount > {n} ORDER BY o.order_id")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _p(values: list[float], q: float) -> float:
    return sorted(values)[min(len(values) - 1, int(q * len(values)))]


def _timed(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return (time.perf_counter() - start) * 1000


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Server:
    """`policyengine gateway` from `tree` in a subprocess on a free port."""

    def __init__(self, tree: Path, paths: list[str]) -> None:
        self.port = _free_port()
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([*paths, str(tree)]), "POLICYENGINE_HASH_KEY": KEY}
        self.proc = subprocess.Popen([sys.executable, "-c", "from policyengine.cli import main; main()", "gateway",
                                      "--port", str(self.port)], cwd=tree, env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while True:
            try:
                self.conn = self.connect()
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise SystemExit("the gateway did not start") from None
                time.sleep(0.2)

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(f"host=127.0.0.1 port={self.port} user=bob dbname=mesh", autocommit=True)

    def run(self, text: str) -> object:
        return self.conn.execute(text).fetchall()

    def stop(self) -> None:
        self.conn.close()
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def latency(servers: dict[str, Server], gateway: Gateway, runs: int) -> dict:
    """Per query and text kind: each server's wire p50/p99 and the in-process p50/p99, interleaved."""
    bob = gateway.engine.consumers.get("bob")

    def local(text: str) -> object:
        return gateway.query(text, bob).to_pylist()

    results: dict = {}
    for name, template in QUERIES.items():
        seen = template.format(n=100)
        for _ in range(20):  # warm every side: first rewrite, first decisions
            for server in servers.values():
                server.run(seen)
            local(seen)
        row = {}
        for label in ("seen", "new"):
            times: dict[str, list[float]] = {k: [] for k in [*servers, "inproc"]}
            for i in range(runs):
                for j, (k, server) in enumerate(servers.items()):  # a text new to each server
                    text = seen if label == "seen" else template.format(n=f"{1000 + i}.{j + 1}")
                    times[k].append(_timed(lambda s=server, t=text: s.run(t)))
                text = seen if label == "seen" else template.format(n=f"{100_000 + i}")
                times["inproc"].append(_timed(lambda t=text: local(t)))
            inproc = statistics.median(times["inproc"])
            row[label] = {"inproc_p50": inproc, "inproc_p99": _p(times["inproc"], 0.99),
                          **{f"{k}_p50": statistics.median(v) for k, v in times.items() if k != "inproc"},
                          **{f"{k}_p99": _p(v, 0.99) for k, v in times.items() if k != "inproc"},
                          **{f"{k}_added_p50": statistics.median(v) - inproc
                             for k, v in times.items() if k != "inproc"}}
        results[name] = row
    return results


def rewrite_costs(engine, runs: int) -> dict:
    """The rewrite of the 3-table join alone (keyed, as the gateway runs it): every cache empty,
    a new text over known decisions, the same text again (p50/p99 in ms)."""
    def timed(forget: str) -> dict:
        samples = []
        for i in range(runs):
            text = JOIN3.format(n=10) if forget != "queries" else JOIN3.format(n=10 + i)
            if forget == "all":
                REWRITE_CACHE.clear()
            samples.append(_timed(lambda t=text: rewrite_query(t, "bob", engine, hash_key=KEY)))
        return {"p50": statistics.median(samples), "p99": _p(samples, 0.99)}

    for _ in range(30):
        rewrite_query(JOIN3.format(n=10), "bob", engine, hash_key=KEY)
    return {"cold": timed("all"), "new_text": timed("queries"), "seen": timed("none")}


def _pgbench(port: int, clients: int, seconds: float, text: str) -> tuple[list[float], int]:
    work = Path(tempfile.mkdtemp(prefix="bench-wire-"))
    try:
        (work / "q.sql").write_text(text + ";\n")
        done = subprocess.run(["pgbench", "-n", "-f", str(work / "q.sql"), "-c", str(clients), "-j", "2",
                               "-T", str(max(1, round(seconds))), "-h", "127.0.0.1", "-p", str(port), "-U", "bob",
                               "-l", f"--log-prefix={work / 'log'}", "mesh"],
                              capture_output=True, text=True, timeout=seconds + 120)
        latencies = [int(line.split()[2]) / 1000 for f in glob.glob(str(work / "log*"))
                     for line in Path(f).read_text().splitlines() if line]
        failed = 0
        for line in done.stdout.splitlines():
            if line.startswith("number of failed transactions:"):
                failed = int(line.split(":")[1].split()[0])
        if done.returncode != 0:
            failed = max(failed, 1)
        return latencies, failed
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _threads(server: Server, clients: int, seconds: float, text: str) -> tuple[list[float], int]:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    conns = [server.connect() for _ in range(clients)]
    stop = time.perf_counter() + seconds

    def worker(conn: psycopg.Connection) -> None:
        mine: list[float] = []
        failed = 0
        while time.perf_counter() < stop:
            start = time.perf_counter()
            try:
                conn.execute(text).fetchall()
            except psycopg.Error:
                failed += 1
            mine.append((time.perf_counter() - start) * 1000)
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    threads = [threading.Thread(target=worker, args=(c,)) for c in conns]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in conns:
        c.close()
    return latencies, errors[0]


def load(server: Server, clients: int, seconds: float, text: str, tool: str) -> dict:
    cpu = _cpu_seconds(server.proc.pid)
    began = time.perf_counter()
    latencies, errors = (_pgbench(server.port, clients, seconds, text) if tool == "pgbench"
                         else _threads(server, clients, seconds, text))
    elapsed = time.perf_counter() - began
    cpu = _cpu_seconds(server.proc.pid) - cpu
    n = max(1, len(latencies))
    return {"tool": tool, "clients": clients, "queries": len(latencies),
            "queries_per_s": len(latencies) / (seconds if tool == "pgbench" else elapsed),
            "p50": statistics.median(latencies) if latencies else 0.0, "p99": _p(latencies, 0.99) if latencies else 0.0,
            "errors": errors, "server_cpu_ms_per_query": cpu * 1000 / n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients for the load run")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each load run")
    parser.add_argument("--loads", type=int, default=2, help="load runs per server (alternating)")
    parser.add_argument("--tool", choices=["auto", "pgbench", "threads"], default="auto")
    parser.add_argument("--baseline", type=Path, help="another checkout to compare with, in the same run")
    parser.add_argument("--baseline-path", action="append", default=[],
                        help="a directory put first on the baseline's PYTHONPATH (repeatable)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    tool = args.tool if args.tool != "auto" else ("pgbench" if shutil.which("pgbench") else "threads")

    engine = policyengine.load(["policies"], ["examples/mesh/products"], consumers="examples/mesh/consumers.yaml")
    gateway = Gateway(engine, hash_key=KEY)
    servers: dict[str, Server] = {}
    try:
        if args.baseline is not None:
            servers["before"] = Server(args.baseline.resolve(), [str(Path(p).resolve()) for p in args.baseline_path])
        servers["wire"] = Server(ROOT, [])
        results: dict = {"latency": latency(servers, gateway, args.runs), "rewrite": rewrite_costs(engine, args.runs)}
        text = QUERIES["small"].format(n=100)
        loads: dict[str, list[dict]] = {k: [] for k in servers}
        for _ in range(args.loads):
            for k, server in servers.items():
                loads[k].append(load(server, args.clients, args.seconds, text, tool))
        results["load"] = loads
    finally:
        for server in servers.values():
            server.stop()
    if args.json:
        print(json.dumps(results, indent=2))
        return
    names = list(servers)
    print(f"latency (ms, {args.runs} runs each, interleaved); added = wire p50 - in-process p50")
    print(f"{'query':6} {'text':5} " + " ".join(f"{k + ' p50':>11} {k + ' p99':>11}" for k in names)
          + f" {'in-proc p50':>12} {'in-proc p99':>12} " + " ".join(f"{'added ' + k:>12}" for k in names))
    for name, row in results["latency"].items():
        for label, r in row.items():
            print(f"{name:6} {label:5} " + " ".join(f"{r[k + '_p50']:11.2f} {r[k + '_p99']:11.2f}" for k in names)
                  + f" {r['inproc_p50']:12.2f} {r['inproc_p99']:12.2f} "
                  + " ".join(f"{r[k + '_added_p50']:12.2f}" for k in names))
    rw = results["rewrite"]
    print(f"rewrite, 3-table join, keyed (this tree): every cache empty p50 {rw['cold']['p50']:.3f} ms "
          f"(p99 {rw['cold']['p99']:.3f}); new text, known decisions p50 {rw['new_text']['p50']:.3f} ms "
          f"(p99 {rw['new_text']['p99']:.3f}); same text p50 {rw['seen']['p50']:.3f} ms   targets <= 1 / <= 0.5 ms")
    for k in names:
        for r in loads[k]:
            print(f"load {k:6}: {r['tool']}, {r['clients']} clients, {r['queries_per_s']:.0f} queries/s, "
                  f"p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms, {r['errors']} errors, "
                  f"gateway CPU {r['server_cpu_ms_per_query']:.2f} ms/query (small query, seen text)")


if __name__ == "__main__":
    main()
