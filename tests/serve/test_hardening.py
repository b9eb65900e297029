"""Attacks on `serve` (issue 19 hole 10, issue 27 item 5): each test failed before its fix.

In-process through the ASGI interface; the slow-connection attacks run a real uvicorn
(tests/serve/test_slow_clients.py).
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest
from serve_helpers import ROOT, call, make_app
from test_trino_contract import CTX_BOB, column, ctx, doc, table

from policyengine.config import load_config
from policyengine.engine.decision_log import DecisionLog
from policyengine.engine.loading import load
from policyengine.engine.reload import ReloadingEngine
from policyengine.serve.app import App, ServeOptions
from policyengine.serve.trino import TrinoSettings

EVALUATE = {"consumer": "bob", "product": "sales.orders", "columns": ["amount"]}


# ---------------------------------------------------------------- Host (DNS rebinding)


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8181", "127.0.0.1.evil.example",
                                  "localhost.evil.example", "[::2]:8181", "", "127.0.0.2"])
def test_a_foreign_host_header_is_refused(app, host: str) -> None:
    """Attack: a page on evil.example rebinds its name to 127.0.0.1 and reads decisions and
    /metrics from a tokenless loopback server; the browser sends `Host: evil.example`."""
    for method, path, body in [("POST", "/v1/evaluate", EVALUATE), ("GET", "/metrics", None),
                               ("GET", "/openapi.json", None), ("POST", "/v1/trino/allow", doc(CTX_BOB, "ExecuteQuery")),
                               ("POST", "/v1/iceberg/read-restrictions", {})]:
        r = call(app, method, path, body, host=host)
        assert r.status == 421, (host, path)
        assert set(r.json()) == {"error"} and "serve.allowed_hosts" in r.json()["error"]
    # /health answers any Host, as it answers without a token: probes name a pod's address
    assert call(app, "GET", "/health", host=host).status == 200


def test_a_request_without_a_host_header_is_refused(app) -> None:
    r = call(app, "POST", "/v1/evaluate", EVALUATE, host=None)
    assert r.status == 421


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.1:8181", "localhost", "LOCALHOST:8181", "[::1]",
                                  "[::1]:8181", "localhost."])
def test_loopback_names_are_answered(app, host: str) -> None:
    assert call(app, "POST", "/v1/evaluate", EVALUATE, host=host).status == 200


def test_the_configured_host_and_the_allow_list_are_answered() -> None:
    listed = make_app(allowed_hosts=("policyengine.internal", "10.0.0.7", "[fd00::7]"))
    for host in ["policyengine.internal:8181", "POLICYENGINE.internal", "10.0.0.7", "[fd00::7]:80", "localhost"]:
        assert call(listed, "POST", "/v1/evaluate", EVALUATE, host=host).status == 200, host
    assert call(listed, "POST", "/v1/evaluate", EVALUATE, host="evil.example").status == 421


def test_allowed_hosts_in_the_configuration(tmp_path: Path) -> None:
    from policyengine.serve.server import ServeSettings, build_app

    cfg = _config(tmp_path, "serve:\n  host: 10.1.2.3\n  allowed_hosts: [decisions.corp.example]\n")
    settings = ServeSettings.from_config(load_config(cfg))
    built = build_app(load_config(cfg), settings, host=settings.host)
    for host, status in [("10.1.2.3:8181", 200), ("decisions.corp.example", 200), ("127.0.0.1", 200),
                         ("evil.example", 421)]:
        assert call(built, "POST", "/v1/evaluate", EVALUATE, host=host).status == status, host
    bad = _config(tmp_path, "serve:\n  allowed_hosts: evil\n")
    with pytest.raises(ValueError, match="allowed_hosts"):
        ServeSettings.from_config(load_config(bad))


# ---------------------------------------------------------------- the caller's `at`


@pytest.fixture(scope="module")
def expired(tmp_path_factory) -> Path:
    """The example policies plus a grant that ended on 2025-01-01: sales reps (bob) read the
    leads' `created_at` until then."""
    pol = tmp_path_factory.mktemp("expired") / "policies"
    shutil.copytree(ROOT / "policies", pol, ignore=shutil.ignore_patterns("tests"))
    with (pol / "marketing.policy").open("a", encoding="utf-8") as f:
        f.write('\n@name("expired-trial")\nallow read marketing.leads.created_at to group:sales-reps\n'
                "    until 2025-01-01;\n")
    return pol


def _expired_app(pol: Path, **options: Any) -> App:
    holder = ReloadingEngine(lambda: load(pol, ROOT / "examples/mesh/products",
                                          consumers=ROOT / "examples/mesh/consumers.yaml"))
    return App(holder, options=ServeOptions(**options))


