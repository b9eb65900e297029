"""Our JSON API, health, metrics, OpenAPI, authentication and fail-closed replies."""

from __future__ import annotations

import shutil
from pathlib import Path

from serve_helpers import ROOT, call, make_app

from policyengine.engine.loading import load
from policyengine.engine.reload import ReloadingEngine
from policyengine.serve.app import App


def test_evaluate_returns_the_engines_decision() -> None:
    app = make_app(token="t", allow_caller_time=True)  # `at` only from a trusted caller (test_hardening.py)
    r = call(app, "POST", "/v1/evaluate", {"consumer": "bob", "product": "sales.orders",
                                            "columns": ["amount", "margin"], "at": "2026-01-01T09:00:00Z"},
             headers={"Authorization": "Bearer t"})
    assert r.status == 200 and r.headers["content-type"] == "application/json"
    want = app.holder.engine.evaluate("bob", "sales.orders", ["amount", "margin"],
                                      at=__import__("datetime").datetime.fromisoformat("2026-01-01T09:00:00+00:00"))
    assert r.json() == want.to_dict()
    assert r.json()["bundle_version"] == app.holder.bundle_version


def test_evaluate_with_an_inline_consumer(app) -> None:
    r = call(app, "POST", "/v1/evaluate", {"consumer": {"id": "x", "groups": ["sales-reps"],
                                                        "attributes": {"region": "eu"}},
                                            "product": "sales.customers", "columns": ["customer_id"]})
    assert r.status == 200
    assert r.json()["columns"]["customer_id"]["effect"] == "allow" and r.json()["row_filter"] == 'region == "eu"'


def test_batch(app) -> None:
    reqs = [{"consumer": "bob", "product": "sales.orders"}, {"consumer": "frank", "product": "hr.payroll"},
            {"consumer": "bob", "product": "no.such"}]
    r = call(app, "POST", "/v1/evaluate/batch", {"requests": reqs})
    assert r.status == 200
    decisions = r.json()["decisions"]
    assert [d["product"] for d in decisions] == ["sales.orders", "hr.payroll", "no.such"]
    assert decisions[2]["readable_columns"] == [] and decisions[2]["row_filter"] == "false"


def test_unknown_product_is_a_deny(app) -> None:
    r = call(app, "POST", "/v1/evaluate", {"consumer": "bob", "product": "no.such", "columns": ["a"]})
    assert r.status == 200 and r.json()["columns"]["a"]["effect"] == "deny" and r.json()["readable_columns"] == []


def test_malformed_requests_are_400(app) -> None:
    for body in [{"product": "sales.orders"}, {"consumer": "bob"}, {"consumer": "", "product": "p"},
                 {"consumer": "bob", "product": "sales.orders", "columns": "amount"},
                 {"consumer": "bob", "product": "sales.orders", "at": "yesterday"},
                 {"consumer": "bob", "product": "sales.orders", "at": "2026-01-01T00:00:00"},
                 {"consumer": {"id": "x", "groups": "a", "attributes": []}, "product": "sales.orders"},
                 {"consumer": "bob", "product": "sales.orders", "colums": ["a"]}, [1]]:
        r = call(app, "POST", "/v1/evaluate", body)
        assert r.status == 400, body
        assert "error" in r.json() and "columns" not in r.json()
    trusted = make_app(token="t", allow_caller_time=True)
    for at in ["yesterday", "2026-01-01T00:00:00", 7]:
        r = call(trusted, "POST", "/v1/evaluate", {"consumer": "bob", "product": "sales.orders", "at": at},
                 headers={"Authorization": "Bearer t"})
        assert r.status == 400 and ("'at'" in r.json()["error"] or "`$.at`" in r.json()["error"]) and "allow_caller_time" not in r.json()["error"]
    assert call(app, "POST", "/v1/evaluate", raw=b"{").status == 400
    assert call(app, "POST", "/v1/evaluate/batch", {"requests": "x"}).status == 400
    assert call(app, "GET", "/v1/evaluate").status == 405
    assert call(app, "GET", "/nope").status == 404


def test_limits() -> None:
    small = make_app(max_body=100, max_batch=2)
    r = call(small, "POST", "/v1/evaluate", raw=b"{" + b" " * 200 + b"}")
    assert r.status == 413
    r = call(small, "POST", "/v1/evaluate/batch", {"requests": [{"consumer": "bob", "product": "p"}] * 3})
    assert r.status == 413


def test_batch_timeout_fails_closed() -> None:
    slow = make_app(batch_timeout=-1.0)
    r = call(slow, "POST", "/v1/evaluate/batch", {"requests": [{"consumer": "bob", "product": "sales.orders"}]})
    assert r.status == 503 and "decisions" not in r.json()


def test_bearer_token() -> None:
    secured = make_app(token="t0ken")
    body = {"consumer": "bob", "product": "sales.orders"}
    assert call(secured, "POST", "/v1/evaluate", body).status == 401
    assert call(secured, "POST", "/v1/evaluate", body, headers={"Authorization": "Bearer nope"}).status == 401
    assert call(secured, "GET", "/metrics").status == 401
    assert call(secured, "POST", "/v1/evaluate", body, headers={"Authorization": "Bearer t0ken"}).status == 200
    assert call(secured, "GET", "/health").status == 200


def test_health_metrics_openapi(app) -> None:
    call(app, "POST", "/v1/evaluate", {"consumer": "bob", "product": "sales.orders"})
    call(app, "POST", "/v1/evaluate", {"consumer": "bob", "product": "sales.orders"})
    h = call(app, "GET", "/health").json()
    assert h["status"] == "ok" and h["bundle_version"] == app.holder.bundle_version
    m = call(app, "GET", "/metrics")
    assert m.status == 200 and m.headers["content-type"].startswith("text/plain")
    text = m.body.decode()
    for name in ["policyengine_decisions_total", "policyengine_cache_hits_total", "policyengine_reloads_total",
                 "policyengine_reload_errors_total", 'policyengine_request_seconds_bucket{route="/v1/evaluate",le="+Inf"}']:
        assert name in text, name
    hits = next(line for line in text.splitlines() if line.startswith("policyengine_cache_hits_total"))
    assert int(hits.split()[1]) >= 1
    spec = call(app, "GET", "/openapi.json").json()
    assert spec["openapi"].startswith("3.") and "/v1/evaluate" in spec["paths"]
    assert "/v1/trino/batch-column-masks" in spec["paths"]


def test_hot_reload_keeps_the_last_good_bundle(tmp_path: Path) -> None:
    pol = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", pol)
    cat, consumers = ROOT / "examples/mesh/products", ROOT / "examples/mesh/consumers.yaml"
    holder = ReloadingEngine(lambda: load(pol, cat, consumers=consumers))
    app = App(holder)
    before = call(app, "GET", "/health").json()["bundle_version"]
    (pol / "sales.policy").write_text("scope domain sales\nallow read ;\n", encoding="utf-8")
    assert not holder.reload().ok
    assert call(app, "GET", "/health").json()["bundle_version"] == before
    assert "policyengine_reload_errors_total 1" in call(app, "GET", "/metrics").body.decode()
    r = call(app, "POST", "/v1/evaluate", {"consumer": "bob", "product": "sales.orders", "columns": ["amount"]})
    assert r.json()["columns"]["amount"]["effect"] == "allow" and r.json()["bundle_version"] == before
