"""`policyengine lsp`: how long a re-check takes after the author types, on the example mesh and
on 10x W1 (2,000 products, 2,021 rules in 21 files), side by side with a cold check.

Measured over stdio against the real server (`policyengine lsp` in a subprocess, JSON-RPC framed
by hand): the time from sending `didChange` (one character more in one file) until the answer to
a request sent right after it, which the server gives only once it has re-checked the whole
project and published every file's diagnostics. Next to it, in process: `Workspace.analyze()`
after the same edit (incremental: unchanged files are not parsed again, the catalog is not read
again) and after editing every file (every file parsed again), and `check_paths` as `check` runs
it with the catalog already loaded.

Targets (issue 25): example mesh <= 50 ms per change; 10x W1 incrementally <= 200 ms.

    .venv/bin/python benchmarks/bench_lsp.py [--rounds N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from workload import make_workload, write_policyengine  # noqa: E402

from policyengine.authoring.workspace import Workspace  # noqa: E402
from policyengine.language.files import check_paths  # noqa: E402


class Client:
    """A bare LSP client over the server's stdin/stdout (Content-Length framing)."""

    def __init__(self, config: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "policyengine.cli", "lsp", "--config", str(config)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=config.parent)
        self.next_id = 0

    def send(self, method: str, params: object, request: bool = False) -> int | None:
        msg: dict = {"jsonrpc": "2.0", "method": method, "params": params}
        ident = None
        if request:
            self.next_id += 1
            ident = msg["id"] = self.next_id
        body = json.dumps(msg).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()
        return ident

    def read(self) -> dict:
        assert self.proc.stdout is not None
        length = 0
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError("the server closed its output")
            if line in (b"\r\n", b"\n"):
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        return json.loads(self.proc.stdout.read(length))

    def call(self, method: str, params: object) -> dict:
        ident = self.send(method, params, request=True)
        while True:
            msg = self.read()
            if msg.get("id") == ident and "method" not in msg:
                return msg

    def close(self) -> None:
        self.call("shutdown", None)
        self.send("exit", None)
        self.proc.wait(timeout=10)


def server_times(config: Path, policy: Path, rounds: int, burst: int = 1) -> list[float]:
    """Seconds from the first of `burst` didChange notifications (sent back to back, as fast
    typing does) to the answer of the request after them, per round."""
    client = Client(config)
    try:
        root = config.parent.resolve().as_uri()
        client.call("initialize", {"processId": os.getpid(), "rootUri": root, "capabilities": {}})
        client.send("initialized", {})
        uri = policy.resolve().as_uri()
        text = policy.read_text(encoding="utf-8")
        client.send("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "policy",
                                                              "version": 1, "text": text}})
        client.call("textDocument/documentSymbol", {"textDocument": {"uri": uri}})
        out = []
        version = 1
        for i in range(rounds):
            t = time.perf_counter()
            for k in range(burst):
                version += 1
                client.send("textDocument/didChange", {"textDocument": {"uri": uri, "version": version},
                                                       "contentChanges": [{"text": text + f"# typed {i} {k}\n"}]})
            client.call("textDocument/documentSymbol", {"textDocument": {"uri": uri}})
            out.append(time.perf_counter() - t)
        return out
    finally:
        client.close()


def in_process(config: Path, policy: Path, rounds: int) -> dict[str, list[float]]:
    ws = Workspace(config)
    ws.analyze()
    names = ws.policy_names()
    text = policy.read_text(encoding="utf-8")
    out: dict[str, list[float]] = {"incremental": [], "every file edited": [], "check_paths": []}
    for i in range(rounds):
        ws.set_text(policy, text + f"# typed {i}\n")
        t = time.perf_counter()
        ws.analyze()
        out["incremental"].append(time.perf_counter() - t)
    for i in range(rounds):
        for n in names:
            ws.set_text(Path(n), (ws.text_of(Path(n)) or "") + f"# all {i}\n")
        t = time.perf_counter()
        ws.analyze()
        out["every file edited"].append(time.perf_counter() - t)
    cfg = ws.config
    for _ in range(rounds):
        t = time.perf_counter()
        check_paths(list(cfg.policies), ws.catalog, ws.directory.schema if ws.directory else None,
                    ownership=cfg.ownership)
        out["check_paths"].append(time.perf_counter() - t)
    return out


def ms(xs: list[float]) -> str:
    xs = sorted(xs)
    p95 = xs[min(len(xs) - 1, int(0.95 * len(xs)))]
    return f"{statistics.median(xs) * 1000:8.1f} {p95 * 1000:8.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="pe-bench-lsp-"))
    w = make_workload(products=2000, purpose_grants=2000)
    policies, _ = write_policyengine(w, tmp)
    (tmp / "policyengine.yaml").write_text("policies: policies/\ncatalog: catalog/\n", encoding="utf-8")
    cases = [("example mesh", ROOT / "policyengine.yaml", ROOT / "policies" / "sales.policy", 50.0),
             ("10x W1", tmp / "policyengine.yaml", policies / "d003.policy", 200.0)]
    print(f"{'project':<14} {'measure':<44} {'p50 ms':>8} {'p95 ms':>8}")
    for label, config, policy, target in cases:
        server = server_times(config, policy, args.rounds)
        print(f"{label:<14} {'server: didChange -> re-checked and published':<44} {ms(server)}"
              f"   target <= {target:.0f} ms: {'met' if statistics.median(server) * 1000 <= target else 'MISSED'}")
        burst = server_times(config, policy, max(3, args.rounds // 4), burst=10)
        print(f"{label:<14} {'server: 10 keystrokes in a burst -> published':<44} {ms(burst)}")
        for name, xs in in_process(config, policy, args.rounds).items():
            what = {"incremental": "analyze(), one file edited (incremental)",
                    "every file edited": "analyze(), every file edited (all parsed)",
                    "check_paths": "check_paths (as `check`, catalog loaded)"}[name]
            print(f"{label:<14} {what:<44} {ms(xs)}")


if __name__ == "__main__":
    main()