LEADS_THEN = {"consumer": "bob", "product": "marketing.leads", "columns": ["created_at"],
              "at": "2024-06-01T00:00:00Z"}


def test_a_caller_chosen_at_does_not_revive_an_expired_grant(expired: Path) -> None:
    """Attack: the grant ended in 2025; the caller asks as of 2024 and reads the column."""
    served = _expired_app(expired)
    r = call(served, "POST", "/v1/evaluate", LEADS_THEN)
    assert r.status == 400 and "allow_caller_time" in r.json()["error"]
    r = call(served, "POST", "/v1/evaluate/batch", {"requests": [LEADS_THEN]})
    assert r.status == 400
    now = call(served, "POST", "/v1/evaluate", {k: v for k, v in LEADS_THEN.items() if k != "at"})
    assert now.status == 200 and now.json()["columns"]["created_at"]["effect"] == "deny"


def test_the_iceberg_route_takes_no_caller_time(app) -> None:
    r = call(app, "POST", "/v1/iceberg/read-restrictions",
             {"consumer": "bob", "product": "sales.orders", "at": "2024-06-01T00:00:00Z",
              "schema": {"type": "struct", "fields": [{"id": 1, "name": "order_id", "type": "long",
                                                       "required": True}]}})
    assert r.status == 400 and "allow_caller_time" in r.json()["error"]


def test_caller_time_only_for_an_authenticated_caller_when_configured(expired: Path) -> None:
    with pytest.raises(ValueError, match="token"):
        _expired_app(expired, allow_caller_time=True)
    trusted = _expired_app(expired, allow_caller_time=True, token="t0ken")
    auth = {"Authorization": "Bearer t0ken"}
    r = call(trusted, "POST", "/v1/evaluate", LEADS_THEN, headers=auth)
    assert r.status == 200 and r.json()["columns"]["created_at"]["effect"] == "allow"
    assert r.json()["at"].startswith("2024-06-01")
    assert call(trusted, "POST", "/v1/evaluate", LEADS_THEN).status == 401


def test_allow_caller_time_without_a_token_is_a_usage_error(tmp_path: Path, monkeypatch) -> None:
    from typer.testing import CliRunner

    from policyengine.cli import app as cli

    monkeypatch.delenv("POLICYENGINE_SERVE_TOKEN", raising=False)
    cfg = _config(tmp_path, "serve:\n  allow_caller_time: true\n")
    r = CliRunner().invoke(cli, ["serve", "--config", str(cfg)])
    assert r.exit_code == 2 and "allow_caller_time" in r.output and "Traceback" not in r.output


