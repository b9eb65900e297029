"""Atomic reload, the bundle version and the decision log (issue 10, "Reload and audit trail")."""

from __future__ import annotations

import errno
import json
import shutil
import threading
import time
from pathlib import Path

import pytest

from policyengine.engine.decision_log import DecisionLog
from policyengine.engine.loading import load
from policyengine.engine.reload import ReloadingEngine

MESH = Path(__file__).resolve().parents[2] / "examples" / "mesh"

V1 = ("scope platform\n"
      '@name("reps-read")\nallow read sales.* to group:sales-reps;\n'
      '@name("mask-email")\nmask sales.customers.email using redact to everyone;\n')
V2 = ("scope platform\n"
      '@name("reps-read")\nallow read sales.* to group:sales-reps;\n'
      '@name("deny-email")\ndeny read sales.customers.email to everyone;\n')


def _project(tmp: Path) -> tuple[Path, Path, Path]:
    pol = tmp / "policies"
    pol.mkdir()
    (pol / "p.policy").write_text(V1, encoding="utf-8")
    cat = tmp / "products"
    shutil.copytree(MESH / "products", cat)
    consumers = tmp / "consumers.yaml"
    shutil.copy(MESH / "consumers.yaml", consumers)
    return pol, cat, consumers


def _holder(tmp: Path, **kw) -> tuple[ReloadingEngine, Path, Path, Path]:
    pol, cat, consumers = _project(tmp)
    holder = ReloadingEngine(lambda: load(pol, cat, consumers=consumers), **kw)
    return holder, pol, cat, consumers


def test_reload_swaps_and_a_broken_bundle_keeps_the_last_good_one(tmp_path: Path) -> None:
    holder, pol, _, _ = _holder(tmp_path)
    before = holder.bundle_version
    assert holder.evaluate("bob", "sales.customers", ["email"]).columns["email"].effect == "mask"
    (pol / "p.policy").write_text(V2, encoding="utf-8")
    result = holder.reload()
    assert result.ok and result.changed and result.bundle_version != before
    assert holder.evaluate("bob", "sales.customers", ["email"]).columns["email"].effect == "deny"
    good = holder.bundle_version
    (pol / "p.policy").write_text("allow read sales.* to ;\n", encoding="utf-8")  # a syntax error
    result = holder.reload()
    assert not result.ok and result.error and "p.policy" in result.error
    assert holder.reload_errors == 1 and holder.bundle_version == good
    decision = holder.evaluate("bob", "sales.customers", ["email"])
    assert decision.columns["email"].effect == "deny" and decision.bundle_version == good


def test_bundle_version_covers_catalog_consumers_and_scan_not_only_policies(tmp_path: Path) -> None:
    pol, cat, consumers = _project(tmp_path)
    base = load(pol, cat, consumers=consumers)
    assert base.bundle_version and base.bundle_version == load(pol, cat, consumers=consumers).bundle_version
    assert base.evaluate("bob", "sales.customers").bundle_version == base.bundle_version
    assert base.evaluate("bob", "sales.customers").to_dict()["bundle_version"] == base.bundle_version
    contract = cat / "sales.customers.yaml"
    contract.write_text(contract.read_text(encoding="utf-8") + "\n# a comment\n", encoding="utf-8")
    changed_catalog = load(pol, cat, consumers=consumers)
    assert changed_catalog.policy_version == base.policy_version
    assert changed_catalog.bundle_version != base.bundle_version
    consumers.write_text(consumers.read_text(encoding="utf-8") + "\n# another\n", encoding="utf-8")
    assert load(pol, cat, consumers=consumers).bundle_version not in (base.bundle_version,
                                                                       changed_catalog.bundle_version)
    report = {"findings": []}
    assert load(pol, cat, consumers=consumers, scan=report).bundle_version != \
        load(pol, cat, consumers=consumers).bundle_version


def test_evaluate_in_8_threads_while_reloading_100_times(tmp_path: Path) -> None:
    holder, pol, _, _ = _holder(tmp_path)
    v1 = holder.bundle_version
    (pol / "p.policy").write_text(V2, encoding="utf-8")
    v2 = load(pol, tmp_path / "products", consumers=tmp_path / "consumers.yaml").bundle_version
    (pol / "p.policy").write_text(V1, encoding="utf-8")
    expected = {v1: "mask", v2: "deny"}
    stop = threading.Event()
    bad: list[str] = []
    seen: set[str] = set()

    def reader() -> None:
        while not stop.is_set():
            d = holder.evaluate("bob", "sales.customers", ["customer_id", "email"])
            want = expected.get(d.bundle_version)
            if want is None or d.columns["email"].effect != want or d.columns["customer_id"].effect != "allow":
                bad.append(f"{d.bundle_version}: {d.columns['email'].effect} {d.error}")
            seen.add(d.bundle_version)
            # hand the interpreter lock on after each call: eight busy readers otherwise starve the
            # reloading thread (100 reloads took minutes), while calls still overlap every swap
            time.sleep(0)

    threads = [threading.Thread(target=reader) for _ in range(8)]
    for t in threads:
        t.start()
    try:
        for i in range(100):
            (pol / "p.policy").write_text(V2 if i % 2 == 0 else V1, encoding="utf-8")
            assert holder.reload().ok
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not bad, bad[:5]
    assert seen == {v1, v2}
    assert holder.reloads == 100


