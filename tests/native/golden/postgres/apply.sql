-- policyengine native objects for postgres: run in one transaction
BEGIN;
SELECT pg_advisory_xact_lock(hashtext('policyengine native postgres'));
SELECT set_config('search_path', 'pg_catalog', true);
SELECT set_config('TimeZone', 'UTC', true);
SELECT set_config('DateStyle', 'ISO, MDY', true);
SELECT set_config('IntervalStyle', 'postgres', true);
SELECT set_config('extra_float_digits', '1', true);
-- + role pe_alice  (consumer alice)
CREATE ROLE "pe_alice" NOLOGIN;
COMMENT ON ROLE "pe_alice" IS 'managed by policyengine';
-- + role pe_bob  (consumer bob)
CREATE ROLE "pe_bob" NOLOGIN;
COMMENT ON ROLE "pe_bob" IS 'managed by policyengine';
-- + role pe_carol  (consumer carol)
CREATE ROLE "pe_carol" NOLOGIN;
COMMENT ON ROLE "pe_carol" IS 'managed by policyengine';
-- + role pe_dave  (consumer dave)
CREATE ROLE "pe_dave" NOLOGIN;
COMMENT ON ROLE "pe_dave" IS 'managed by policyengine';
-- + role pe_erin  (consumer erin)
CREATE ROLE "pe_erin" NOLOGIN;
COMMENT ON ROLE "pe_erin" IS 'managed by policyengine';
-- + role pe_frank  (consumer frank)
CREATE ROLE "pe_frank" NOLOGIN;
COMMENT ON ROLE "pe_frank" IS 'managed by policyengine';
-- + role pe_judy  (consumer judy)
CREATE ROLE "pe_judy" NOLOGIN;
COMMENT ON ROLE "pe_judy" IS 'managed by policyengine';
-- + hmac key "policyengine_keys"."hmac_pads"  (for keyed hash masks)
CREATE SCHEMA IF NOT EXISTS "policyengine_keys";
COMMENT ON SCHEMA "policyengine_keys" IS 'managed by policyengine key';
REVOKE ALL ON SCHEMA "policyengine_keys" FROM PUBLIC;
CREATE TABLE "policyengine_keys"."hmac_pads" (ipad bytea NOT NULL, opad bytea NOT NULL);
REVOKE ALL ON "policyengine_keys"."hmac_pads" FROM PUBLIC;
DELETE FROM "policyengine_keys"."hmac_pads";
-- the HMAC pads are loaded by `policyengine apply` only (never written to files)
-- + schema pe_alice  (views of pe_alice)
CREATE SCHEMA "pe_alice";
COMMENT ON SCHEMA "pe_alice" IS 'managed by policyengine';
REVOKE ALL ON SCHEMA "pe_alice" FROM PUBLIC;
GRANT USAGE ON SCHEMA "pe_alice" TO "pe_alice";
-- + schema pe_bob  (views of pe_bob)
CREATE SCHEMA "pe_bob";
COMMENT ON SCHEMA "pe_bob" IS 'managed by policyengine';
REVOKE ALL ON SCHEMA "pe_bob" FROM PUBLIC;
GRANT USAGE ON SCHEMA "pe_bob" TO "pe_bob";
-- + schema pe_carol  (views of pe_carol)
CREATE SCHEMA "pe_carol";
COMMENT ON SCHEMA "pe_carol" IS 'managed by policyengine';
REVOKE ALL ON SCHEMA "pe_carol" FROM PUBLIC;
GRANT USAGE ON SCHEMA "pe_carol" TO "pe_carol";
-- + schema pe_dave  (views of pe_dave)
CREATE SCHEMA "pe_dave";
COMMENT ON SCHEMA "pe_dave" IS 'managed by policyengine';
REVOKE ALL ON SCHEMA "pe_dave" FROM PUBLIC;
GRANT USAGE ON SCHEMA "pe_dave" TO "pe_dave";
-- + schema pe_erin  (views of pe_erin)
CREATE SCHEMA "pe_erin";
COMMENT ON SCHEMA "pe_erin" IS 'managed by policyengine';
REVOKE ALL ON SCHEMA "pe_erin" FROM PUBLIC;
GRANT USAGE ON SCHEMA "pe_erin" TO "pe_erin";
-- + schema pe_frank  (views of pe_frank)
CREATE SCHEMA "pe_frank";
COMMENT ON SCHEMA "pe_frank" IS 'managed by policyengine';
REVOKE ALL ON SCHEMA "pe_frank" FROM PUBLIC;
GRANT USAGE ON SCHEMA "pe_frank" TO "pe_frank";
-- + schema pe_judy  (views of pe_judy)
CREATE SCHEMA "pe_judy";
COMMENT ON SCHEMA "pe_judy" IS 'managed by policyengine';
REVOKE ALL ON SCHEMA "pe_judy" FROM PUBLIC;
GRANT USAGE ON SCHEMA "pe_judy" TO "pe_judy";
-- + view pe_alice.marketing.campaign_events  (689 chars of SQL)
CREATE VIEW "pe_alice"."marketing.campaign_events" WITH (security_barrier = true) AS SELECT "pe_src"."event_id" AS "event_id", "pe_src"."campaign" AS "campaign", CASE WHEN "pe_src"."email" IS NULL THEN NULL ELSE '***' || COALESCE(SUBSTRING(CAST("pe_src"."email" AS VARCHAR), '@[^@]*$'), '') END AS "email", ENCODE(SHA256((SELECT opad FROM "policyengine_keys"."hmac_pads") || SHA256((SELECT ipad FROM "policyengine_keys"."hmac_pads") || CONVERT_TO(CAST("pe_src"."ip_address" AS VARCHAR), 'UTF8'))), 'hex') AS "ip_address", "pe_src"."user_agent" AS "user_agent", "pe_src"."clicked_at" AS "clicked_at", "pe_src"."country" AS "country", "pe_src"."region" AS "region", "pe_src"."consent" AS "consent" FROM "marketing"."campaign_events" AS "pe_src" WHERE "pe_src"."consent" = TRUE;
DO $pe$ BEGIN PERFORM set_config('search_path', 'pg_catalog', true); EXECUTE format('COMMENT ON VIEW %s IS %L', '"pe_alice"."marketing.campaign_events"'::regclass, 'managed by policyengine policy=ade96ce9b0cddf0d8598ac0eb143e8e8feed0d2b480d8b5a364a850ac8f87e7e viewdef=' || encode(sha256(convert_to(pg_get_viewdef('"pe_alice"."marketing.campaign_events"'::regclass), 'UTF8')), 'hex')); END $pe$;
REVOKE ALL ON "pe_alice"."marketing.campaign_events" FROM PUBLIC;
GRANT SELECT ON "pe_alice"."marketing.campaign_events" TO "pe_alice";
-- + view pe_bob.marketing.leads  (232 chars of SQL)
CREATE VIEW "pe_bob"."marketing.leads" WITH (security_barrier = true) AS SELECT "pe_src"."lead_id" AS "lead_id", "pe_src"."company" AS "company", "pe_src"."country" AS "country", "pe_src"."region" AS "region", "pe_src"."score" AS "score", "pe_src"."source" AS "source" FROM "marketing"."leads" AS "pe_src";
DO $pe$ BEGIN PERFORM set_config('search_path', 'pg_catalog', true); EXECUTE format('COMMENT ON VIEW %s IS %L', '"pe_bob"."marketing.leads"'::regclass, 'managed by policyengine policy=1cbca26cf1beda810f0d7fec74bfa1f3c9cf83b5370d684652bfc6f6ce1b4d71 viewdef=' || encode(sha256(convert_to(pg_get_viewdef('"pe_bob"."marketing.leads"'::regclass), 'UTF8')), 'hex')); END $pe$;
REVOKE ALL ON "pe_bob"."marketing.leads" FROM PUBLIC;
GRANT SELECT ON "pe_bob"."marketing.leads" TO "pe_bob";
-- + view pe_bob.sales.customers  (1419 chars of SQL)
CREATE VIEW "pe_bob"."sales.customers" WITH (security_barrier = true) AS SELECT "pe_src"."customer_id" AS "customer_id", ENCODE(SHA256((SELECT opad FROM "policyengine_keys"."hmac_pads") || SHA256((SELECT ipad FROM "policyengine_keys"."hmac_pads") || CONVERT_TO(CAST("pe_src"."full_name" AS VARCHAR), 'UTF8'))), 'hex') AS "full_name", CASE WHEN "pe_src"."email" IS NULL THEN NULL ELSE '***' || COALESCE(SUBSTRING(CAST("pe_src"."email" AS VARCHAR), '@[^@]*$'), '') END AS "email", CASE WHEN "pe_src"."phone" IS NULL THEN NULL ELSE CASE WHEN LENGTH(CAST("pe_src"."phone" AS VARCHAR)) <= 5 THEN LPAD('', CAST(LENGTH(CAST("pe_src"."phone" AS VARCHAR)) AS INT), '*') ELSE SUBSTRING(CAST("pe_src"."phone" AS VARCHAR) FROM 1 FOR 3) || LPAD('', CAST(LENGTH(CAST("pe_src"."phone" AS VARCHAR)) - 5 AS INT), '*') || SUBSTRING(CAST("pe_src"."phone" AS VARCHAR) FROM LENGTH(CAST("pe_src"."phone" AS VARCHAR)) - 2 + 1) END END AS "phone", CASE WHEN "pe_src"."street_address" IS NULL THEN NULL ELSE '***' END AS "street_address", CASE WHEN "pe_src"."city" IS NULL THEN NULL ELSE '***' END AS "city", CASE WHEN "pe_src"."postcode" IS NULL THEN NULL ELSE '***' END AS "postcode", "pe_src"."country" AS "country", "pe_src"."region" AS "region", CAST(DATE_TRUNC('YEAR', "pe_src"."birth_date") AS DATE) AS "birth_date", "pe_src"."loyalty_tier" AS "loyalty_tier", "pe_src"."signup_ts" AS "signup_ts", "pe_src"."email_verified" AS "email_verified" FROM "sales"."customers" AS "pe_src" WHERE "pe_src"."region" = 'uk';
DO $pe$ BEGIN PERFORM set_config('search_path', 'pg_catalog', true); EXECUTE format('COMMENT ON VIEW %s IS %L', '"pe_bob"."sales.customers"'::regclass, 'managed by policyengine policy=51b0da4d20f8de6b8c92bcc7dae267dc6193847db764372877715a74d8d170e6 viewdef=' || encode(sha256(convert_to(pg_get_viewdef('"pe_bob"."sales.customers"'::regclass), 'UTF8')), 'hex')); END $pe$;
REVOKE ALL ON "pe_bob"."sales.customers" FROM PUBLIC;
GRANT SELECT ON "pe_bob"."sales.customers" TO "pe_bob";
-- + view pe_bob.sales.orders  (1384 chars of SQL)
CREATE VIEW "pe_bob"."sales.orders" WITH (security_barrier = true) AS SELECT "pe_src"."order_id" AS "order_id", "pe_src"."customer_id" AS "customer_id", CASE WHEN "pe_src"."customer_email" IS NULL THEN NULL ELSE '***' || COALESCE(SUBSTRING(CAST("pe_src"."customer_email" AS VARCHAR), '@[^@]*$'), '') END AS "customer_email", ENCODE(SHA256((SELECT opad FROM "policyengine_keys"."hmac_pads") || SHA256((SELECT ipad FROM "policyengine_keys"."hmac_pads") || CONVERT_TO(CAST("pe_src"."customer_name" AS VARCHAR), 'UTF8'))), 'hex') AS "customer_name", CASE WHEN "pe_src"."card_number" IS NULL THEN NULL ELSE CASE WHEN LENGTH(CAST("pe_src"."card_number" AS VARCHAR)) <= 4 THEN LPAD('', CAST(LENGTH(CAST("pe_src"."card_number" AS VARCHAR)) AS INT), '*') ELSE LPAD('', CAST(LENGTH(CAST("pe_src"."card_number" AS VARCHAR)) - 4 AS INT), '*') || SUBSTRING(CAST("pe_src"."card_number" AS VARCHAR) FROM LENGTH(CAST("pe_src"."card_number" AS VARCHAR)) - 4 + 1) END END AS "card_number", "pe_src"."amount" AS "amount", "pe_src"."currency" AS "currency", "pe_src"."region" AS "region", "pe_src"."status" AS "status", "pe_src"."created_at" AS "created_at", "pe_src"."shipped_on" AS "shipped_on", ENCODE(SHA256((SELECT opad FROM "policyengine_keys"."hmac_pads") || SHA256((SELECT ipad FROM "policyengine_keys"."hmac_pads") || CONVERT_TO(CAST("pe_src"."client_ip" AS VARCHAR), 'UTF8'))), 'hex') AS "client_ip" FROM "sales"."orders" AS "pe_src" WHERE "pe_src"."region" = 'uk';
DO $pe$ BEGIN PERFORM set_config('search_path', 'pg_catalog', true); EXECUTE format('COMMENT ON VIEW %s IS %L', '"pe_bob"."sales.orders"'::regclass, 'managed by policyengine policy=1020acb813ad7314b2889f1b4dcc158ee5305f2b74180b5014a9fdea2cf705c0 viewdef=' || encode(sha256(convert_to(pg_get_viewdef('"pe_bob"."sales.orders"'::regclass), 'UTF8')), 'hex')); END $pe$;
REVOKE ALL ON "pe_bob"."sales.orders" FROM PUBLIC;
GRANT SELECT ON "pe_bob"."sales.orders" TO "pe_bob";
-- + view pe_carol.marketing.leads  (232 chars of SQL)
CREATE VIEW "pe_carol"."marketing.leads" WITH (security_barrier = true) AS SELECT "pe_src"."lead_id" AS "lead_id", "pe_src"."company" AS "company", "pe_src"."country" AS "country", "pe_src"."region" AS "region", "pe_src"."score" AS "score", "pe_src"."source" AS "source" FROM "marketing"."leads" AS "pe_src";
DO $pe$ BEGIN PERFORM set_config('search_path', 'pg_catalog', true); EXECUTE format('COMMENT ON VIEW %s IS %L', '"pe_carol"."marketing.leads"'::regclass, 'managed by policyengine policy=1cbca26cf1beda810f0d7fec74bfa1f3c9cf83b5370d684652bfc6f6ce1b4d71 viewdef=' || encode(sha256(convert_to(pg_get_viewdef('"pe_carol"."marketing.leads"'::regclass), 'UTF8')), 'hex')); END $pe$;
REVOKE ALL ON "pe_carol"."marketing.leads" FROM PUBLIC;
GRANT SELECT ON "pe_carol"."marketing.leads" TO "pe_carol";
-- + view pe_carol.sales.customers  (1419 chars of SQL)
CREATE VIEW "pe_carol"."sales.customers" WITH (security_barrier = true) AS SELECT "pe_src"."customer_id" AS "customer_id", ENCODE(SHA256((SELECT opad FROM "policyengine_keys"."hmac_pads") || SHA256((SELECT ipad FROM "policyengine_keys"."hmac_pads") || CONVERT_TO(CAST("pe_src"."full_name" AS VARCHAR), 'UTF8'))), 'hex') AS "full_name", CASE WHEN "pe_src"."email" IS NULL THEN NULL ELSE '***' || COALESCE(SUBSTRING(CAST("pe_src"."email" AS VARCHAR), '@[^@]*$'), '') END AS "email", CASE WHEN "pe_src"."phone" IS NULL THEN NULL ELSE CASE WHEN LENGTH(CAST("pe_src"."phone" AS VARCHAR)) <= 5 THEN LPAD('', CAST(LENGTH(CAST("pe_src"."phone" AS VARCHAR)) AS INT), '*') ELSE SUBSTRING(CAST("pe_src"."phone" AS VARCHAR) FROM 1 FOR 3) || LPAD('', CAST(LENGTH(CAST("pe_src"."phone" AS VARCHAR)) - 5 AS INT), '*') || SUBSTRING(CAST("pe_src"."phone" AS VARCHAR) FROM LENGTH(CAST("pe_src"."phone" AS VARCHAR)) - 2 + 1) END END AS "phone", CASE WHEN "pe_src"."street_address" IS NULL THEN NULL ELSE '***' END AS "street_address", CASE WHEN "pe_src"."city" IS NULL THEN NULL ELSE '***' END AS "city", CASE WHEN "pe_src"."postcode" IS NULL THEN NULL ELSE '***' END AS "postcode", "pe_src"."country" AS "country", "pe_src"."region" AS "region", CAST(DATE_TRUNC('YEAR', "pe_src"."birth_date") AS DATE) AS "birth_date", "pe_src"."loyalty_tier" AS "loyalty_tier", "pe_src"."signup_ts" AS "signup_ts", "pe_src"."email_verified" AS "email_verified" FROM "sales"."customers" AS "pe_src" WHERE "pe_src"."region" = 'us';
DO $pe$ BEGIN PERFORM set_config('search_path', 'pg_catalog', true); EXECUTE format('COMMENT ON VIEW %s IS %L', '"pe_carol"."sales.customers"'::regclass, 'managed by policyengine policy=31596fb384e634f614e9593757a7bf20fa36dad11767e72e6367e58bf4acaf38 viewdef=' || encode(sha256(convert_to(pg_get_viewdef('"pe_carol"."sales.customers"'::regclass), 'UTF8')), 'hex')); END $pe$;
REVOKE ALL ON "pe_carol"."sales.customers" FROM PUBLIC;
GRANT SELECT ON "pe_carol"."sales.customers" TO "pe_carol";
-- + view pe_carol.sales.orders  (1415 chars of SQL)
CREATE VIEW "pe_carol"."sales.orders" WITH (security_barrier = true) AS SELECT "pe_src"."order_id" AS "order_id", "pe_src"."customer_id" AS "customer_id", CASE WHEN "pe_src"."customer_email" IS NULL THEN NULL ELSE '***' || COALESCE(SUBSTRING(CAST("pe_src"."customer_email" AS VARCHAR), '@[^@]*$'), '') END AS "customer_email", ENCODE(SHA256((SELECT opad FROM "policyengine_keys"."hmac_pads") || SHA256((SELECT ipad FROM "policyengine_keys"."hmac_pads") || CONVERT_TO(CAST("pe_src"."customer_name" AS VARCHAR), 'UTF8'))), 'hex') AS "customer_name", CASE WHEN "pe_src"."card_number" IS NULL THEN NULL ELSE CASE WHEN LENGTH(CAST("pe_src"."card_number" AS VARCHAR)) <= 4 THEN LPAD('', CAST(LENGTH(CAST("pe_src"."card_number" AS VARCHAR)) AS INT), '*') ELSE LPAD('', CAST(LENGTH(CAST("pe_src"."card_number" AS VARCHAR)) - 4 AS INT), '*') || SUBSTRING(CAST("pe_src"."card_number" AS VARCHAR) FROM LENGTH(CAST("pe_src"."card_number" AS VARCHAR)) - 4 + 1) END END AS "card_number", "pe_src"."amount" AS "amount", "pe_src"."margin" AS "margin", "pe_src"."currency" AS "currency", "pe_src"."region" AS "region", "pe_src"."status" AS "status", "pe_src"."created_at" AS "created_at", "pe_src"."shipped_on" AS "shipped_on", ENCODE(SHA256((SELECT opad FROM "policyengine_keys"."hmac_pads") || SHA256((SELECT ipad FROM "policyengine_keys"."hmac_pads") || CONVERT_TO(CAST("pe_src"."client_ip" AS VARCHAR), 'UTF8'))), 'hex') AS "client_ip" FROM "sales"."orders" AS "pe_src" WHERE "pe_src"."region" = 'us';
DO $pe$ BEGIN PERFORM set_config('search_path', 'pg_catalog', true); EXECUTE format('COMMENT ON VIEW %s IS %L', '"pe_carol"."sales.orders"'::regclass, 'managed by policyengine policy=47324d1218deeec8ada713a3c85b6096a2d2f084dc133062d6bb245f726e3a2d viewdef=' || encode(sha256(convert_to(pg_get_viewdef('"pe_carol"."sales.orders"'::regclass), 'UTF8')), 'hex')); END $pe$;
REVOKE ALL ON "pe_carol"."sales.orders" FROM PUBLIC;
GRANT SELECT ON "pe_carol"."sales.orders" TO "pe_carol";
-- + view pe_dave.sales.orders  (210 chars of SQL)
CREATE VIEW "pe_dave"."sales.orders" WITH (security_barrier = true) AS SELECT "pe_src"."order_id" AS "order_id", "pe_src"."amount" AS "amount", "pe_src"."currency" AS "currency", "pe_src"."region" AS "region", "pe_src"."created_at" AS "created_at" FROM "sales"."orders" AS "pe_src";
DO $pe$ BEGIN PERFORM set_config('search_path', 'pg_catalog', true); EXECUTE format('COMMENT ON VIEW %s IS %L', '"pe_dave"."sales.orders"'::regclass, 'managed by policyengine policy=60489ac591598dea6f4fe5bf04400d620ec01f83d9661fbc71002e96aed6eb74 viewdef=' || encode(sha256(convert_to(pg_get_viewdef('"pe_dave"."sales.orders"'::regclass), 'UTF8')), 'hex')); END $pe$;
REVOKE ALL ON "pe_dave"."sales.orders" FROM PUBLIC;
GRANT SELECT ON "pe_dave"."sales.orders" TO "pe_dave";
-- + view pe_erin.hr.employees  (1400 chars of SQL)
CREATE VIEW "pe_erin"."hr.employees" WITH (security_barrier = true) AS SELECT "pe_src"."employee_id" AS "employee_id", ENCODE(SHA256((SELECT opad FROM "policyengine_keys"."hmac_pads") || SHA256((SELECT ipad FROM "policyengine_keys"."hmac_pads") || CONVERT_TO(CAST("pe_src"."first_name" AS VARCHAR), 'UTF8'))), 'hex') AS "first_name", ENCODE(SHA256((SELECT opad FROM "policyengine_keys"."hmac_pads") || SHA256((SELECT ipad FROM "policyengine_keys"."hmac_pads") || CONVERT_TO(CAST("pe_src"."last_name" AS VARCHAR), 'UTF8'))), 'hex') AS "last_name", CASE WHEN "pe_src"."work_email" IS NULL THEN NULL ELSE '***' || COALESCE(SUBSTRING(CAST("pe_src"."work_email" AS VARCHAR), '@[^@]*$'), '') END AS "work_email", CASE WHEN "pe_src"."phone" IS NULL THEN NULL ELSE CASE WHEN LENGTH(CAST("pe_src"."phone" AS VARCHAR)) <= 5 THEN LPAD('', CAST(LENGTH(CAST("pe_src"."phone" AS VARCHAR)) AS INT), '*') ELSE SUBSTRING(CAST("pe_src"."phone" AS VARCHAR) FROM 1 FOR 3) || LPAD('', CAST(LENGTH(CAST("pe_src"."phone" AS VARCHAR)) - 5 AS INT), '*') || SUBSTRING(CAST("pe_src"."phone" AS VARCHAR) FROM LENGTH(CAST("pe_src"."phone" AS VARCHAR)) - 2 + 1) END END AS "phone", CAST(DATE_TRUNC('YEAR', "pe_src"."birth_date") AS DATE) AS "birth_date", "pe_src"."department" AS "department", "pe_src"."job_title" AS "job_title", "pe_src"."region" AS "region", "pe_src"."hire_date" AS "hire_date", "pe_src"."manager_id" AS "manager_id" FROM "hr"."employees" AS "pe_src" WHERE "pe_src"."region" = 'eu';
DO $pe$ BEGIN PERFORM set_config('search_path', 'pg_catalog', true); EXECUTE format('COMMENT ON VIEW %s IS %L', '"pe_erin"."hr.employees"'::regclass, 'managed by policyengine policy=5d24ef663145408ea5cc24615a12090eab81b1344ac2e75950368d69945d81c5 viewdef=' || encode(sha256(convert_to(pg_get_viewdef('"pe_erin"."hr.employees"'::regclass), 'UTF8')), 'hex')); END $pe$;
REVOKE ALL ON "pe_erin"."hr.employees" FROM PUBLIC;
GRANT SELECT ON "pe_erin"."hr.employees" TO "pe_erin";
-- + view pe_frank.hr.employees  (487 chars of SQL)
CREATE VIEW "pe_frank"."hr.employees" WITH (security_barrier = true) AS SELECT "pe_src"."employee_id" AS "employee_id", "pe_src"."first_name" AS "first_name", "pe_src"."last_name" AS "last_name", "pe_src"."work_email" AS "work_email", "pe_src"."phone" AS "phone", "pe_src"."national_id" AS "national_id", "pe_src"."birth_date" AS "birth_date", "pe_src"."department" AS "department", "pe_src"."job_title" AS "job_title", "pe_src"."region" AS "region", "pe_src"."hire_date" AS "hire_date", "pe_src"."manager_id" AS "manager_id" FROM "hr"."employees" AS "pe_src";
DO $pe$ BEGIN PERFORM set_config('search_path', 'pg_catalog', true); EXECUTE format('COMMENT ON VIEW %s IS %L', '"pe_frank"."hr.employees"'::regclass, 'managed by policyengine policy=4624a8e8aeb647148955b95d24d334d8ba969fffb23f1353051966c7368e1809 viewdef=' || encode(sha256(convert_to(pg_get_viewdef('"pe_frank"."hr.employees"'::regclass), 'UTF8')), 'hex')); END $pe$;
REVOKE ALL ON "pe_frank"."hr.employees" FROM PUBLIC;
GRANT SELECT ON "pe_frank"."hr.employees" TO "pe_frank";
-- + view pe_frank.hr.payroll  (266 chars of SQL)
CREATE VIEW "pe_frank"."hr.payroll" WITH (security_barrier = true) AS SELECT "pe_src"."employee_id" AS "employee_id", "pe_src"."iban" AS "iban", "pe_src"."salary" AS "salary", "pe_src"."bonus" AS "bonus", "pe_src"."currency" AS "currency", "pe_src"."pay_date" AS "pay_date", "pe_src"."region" AS "region" FROM "hr"."payroll" AS "pe_src";
DO $pe$ BEGIN PERFORM set_config('search_path', 'pg_catalog', true); EXECUTE format('COMMENT ON VIEW %s IS %L', '"pe_frank"."hr.payroll"'::regclass, 'managed by policyengine policy=07c301fc125326b0b9aea275905dcfee73e0cf8efa4e38a9f811cad1c3add9b5 viewdef=' || encode(sha256(convert_to(pg_get_viewdef('"pe_frank"."hr.payroll"'::regclass), 'UTF8')), 'hex')); END $pe$;
REVOKE ALL ON "pe_frank"."hr.payroll" FROM PUBLIC;
GRANT SELECT ON "pe_frank"."hr.payroll" TO "pe_frank";
-- + view pe_judy.marketing.leads  (232 chars of SQL)
CREATE VIEW "pe_judy"."marketing.leads" WITH (security_barrier = true) AS SELECT "pe_src"."lead_id" AS "lead_id", "pe_src"."company" AS "company", "pe_src"."country" AS "country", "pe_src"."region" AS "region", "pe_src"."score" AS "score", "pe_src"."source" AS "source" FROM "marketing"."leads" AS "pe_src";
DO $pe$ BEGIN PERFORM set_config('search_path', 'pg_catalog', true); EXECUTE format('COMMENT ON VIEW %s IS %L', '"pe_judy"."marketing.leads"'::regclass, 'managed by policyengine policy=1cbca26cf1beda810f0d7fec74bfa1f3c9cf83b5370d684652bfc6f6ce1b4d71 viewdef=' || encode(sha256(convert_to(pg_get_viewdef('"pe_judy"."marketing.leads"'::regclass), 'UTF8')), 'hex')); END $pe$;
REVOKE ALL ON "pe_judy"."marketing.leads" FROM PUBLIC;
GRANT SELECT ON "pe_judy"."marketing.leads" TO "pe_judy";
-- + view pe_judy.sales.customers  (1400 chars of SQL)
CREATE VIEW "pe_judy"."sales.customers" WITH (security_barrier = true) AS SELECT "pe_src"."customer_id" AS "customer_id", ENCODE(SHA256((SELECT opad FROM "policyengine_keys"."hmac_pads") || SHA256((SELECT ipad FROM "policyengine_keys"."hmac_pads") || CONVERT_TO(CAST("pe_src"."full_name" AS VARCHAR), 'UTF8'))), 'hex') AS "full_name", CASE WHEN "pe_src"."email" IS NULL THEN NULL ELSE '***' || COALESCE(SUBSTRING(CAST("pe_src"."email" AS VARCHAR), '@[^@]*$'), '') END AS "email", CASE WHEN "pe_src"."phone" IS NULL THEN NULL ELSE CASE WHEN LENGTH(CAST("pe_src"."phone" AS VARCHAR)) <= 5 THEN LPAD('', CAST(LENGTH(CAST("pe_src"."phone" AS VARCHAR)) AS INT), '*') ELSE SUBSTRING(CAST("pe_src"."phone" AS VARCHAR) FROM 1 FOR 3) || LPAD('', CAST(LENGTH(CAST("pe_src"."phone" AS VARCHAR)) - 5 AS INT), '*') || SUBSTRING(CAST("pe_src"."phone" AS VARCHAR) FROM LENGTH(CAST("pe_src"."phone" AS VARCHAR)) - 2 + 1) END END AS "phone", CASE WHEN "pe_src"."street_address" IS NULL THEN NULL ELSE '***' END AS "street_address", CASE WHEN "pe_src"."city" IS NULL THEN NULL ELSE '***' END AS "city", CASE WHEN "pe_src"."postcode" IS NULL THEN NULL ELSE '***' END AS "postcode", "pe_src"."country" AS "country", "pe_src"."region" AS "region", CAST(DATE_TRUNC('YEAR', "pe_src"."birth_date") AS DATE) AS "birth_date", "pe_src"."loyalty_tier" AS "loyalty_tier", "pe_src"."signup_ts" AS "signup_ts", "pe_src"."email_verified" AS "email_verified" FROM "sales"."customers" AS "pe_src" WHERE FALSE;
DO $pe$ BEGIN PERFORM set_config('search_path', 'pg_catalog', true); EXECUTE format('COMMENT ON VIEW %s IS %L', '"pe_judy"."sales.customers"'::regclass, 'managed by policyengine policy=36b7cc515ac54453ff15ec5acaa4bf1e3bde7a73d2bc08a6d0d90c0d8f51b37a viewdef=' || encode(sha256(convert_to(pg_get_viewdef('"pe_judy"."sales.customers"'::regclass), 'UTF8')), 'hex')); END $pe$;
REVOKE ALL ON "pe_judy"."sales.customers" FROM PUBLIC;
GRANT SELECT ON "pe_judy"."sales.customers" TO "pe_judy";
-- + view pe_judy.sales.orders  (1365 chars of SQL)
CREATE VIEW "pe_judy"."sales.orders" WITH (security_barrier = true) AS SELECT "pe_src"."order_id" AS "order_id", "pe_src"."customer_id" AS "customer_id", CASE WHEN "pe_src"."customer_email" IS NULL THEN NULL ELSE '***' || COALESCE(SUBSTRING(CAST("pe_src"."customer_email" AS VARCHAR), '@[^@]*$'), '') END AS "customer_email", ENCODE(SHA256((SELECT opad FROM "policyengine_keys"."hmac_pads") || SHA256((SELECT ipad FROM "policyengine_keys"."hmac_pads") || CONVERT_TO(CAST("pe_src"."customer_name" AS VARCHAR), 'UTF8'))), 'hex') AS "customer_name", CASE WHEN "pe_src"."card_number" IS NULL THEN NULL ELSE CASE WHEN LENGTH(CAST("pe_src"."card_number" AS VARCHAR)) <= 4 THEN LPAD('', CAST(LENGTH(CAST("pe_src"."card_number" AS VARCHAR)) AS INT), '*') ELSE LPAD('', CAST(LENGTH(CAST("pe_src"."card_number" AS VARCHAR)) - 4 AS INT), '*') || SUBSTRING(CAST("pe_src"."card_number" AS VARCHAR) FROM LENGTH(CAST("pe_src"."card_number" AS VARCHAR)) - 4 + 1) END END AS "card_number", "pe_src"."amount" AS "amount", "pe_src"."currency" AS "currency", "pe_src"."region" AS "region", "pe_src"."status" AS "status", "pe_src"."created_at" AS "created_at", "pe_src"."shipped_on" AS "shipped_on", ENCODE(SHA256((SELECT opad FROM "policyengine_keys"."hmac_pads") || SHA256((SELECT ipad FROM "policyengine_keys"."hmac_pads") || CONVERT_TO(CAST("pe_src"."client_ip" AS VARCHAR), 'UTF8'))), 'hex') AS "client_ip" FROM "sales"."orders" AS "pe_src" WHERE FALSE;
DO $pe$ BEGIN PERFORM set_config('search_path', 'pg_catalog', true); EXECUTE format('COMMENT ON VIEW %s IS %L', '"pe_judy"."sales.orders"'::regclass, 'managed by policyengine policy=0a87211ce69ee82964f66e90fd62cdbd743f00be957828288d782afb854f08e7 viewdef=' || encode(sha256(convert_to(pg_get_viewdef('"pe_judy"."sales.orders"'::regclass), 'UTF8')), 'hex')); END $pe$;
REVOKE ALL ON "pe_judy"."sales.orders" FROM PUBLIC;
GRANT SELECT ON "pe_judy"."sales.orders" TO "pe_judy";
COMMIT;