@pytest.mark.parametrize("at", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+01:00"])
def test_an_at_out_of_range_is_a_400_without_a_traceback(expired: Path, at: str, caplog) -> None:
    """issue 27: an `at` that is no instant logged a traceback per call and answered 200."""
    trusted = _expired_app(expired, allow_caller_time=True, token="t0ken")
    with caplog.at_level(logging.DEBUG, logger="policyengine"):
        r = call(trusted, "POST", "/v1/evaluate", {**EVALUATE, "at": at},
                 headers={"Authorization": "Bearer t0ken"})
    assert r.status == 400 and "'at'" in r.json()["error"]
    assert not [rec for rec in caplog.records if rec.exc_info]


# ---------------------------------------------------------------- unknown consumers (issue 27)


def test_an_unknown_consumer_is_a_clear_deny_logged_once(caplog) -> None:
    served = make_app()
    with caplog.at_level(logging.DEBUG, logger="policyengine"):
        replies = [call(served, "POST", "/v1/evaluate", {"consumer": "nobody", "product": "sales.orders",
                                                         "columns": ["amount", "margin"]}) for _ in range(5)]
    for r in replies:
        assert r.status == 200
        body = r.json()
        assert body["readable_columns"] == [] and body["row_filter"] == "false"
        assert {c["effect"] for c in body["columns"].values()} == {"deny"}
        assert "unknown consumer 'nobody'" in body["reason"]
        text = orjson.dumps(body).decode()
        assert "internal error" not in text and "ValueError" not in text and "consumers=" not in text
    assert not [rec for rec in caplog.records if rec.exc_info]
    assert len([rec for rec in caplog.records if "nobody" in rec.getMessage()]) == 1
    whole = call(served, "POST", "/v1/evaluate", {"consumer": "nobody", "product": "sales.orders"}).json()
    assert set(whole["columns"]) == set(served.holder.engine.catalog.products["sales.orders"].column_names)


def test_an_unknown_consumer_on_the_iceberg_route_is_403(app) -> None:
    r = call(app, "POST", "/v1/iceberg/read-restrictions",
             {"consumer": "nobody", "product": "sales.orders",
              "schema": {"type": "struct", "fields": [{"id": 1, "name": "order_id", "type": "long",
                                                       "required": True}]}})
    assert r.status == 403 and "unknown consumer" in r.json()["error"]


# ---------------------------------------------------------------- Trino column types


@pytest.mark.parametrize("ctype", ["setdigest", "qdigest(bigint)", "P4HyperLogLog", "KHyperLogLog", "row(" * 400 + "x integer" + ")" * 400,
                                   "map(varchar, " * 200 + "x" + ")" * 200, "x" * 100_000])
def test_a_type_sqlglot_cannot_parse_masks_to_null(ctype: str, caplog) -> None:
    """Attack: a denied column of a type sqlglot does not know answered 500 with a traceback in
    the log. It is masked to NULL (an untyped NULL, which Trino coerces to any column type)."""
    served = make_app()
    with caplog.at_level(logging.DEBUG, logger="policyengine"):
        for _ in range(3):
            r = call(served, "POST", "/v1/trino/column-mask",
                     doc(CTX_BOB, "GetColumnMask", column("sales", "orders", "margin", ctype)))
            assert r.status == 200, r.body[:200]
            assert r.json() == {"result": {"expression": "NULL"}}
            r = call(served, "POST", "/v1/trino/batch-column-masks",
                     doc(CTX_BOB, "GetColumnMask", filter_resources=[column("sales", "orders", "amount", ctype),
                                                                     column("sales", "orders", "margin", ctype)]))
            assert r.status == 200 and r.json() == {"result": [{"index": 1, "viewExpression": {"expression": "NULL"}}]}
    assert not [rec for rec in caplog.records if rec.exc_info]
    assert len([rec for rec in caplog.records if "column type" in rec.getMessage()]) == 1
    assert all(len(rec.getMessage()) < 400 for rec in caplog.records)


@pytest.mark.parametrize(("ctype", "sql"), [("decimal(12, 2)", "DECIMAL(12, 2)"), ("tdigest", "TDIGEST"),
                                           ("HyperLogLog", "HYPERLOGLOG"),
                                           ("row(a row(b row(c integer)))", "ROW(a ROW(b ROW(c INTEGER)))")])
def test_a_parsable_type_still_casts(app, ctype: str, sql: str) -> None:
    r = call(app, "POST", "/v1/trino/column-mask",
             doc(CTX_BOB, "GetColumnMask", column("sales", "orders", "margin", ctype)))
    assert r.json() == {"result": {"expression": f"CAST(NULL AS {sql})"}}


# ---------------------------------------------------------------- Trino user and group mappings


def test_an_unmapped_trino_group_grants_nothing_when_groups_are_mapped() -> None:
    """Attack: with `groups:` mapping LDAP names, a Trino group literally named `pii-cleared`
    (which no mapping names) passed through and unmasked bob's e-mails."""
    mapped = make_app(trino=TrinoSettings(catalogs=("lakehouse",), groups={"ldap-sales": "sales-reps"}))
    res = doc(ctx("bob", ["pii-cleared"]), "GetColumnMask", column("sales", "customers", "email"))
    r = call(mapped, "POST", "/v1/trino/column-mask", res)
    assert r.status == 200 and r.json()["result"] is not None  # still masked
    opened = make_app(trino=TrinoSettings(catalogs=("lakehouse",), groups={"ldap-sales": "sales-reps"},
                                          unmapped_groups="passthrough"))
    assert call(opened, "POST", "/v1/trino/column-mask", res).json()["result"] is None
    unmapped = make_app()  # no mapping at all: names are ours
    assert call(unmapped, "POST", "/v1/trino/column-mask", res).json()["result"] is None


def test_an_unmapped_trino_user_is_nobody_when_users_are_mapped() -> None:
    """Attack: with `users: {b.smith: bob}`, a Trino user literally named `frank` became frank."""
    mapped = make_app(trino=TrinoSettings(catalogs=("lakehouse",), users={"b.smith": "bob"}))
    read = table("hr", "payroll", ["salary"])
    allow = "/v1/trino/allow"
    assert call(mapped, "POST", allow, doc(ctx("frank"), "SelectFromColumns", read)).json() == {"result": False}
    assert call(mapped, "POST", allow, doc(ctx("b.smith"), "ExecuteQuery")).json() == {"result": True}
    opened = make_app(trino=TrinoSettings(catalogs=("lakehouse",), users={"b.smith": "bob"},
                                          unmapped_users="passthrough"))
    assert call(opened, "POST", allow, doc(ctx("frank"), "SelectFromColumns", read)).json() == {"result": True}


def test_the_unmapped_options_are_validated() -> None:
    with pytest.raises(ValueError, match="unmapped_groups"):
        TrinoSettings.from_mapping({"unmapped_groups": "yes"})
    s = TrinoSettings.from_mapping({"users": {"a": "b"}, "unmapped_users": "passthrough"})
    assert s.unmapped_users == "passthrough" and s.unmapped_groups == "drop"


# ---------------------------------------------------------------- Trino batch limits and the decision log


def _catalogs(n: int) -> dict[str, Any]:
    return doc(CTX_BOB, "FilterCatalogs", filter_resources=[{"catalog": {"name": "lakehouse"}}] * n)


def test_a_trino_batch_over_max_batch_is_refused() -> None:
    small = make_app(max_batch=10)
    r = call(small, "POST", "/v1/trino/batch", _catalogs(11))
    assert r.status == 413 and "max_batch" in r.json()["error"] and "result" not in r.json()
    assert call(small, "POST", "/v1/trino/batch", _catalogs(10)).json() == {"result": list(range(10))}
    masks = doc(CTX_BOB, "GetColumnMask", filter_resources=[column("sales", "orders", "margin")] * 11)
    assert call(small, "POST", "/v1/trino/batch-column-masks", masks).status == 413
    cols = table("sales", "orders", [f"c{i}" for i in range(11)])
    assert call(small, "POST", "/v1/trino/batch", doc(CTX_BOB, "FilterColumns", filter_resources=[cols])).status == 413
    assert call(small, "POST", "/v1/trino/allow", doc(CTX_BOB, "SelectFromColumns", cols)).status == 413


def test_a_trino_batch_past_the_timeout_fails_closed() -> None:
    slow = make_app(batch_timeout=-1.0)
    for path, body in [("/v1/trino/batch", _catalogs(3)),
                       ("/v1/trino/batch-column-masks",
                        doc(CTX_BOB, "GetColumnMask", filter_resources=[column("sales", "orders", "margin")])),
                       ("/v1/trino/allow", doc(CTX_BOB, "SelectFromColumns", table("sales", "orders", ["amount"])))]:
        r = call(slow, "POST", path, body)
        assert r.status == 503 and "result" not in r.json(), path


def test_one_large_filter_request_writes_one_bounded_log_line(tmp_path: Path) -> None:
    """Attack: one 140 KiB FilterCatalogs request wrote 16,000 decision-log lines."""
    dlog = DecisionLog(tmp_path / "d.jsonl")
    holder = ReloadingEngine.from_config(load_config(ROOT / "policyengine.yaml"), decision_log=dlog)
    served = App(holder, TrinoSettings(catalogs=("lakehouse",)), ServeOptions(max_batch=20_000))
    body = orjson.dumps(_catalogs(4400))
    assert len(body) >= 140 * 1024
    assert call(served, "POST", "/v1/trino/batch", raw=body).status == 200
    cols = table("sales", "orders", [f"c{i}" for i in range(3000)] + ["amount"])
    assert call(served, "POST", "/v1/trino/batch", doc(CTX_BOB, "FilterColumns", filter_resources=[cols])).status == 200
    tables = [table("sales", "orders"), table("hr", "payroll")] * 2000
    assert call(served, "POST", "/v1/trino/batch", doc(CTX_BOB, "FilterTables", filter_resources=tables)).status == 200
    dlog.close()
    lines = (tmp_path / "d.jsonl").read_bytes().splitlines()
    assert len(lines) == 3
    for line in lines:
        assert len(line) < 16_384
        entry = orjson.loads(line)
        assert entry["source"] == "trino" and entry["consumer"] == "bob"
    first, second, third = (orjson.loads(x) for x in lines)
    assert first["operation"] == "FilterCatalogs" and first["items"] == 4400 and first["allowed"] == 4400
    assert second["operation"] == "FilterColumns" and second["columns_omitted"] > 0
    assert third["items"] == 4000 and third["allowed"] == 2000
    assert {d["product"] for d in third["decisions"]} == {"sales.orders", "hr.payroll"}


# ---------------------------------------------------------------- helpers


def _config(tmp: Path, serve: str) -> Path:
    path = tmp / "policyengine.yaml"
    path.write_text(f"policies: {ROOT / 'policies'}\ncatalog: {ROOT / 'examples/mesh/products'}\n"
                    f"consumers: {ROOT / 'examples/mesh/consumers.yaml'}\n{serve}", encoding="utf-8")
    return path