def test_watch_reloads_on_change(tmp_path: Path) -> None:
    pytest.importorskip("watchfiles")
    holder, pol, _, _ = _holder(tmp_path)
    before = holder.bundle_version
    stop = holder.watch([pol], debounce_ms=50)
    try:
        import time

        # the watcher may not be listening yet when the first write lands: write again (the
        # same text) until a reload shows, instead of guessing how long it takes to start
        deadline = time.monotonic() + 10
        while holder.bundle_version == before and time.monotonic() < deadline:
            (pol / "p.policy").write_text(V2, encoding="utf-8")
            time.sleep(0.05)  # a poll with a deadline, not a guess at a duration
    finally:
        stop.set()
    assert holder.bundle_version != before


SECRET = "s3cr3t-attr-value"


def test_decision_log_lines_hold_no_values(tmp_path: Path) -> None:
    pol, cat, consumers = _project(tmp_path)
    (pol / "p.policy").write_text(V1 + '@name("f")\nfilter sales.* rows where region == consumer.department '
                                  'to group:sales-reps;\n', encoding="utf-8")
    dlog = DecisionLog(tmp_path / "log" / "decisions.jsonl")
    holder = ReloadingEngine(lambda: load(pol, cat, consumers=consumers), decision_log=dlog)
    consumer = {"id": "zed", "groups": ["sales-reps"], "attributes": {"department": SECRET, "region": SECRET}}
    d = holder.evaluate(consumer, "sales.customers", ["email", "customer_id"], purpose="reporting")
    assert SECRET in str(d.row_filter)  # the decision has it; the log must not
    holder.evaluate({"id": "zed", "groups": [SECRET]}, "no.such.product", ["x"])
    dlog.close()
    text = (tmp_path / "log" / "decisions.jsonl").read_text(encoding="utf-8")
    assert SECRET not in text
    lines = [json.loads(line) for line in text.splitlines()]
    assert len(lines) == 2
    first = lines[0]
    assert first["consumer"] == "zed" and first["product"] == "sales.customers"
    assert first["purpose"] == "reporting" and first["bundle_version"] == holder.bundle_version
    assert first["columns"]["email"] == {"effect": "mask", "strategy": "redact", "rule": "mask-email"}
    assert first["filter_rules"] == ["f"] and first["row_filter"] is True
    assert first["time"] and first["duration_us"] >= 0


def test_decision_log_rotates_by_size(tmp_path: Path) -> None:
    pol, cat, consumers = _project(tmp_path)
    dlog = DecisionLog(tmp_path / "d.jsonl", max_bytes=4096, backups=2)
    holder = ReloadingEngine(lambda: load(pol, cat, consumers=consumers), decision_log=dlog)
    for _ in range(200):
        holder.evaluate("bob", "sales.customers")
        dlog.flush()
    dlog.close()
    files = sorted(p.name for p in tmp_path.glob("d.jsonl*"))
    assert files == ["d.jsonl", "d.jsonl.1", "d.jsonl.2"]
    assert all(p.stat().st_size <= 4096 for p in tmp_path.glob("d.jsonl*"))
    assert dlog.written == 200 and dlog.dropped == 0


class _FullDisk:
    def __init__(self) -> None:
        self.calls = 0

    def write(self, data: bytes) -> int:
        self.calls += 1
        raise OSError(errno.ENOSPC, "No space left on device")

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


def test_a_full_disk_drops_lines_with_a_counter_and_never_fails_an_evaluation(tmp_path: Path) -> None:
    pol, cat, consumers = _project(tmp_path)
    disk = _FullDisk()
    dlog = DecisionLog(tmp_path / "d.jsonl", opener=lambda p: disk)
    holder = ReloadingEngine(lambda: load(pol, cat, consumers=consumers), decision_log=dlog)
    for _ in range(50):
        assert holder.evaluate("bob", "sales.customers", ["email"]).columns["email"].effect == "mask"
    dlog.flush()
    dlog.close()
    assert disk.calls >= 1 and dlog.dropped == 50 and dlog.written == 0 and dlog.write_errors >= 1


def test_a_full_queue_drops_with_a_counter(tmp_path: Path) -> None:
    pol, cat, consumers = _project(tmp_path)
    dlog = DecisionLog(tmp_path / "d.jsonl", max_queue=1, flush_interval=60)
    engine = load(pol, cat, consumers=consumers)
    d = engine.evaluate("bob", "sales.customers")
    for _ in range(10):
        dlog.record(d, 0.0)
    assert dlog.dropped == 9
    dlog.close()
    assert dlog.written == 1
