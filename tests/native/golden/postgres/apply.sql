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
COMMENT ON ROLE "pe_alice" IS 'managed by policyengine prefix=70655f';
-- + role pe_bob  (consumer bob)
CREATE ROLE "pe_bob" NOLOGIN;
COMMENT ON ROLE "pe_bob" IS 'managed by policyengine prefix=70655f';
-- + role pe_carol  (consumer carol)
CREATE ROLE "pe_carol" NOLOGIN;
COMMENT ON ROLE "pe_carol" IS 'managed by policyengine prefix=70655f';
-- + role pe_dave  (consumer dave)
CREATE ROLE "pe_dave" NOLOGIN;
COMMENT ON ROLE "pe_dave" IS 'managed by policyengine prefix=70655f';
-- + role pe_erin  (consumer erin)
CREATE ROLE "pe_erin" NOLOGIN;
COMMENT ON ROLE "pe_erin" IS 'managed by policyengine prefix=70655f';
-- + role pe_frank  (consumer frank)
CREATE ROLE "pe_frank" NOLOGIN;
COMMENT ON ROLE "pe_frank" IS 'managed by policyengine prefix=70655f';
-- + role pe_judy  (consumer judy)
CREATE ROLE "pe_judy" NOLOGIN;
COMMENT ON ROLE "pe_judy" IS 'managed by policyengine prefix=70655f';
-- + role pe_policyengine  (owns views and functions)
CREATE ROLE "pe_policyengine" NOLOGIN NOSUPERUSER NOBYPASSRLS;
COMMENT ON ROLE "pe_policyengine" IS 'managed by policyengine prefix=70655f';
-- + schema pe_policyengine  (mapping tables, key, functions)
CREATE SCHEMA "pe_policyengine";
COMMENT ON SCHEMA "pe_policyengine" IS 'managed by policyengine prefix=70655f';
REVOKE ALL ON SCHEMA "pe_policyengine" FROM PUBLIC;
GRANT USAGE ON SCHEMA "pe_policyengine" TO "pe_policyengine";
-- + table pe_policyengine.consumers  (owner only)
CREATE TABLE "pe_policyengine"."consumers" (role name PRIMARY KEY);
REVOKE ALL ON "pe_policyengine"."consumers" FROM PUBLIC;
GRANT SELECT ON "pe_policyengine"."consumers" TO "pe_policyengine";
-- + table pe_policyengine.access  (owner only)
CREATE TABLE "pe_policyengine"."access" (role name NOT NULL, product text NOT NULL, class integer NOT NULL, params text[] NOT NULL, PRIMARY KEY (role, product));
REVOKE ALL ON "pe_policyengine"."access" FROM PUBLIC;
GRANT SELECT ON "pe_policyengine"."access" TO "pe_policyengine";
-- + table pe_policyengine.hmac_pads  (owner only)
CREATE TABLE "pe_policyengine"."hmac_pads" (ipad bytea NOT NULL, opad bytea NOT NULL);
REVOKE ALL ON "pe_policyengine"."hmac_pads" FROM PUBLIC;
GRANT SELECT ON "pe_policyengine"."hmac_pads" TO "pe_policyengine";
-- + consumer pe_alice  (mapping row)
INSERT INTO "pe_policyengine"."consumers" (role) VALUES ('pe_alice');
-- + consumer pe_bob  (mapping row)
INSERT INTO "pe_policyengine"."consumers" (role) VALUES ('pe_bob');
-- + consumer pe_carol  (mapping row)
INSERT INTO "pe_policyengine"."consumers" (role) VALUES ('pe_carol');
-- + consumer pe_dave  (mapping row)
INSERT INTO "pe_policyengine"."consumers" (role) VALUES ('pe_dave');
-- + consumer pe_erin  (mapping row)
INSERT INTO "pe_policyengine"."consumers" (role) VALUES ('pe_erin');
-- + consumer pe_frank  (mapping row)
INSERT INTO "pe_policyengine"."consumers" (role) VALUES ('pe_frank');
-- + consumer pe_judy  (mapping row)
INSERT INTO "pe_policyengine"."consumers" (role) VALUES ('pe_judy');
-- + access pe_alice on marketing.campaign_events  (mapping row)
DELETE FROM "pe_policyengine"."access" WHERE role = 'pe_alice' AND product = 'marketing.campaign_events';
INSERT INTO "pe_policyengine"."access" (role, product, class, params) VALUES ('pe_alice', 'marketing.campaign_events', 1, ARRAY['true']::text[]);
-- + access pe_bob on marketing.leads  (mapping row)
DELETE FROM "pe_policyengine"."access" WHERE role = 'pe_bob' AND product = 'marketing.leads';
INSERT INTO "pe_policyengine"."access" (role, product, class, params) VALUES ('pe_bob', 'marketing.leads', 1, ARRAY[]::text[]);
-- + access pe_bob on sales.customers  (mapping row)
DELETE FROM "pe_policyengine"."access" WHERE role = 'pe_bob' AND product = 'sales.customers';
INSERT INTO "pe_policyengine"."access" (role, product, class, params) VALUES ('pe_bob', 'sales.customers', 1, ARRAY['uk']::text[]);
-- + access pe_bob on sales.orders  (mapping row)
DELETE FROM "pe_policyengine"."access" WHERE role = 'pe_bob' AND product = 'sales.orders';
INSERT INTO "pe_policyengine"."access" (role, product, class, params) VALUES ('pe_bob', 'sales.orders', 2, ARRAY['uk']::text[]);
-- + access pe_carol on marketing.leads  (mapping row)
DELETE FROM "pe_policyengine"."access" WHERE role = 'pe_carol' AND product = 'marketing.leads';
INSERT INTO "pe_policyengine"."access" (role, product, class, params) VALUES ('pe_carol', 'marketing.leads', 1, ARRAY[]::text[]);
-- + access pe_carol on sales.customers  (mapping row)
DELETE FROM "pe_policyengine"."access" WHERE role = 'pe_carol' AND product = 'sales.customers';
INSERT INTO "pe_policyengine"."access" (role, product, class, params) VALUES ('pe_carol', 'sales.customers', 1, ARRAY['us']::text[]);
-- + access pe_carol on sales.orders  (mapping row)
DELETE FROM "pe_policyengine"."access" WHERE role = 'pe_carol' AND product = 'sales.orders';
INSERT INTO "pe_policyengine"."access" (role, product, class, params) VALUES ('pe_carol', 'sales.orders', 4, ARRAY['us']::text[]);
-- + access pe_dave on sales.orders  (mapping row)
DELETE FROM "pe_policyengine"."access" WHERE role = 'pe_dave' AND product = 'sales.orders';
INSERT INTO "pe_policyengine"."access" (role, product, class, params) VALUES ('pe_dave', 'sales.orders', 1, ARRAY[]::text[]);
-- + access pe_erin on hr.employees  (mapping row)
DELETE FROM "pe_policyengine"."access" WHERE role = 'pe_erin' AND product = 'hr.employees';
INSERT INTO "pe_policyengine"."access" (role, product, class, params) VALUES ('pe_erin', 'hr.employees', 2, ARRAY['eu']::text[]);
-- + access pe_frank on hr.employees  (mapping row)
DELETE FROM "pe_policyengine"."access" WHERE role = 'pe_frank' AND product = 'hr.employees';
INSERT INTO "pe_policyengine"."access" (role, product, class, params) VALUES ('pe_frank', 'hr.employees', 1, ARRAY[]::text[]);
-- + access pe_frank on hr.payroll  (mapping row)
DELETE FROM "pe_policyengine"."access" WHERE role = 'pe_frank' AND product = 'hr.payroll';
INSERT INTO "pe_policyengine"."access" (role, product, class, params) VALUES ('pe_frank', 'hr.payroll', 1, ARRAY[]::text[]);
-- + access pe_judy on marketing.leads  (mapping row)
DELETE FROM "pe_policyengine"."access" WHERE role = 'pe_judy' AND product = 'marketing.leads';
INSERT INTO "pe_policyengine"."access" (role, product, class, params) VALUES ('pe_judy', 'marketing.leads', 1, ARRAY[]::text[]);
-- + access pe_judy on sales.customers  (mapping row)
DELETE FROM "pe_policyengine"."access" WHERE role = 'pe_judy' AND product = 'sales.customers';
INSERT INTO "pe_policyengine"."access" (role, product, class, params) VALUES ('pe_judy', 'sales.customers', 2, ARRAY['false']::text[]);
-- + access pe_judy on sales.orders  (mapping row)
DELETE FROM "pe_policyengine"."access" WHERE role = 'pe_judy' AND product = 'sales.orders';
INSERT INTO "pe_policyengine"."access" (role, product, class, params) VALUES ('pe_judy', 'sales.orders', 3, ARRAY['false']::text[]);
-- + hmac key pe_policyengine.hmac_pads  (for keyed hash masks)
DELETE FROM "pe_policyengine"."hmac_pads";
-- the HMAC pads are loaded by `policyengine apply` only (never written to files)
-- + function "pe_policyengine".class_of(name, text)  (missing)
CREATE OR REPLACE FUNCTION "pe_policyengine".class_of(p_who name, p_product text) RETURNS integer LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE found name[];
BEGIN
  IF p_who IS NULL OR NOT pg_catalog.pg_has_role(session_user, p_who, 'MEMBER') THEN
    RAISE EXCEPTION 'policyengine: this session cannot act as that role' USING ERRCODE = '42501';
  END IF;
  SELECT pg_catalog.array_agg(c.role ORDER BY c.role) INTO found FROM "pe_policyengine"."consumers" c
   WHERE c.role IN (WITH RECURSIVE up(id) AS (
                      SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = p_who
                      UNION SELECT m.roleid FROM pg_catalog.pg_auth_members m JOIN up ON m.member = up.id)
                    SELECT r.rolname FROM pg_catalog.pg_roles r JOIN up ON r.oid = up.id);
  IF found IS NULL THEN
    RETURN 0;
  END IF;
  IF pg_catalog.cardinality(found) > 1 THEN
    RAISE EXCEPTION 'policyengine: the role maps to more than one consumer' USING ERRCODE = '42501';
  END IF;
  RETURN (SELECT a.class FROM "pe_policyengine"."access" a WHERE a.role = found[1] AND a.product = p_product);
END
$fn$;
ALTER FUNCTION "pe_policyengine".class_of(name, text) OWNER TO "pe_policyengine";
REVOKE ALL ON FUNCTION "pe_policyengine".class_of(name, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION "pe_policyengine".class_of(name, text) TO PUBLIC;
DO $pe$ BEGIN PERFORM set_config('search_path', 'pg_catalog', true); EXECUTE 'COMMENT ON FUNCTION "pe_policyengine".class_of(name, text) IS ' || quote_literal('managed by policyengine policy=a77d926f75522db64e55bea2d6512a3941d19fc36b572db0e404734c9d3e5a53 text=' || encode(sha256(convert_to(pg_get_functiondef('"pe_policyengine".class_of(name, text)'::regprocedure), 'UTF8')), 'hex')); END $pe$;
-- + function "pe_policyengine".param(name, text, integer)  (missing)
CREATE OR REPLACE FUNCTION "pe_policyengine".param(p_who name, p_product text, p_index integer) RETURNS text LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE found name[];
BEGIN
  IF p_who IS NULL OR NOT pg_catalog.pg_has_role(session_user, p_who, 'MEMBER') THEN
    RAISE EXCEPTION 'policyengine: this session cannot act as that role' USING ERRCODE = '42501';
  END IF;
  SELECT pg_catalog.array_agg(c.role ORDER BY c.role) INTO found FROM "pe_policyengine"."consumers" c
   WHERE c.role IN (WITH RECURSIVE up(id) AS (
                      SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = p_who
                      UNION SELECT m.roleid FROM pg_catalog.pg_auth_members m JOIN up ON m.member = up.id)
                    SELECT r.rolname FROM pg_catalog.pg_roles r JOIN up ON r.oid = up.id);
  IF found IS NULL THEN
    RETURN NULL;
  END IF;
  IF pg_catalog.cardinality(found) > 1 THEN
    RAISE EXCEPTION 'policyengine: the role maps to more than one consumer' USING ERRCODE = '42501';
  END IF;
  RETURN (SELECT a.params[p_index] FROM "pe_policyengine"."access" a WHERE a.role = found[1] AND a.product = p_product);
END
$fn$;
ALTER FUNCTION "pe_policyengine".param(name, text, integer) OWNER TO "pe_policyengine";
REVOKE ALL ON FUNCTION "pe_policyengine".param(name, text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION "pe_policyengine".param(name, text, integer) TO PUBLIC;
DO $pe$ BEGIN PERFORM set_config('search_path', 'pg_catalog', true); EXECUTE 'COMMENT ON FUNCTION "pe_policyengine".param(name, text, integer) IS ' || quote_literal('managed by policyengine policy=e5688c26b87ba882728282ff26b00366398fe926586c1a01489b2bf7ce53a5e6 text=' || encode(sha256(convert_to(pg_get_functiondef('"pe_policyengine".param(name, text, integer)'::regprocedure), 'UTF8')), 'hex')); END $pe$;
-- + grant SELECT on "hr"."employees" to pe_policyengine  (the views read it)
GRANT SELECT ON "hr"."employees" TO "pe_policyengine";
-- + row level security "hr"."employees"  (enabled and forced)
ALTER TABLE "hr"."employees" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "hr"."employees" FORCE ROW LEVEL SECURITY;
-- + grant SELECT on "hr"."payroll" to pe_policyengine  (the views read it)
GRANT SELECT ON "hr"."payroll" TO "pe_policyengine";
-- + row level security "hr"."payroll"  (enabled and forced)
ALTER TABLE "hr"."payroll" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "hr"."payroll" FORCE ROW LEVEL SECURITY;
-- + grant SELECT on "marketing"."campaign_events" to pe_policyengine  (the views read it)
GRANT SELECT ON "marketing"."campaign_events" TO "pe_policyengine";
-- + row level security "marketing"."campaign_events"  (enabled and forced)
ALTER TABLE "marketing"."campaign_events" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "marketing"."campaign_events" FORCE ROW LEVEL SECURITY;
-- + grant SELECT on "marketing"."leads" to pe_policyengine  (the views read it)
GRANT SELECT ON "marketing"."leads" TO "pe_policyengine";
-- + row level security "marketing"."leads"  (enabled and forced)
ALTER TABLE "marketing"."leads" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "marketing"."leads" FORCE ROW LEVEL SECURITY;
-- + grant SELECT on "sales"."customers" to pe_policyengine  (the views read it)
GRANT SELECT ON "sales"."customers" TO "pe_policyengine";
-- + row level security "sales"."customers"  (enabled and forced)
ALTER TABLE "sales"."customers" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "sales"."customers" FORCE ROW LEVEL SECURITY;
-- + grant SELECT on "sales"."orders" to pe_policyengine  (the views read it)
GRANT SELECT ON "sales"."orders" TO "pe_policyengine";
-- + row level security "sales"."orders"  (enabled and forced)
ALTER TABLE "sales"."orders" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "sales"."orders" FORCE ROW LEVEL SECURITY;
-- + row policy pe_class_2 on "hr"."employees"
CREATE POLICY "pe_class_2" ON "hr"."employees" AS RESTRICTIVE FOR ALL TO PUBLIC USING ((SELECT "pe_policyengine".class_of(CURRENT_USER, 'hr.employees')) IS DISTINCT FROM 2 OR ("region" = CAST((SELECT "pe_policyengine".param(CURRENT_USER, 'hr.employees', 1)) AS TEXT)));
DO $pe$ BEGIN PERFORM set_config('search_path', 'pg_catalog', true); EXECUTE 'COMMENT ON POLICY "pe_class_2" ON "hr"."employees" IS ' || quote_literal('managed by policyengine prefix=70655f policy=a5a9ce7f9f25673c3677065354df7f54f2622671ec366bea7567fc1d913e0519 text=' || encode(sha256(convert_to((SELECT coalesce(pg_get_expr(p.polqual, p.polrelid), '') || '|' || coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '') || '|' || p.polpermissive::text || '|' || p.polcmd::text || '|' || p.polroles::text FROM pg_policy p WHERE p.polrelid = '"hr"."employees"'::regclass AND p.polname = 'pe_class_2'), 'UTF8')), 'hex')); END $pe$;
-- + row policy pe_consumers on "hr"."employees"
CREATE POLICY "pe_consumers" ON "hr"."employees" AS RESTRICTIVE FOR ALL TO PUBLIC USING ((SELECT "pe_policyengine".class_of(CURRENT_USER, 'hr.employees')) IS NOT NULL);
DO $pe$ BEGIN PERFORM set_config('search_path', 'pg_catalog', true); EXECUTE 'COMMENT ON POLICY "pe_consumers" ON "hr"."employees" IS ' || quote_literal('managed by policyengine prefix=70655f policy=b88f65478e61adab5aeeeb297153296a08de629534092702454ca5164a1c3877 text=' || encode(sha256(convert_to((SELECT coalesce(pg_get_expr(p.polqual, p.polrelid), '') || '|' || coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '') || '|' || p.polpermissive::text || '|' || p.polcmd::text || '|' || p.polroles::text FROM pg_policy p WHERE p.polrelid = '"hr"."employees"'::regclass AND p.polname = 'pe_consumers'), 'UTF8')), 'hex')); END $pe$;
-- + row policy pe_others on "hr"."employees"
CREATE POLICY "pe_others" ON "hr"."employees" AS PERMISSIVE FOR ALL TO PUBLIC USING (true);
DO $pe$ BEGIN PERFORM set_config('search_path', 'pg_catalog', true); EXECUTE 'COMMENT ON POLICY "pe_others" ON "hr"."employees" IS ' || quote_literal('managed by policyengine prefix=70655f policy=f9fb3d04a0fb92f0c52440c9b538dbaa4f558a827722b49834d98a5109656628 text=' || encode(sha256(convert_to((SELECT coalesce(pg_get_expr(p.polqual, p.polrelid), '') || '|' || coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '') || '|' || p.polpermissive::text || '|' || p.polcmd::text || '|' || p.polroles::text FROM pg_policy p WHERE p.polrelid = '"hr"."employees"'::regclass AND p.polname = 'pe_others'), 'UTF8')), 'hex')); END $pe$;
-- + row policy pe_consumers on "hr"."payroll"
CREATE POLICY "pe_consumers" ON "hr"."payroll" AS RESTRICTIVE FOR ALL TO PUBLIC USING ((SELECT "pe_policyengine".class_of(CURRENT_USER, 'hr.payroll')) IS NOT NULL);
DO $pe$ BEGIN PERFORM set_config('search_path', 'pg_catalog', true); EXECUTE 'COMMENT ON POLICY "pe_consumers" ON "hr"."payroll" IS ' || quote_literal('managed by policyengine prefix=70655f policy=ab7a312c9a69027e5d6c03c4cebe7c52441e35ccd1c366eaa4e2676b92f77db6 text=' || encode(sha256(convert_to((SELECT coalesce(pg_get_expr(p.polqual, p.polrelid), '') || '|' || coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '') || '|' || p.polpermissive::text || '|' || p.polcmd::text || '|' || p.polroles::text FROM pg_policy p WHERE p.polrelid = '"hr"."payroll"'::regclass AND p.polname = 'pe_consumers'), 'UTF8')), 'hex')); END $pe$;
-- + row policy pe_others on "hr"."payroll"
CREATE POLICY "pe_others" ON "hr"."payroll" AS PERMISSIVE FOR ALL TO PUBLIC USING (true);
DO $pe$ BEGIN PERFORM set_config('search_path', 'pg_catalog', true); EXECUTE 'COMMENT ON POLICY "pe_others" ON "hr"."payroll" IS ' || quote_literal('managed by policyengine prefix=70655f policy=f9fb3d04a0fb92f0c52440c9b538dbaa4f558a827722b49834d98a5109656628 text=' || encode(sha256(convert_to((SELECT coalesce(pg_get_expr(p.polqual, p.polrelid), '') || '|' || coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '') || '|' || p.polpermissive::text || '|' || p.polcmd::text || '|' || p.polroles::text FROM pg_policy p WHERE p.polrelid = '"hr"."payroll"'::regclass AND p.polname = 'pe_others'), 'UTF8')), 'hex')); END $pe$;
-- + row policy pe_class_1 on "marketing"."campaign_events"
CREATE POLICY "pe_class_1" ON "marketing"."campaign_events" AS RESTRICTIVE FOR ALL TO PUBLIC USING ((SELECT "pe_policyengine".class_of(CURRENT_USER, 'marketing.campaign_events')) IS DISTINCT FROM 1 OR ("consent" = CAST((SELECT "pe_policyengine".param(CURRENT_USER, 'marketing.campaign_events', 1)) AS BOOLEAN)));
DO $pe$ BEGIN PERFORM set_config('search_path', 'pg_catalog', true); EXECUTE 'COMMENT ON POLICY "pe_class_1" ON "marketing"."campaign_events" IS ' || quote_literal('managed by policyengine prefix=70655f policy=bf18408a1fe74fb5ffce01855aa94a61abf529dbd5cb5fa842320f407a41d0d7 text=' || encode(sha256(convert_to((SELECT coalesce(pg_get_expr(p.polqual, p.polrelid), '') || '|' || coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '') || '|' || p.polpermissive::text || '|' || p.polcmd::text || '|' || p.polroles::text FROM pg_policy p WHERE p.polrelid = '"marketing"."campaign_events"'::regclass AND p.polname = 'pe_class_1'), 'UTF8')), 'hex')); END $pe$;
-- + row policy pe_consumers on "marketing"."campaign_events"
CREATE POLICY "pe_consumers" ON "marketing"."campaign_events" AS RESTRICTIVE FOR ALL TO PUBLIC USING ((SELECT "pe_policyengine".class_of(CURRENT_USER, 'marketing.campaign_events')) IS NOT NULL);
DO $pe$ BEGIN PERFORM set_config('search_path', 'pg_catalog', true); EXECUTE 'COMMENT ON POLICY "pe_consumers" ON "marketing"."campaign_events" IS ' || quote_literal('managed by policyengine prefix=70655f policy=d4bee406ec75678496abb43c35215048e9826955a8e807fe78923385f726c06f text=' || encode(sha256(convert_to((SELECT coalesce(pg_get_expr(p.polqual, p.polrelid), '') || '|' || coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '') || '|' || p.polpermissive::text || '|' || p.polcmd::text || '|' || p.polroles::text FROM pg_policy p WHERE p.polrelid = '"marketing"."campaign_events"'::regclass AND p.polname = 'pe_consumers'), 'UTF8')), 'hex')); END $pe$;
-- + row policy pe_others on "marketing"."campaign_events"
CREATE POLICY "pe_others" ON "marketing"."campaign_events" AS PERMISSIVE FOR ALL TO PUBLIC USING (true);
DO $pe$ BEGIN PERFORM set_config('search_path', 'pg_catalog', true); EXECUTE 'COMMENT ON POLICY "pe_others" ON "marketing"."campaign_events" IS ' || quote_literal('managed by policyengine prefix=70655f policy=f9fb3d04a0fb92f0c52440c9b538dbaa4f558a827722b49834d98a5109656628 text=' || encode(sha256(convert_to((SELECT coalesce(pg_get_expr(p.polqual, p.polrelid), '') || '|' || coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '') || '|' || p.polpermissive::text || '|' || p.polcmd::text || '|' || p.polroles::text FROM pg_policy p WHERE p.polrelid = '"marketing"."campaign_events"'::regclass AND p.polname = 'pe_others'), 'UTF8')), 'hex')); END $pe$;
-- + row policy pe_consumers on "marketing"."leads"
CREATE POLICY "pe_consumers" ON "marketing"."leads" AS RESTRICTIVE FOR ALL TO PUBLIC USING ((SELECT "pe_policyengine".class_of(CURRENT_USER, 'marketing.leads')) IS NOT NULL);
DO $pe$ BEGIN PERFORM set_config('search_path', 'pg_catalog', true); EXECUTE 'COMMENT ON POLICY "pe_consumers" ON "marketing"."leads" IS ' || quote_literal('managed by policyengine prefix=70655f policy=4f8c934f94d479158bb525eb530e4a8156a8ae8d1c56ecf9e83a14190cd60cee text=' || encode(sha256(convert_to((SELECT coalesce(pg_get_expr(p.polqual, p.polrelid), '') || '|' || coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '') || '|' || p.polpermissive::text || '|' || p.polcmd::text || '|' || p.polroles::text FROM pg_policy p WHERE p.polrelid = '"marketing"."leads"'::regclass AND p.polname = 'pe_consumers'), 'UTF8')), 'hex')); END $pe$;
-- + row policy pe_others on "marketing"."leads"
CREATE POLICY "pe_others" ON "marketing"."leads" AS PERMISSIVE FOR ALL TO PUBLIC USING (true);
DO $pe$ BEGIN PERFORM set_config('search_path', 'pg_catalog', true); EXECUTE 'COMMENT ON POLICY "pe_others" ON "marketing"."leads" IS ' || quote_literal('managed by policyengine prefix=70655f policy=f9fb3d04a0fb92f0c52440c9b538dbaa4f558a827722b49834d98a5109656628 text=' || encode(sha256(convert_to((SELECT coalesce(pg_get_expr(p.polqual, p.polrelid), '') || '|' || coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '') || '|' || p.polpermissive::text || '|' || p.polcmd::text || '|' || p.polroles::text FROM pg_policy p WHERE p.polrelid = '"marketing"."leads"'::regclass AND p.polname = 'pe_others'), 'UTF8')), 'hex')); END $pe$;
-- + row policy pe_class_1 on "sales"."customers"
CREATE POLICY "pe_class_1" ON "sales"."customers" AS RESTRICTIVE FOR ALL TO PUBLIC USING ((SELECT "pe_policyengine".class_of(CURRENT_USER, 'sales.customers')) IS DISTINCT FROM 1 OR ("region" = CAST((SELECT "pe_policyengine".param(CURRENT_USER, 'sales.customers', 1)) AS TEXT)));
DO $pe$ BEGIN PERFORM set_config('search_path', 'pg_catalog', true); EXECUTE 'COMMENT ON POLICY "pe_class_1" ON "sales"."customers" IS ' || quote_literal('managed by policyengine prefix=70655f policy=b61c99366ef1d21e7684071c0bb9b1329e4ea44f1d2a3a35d172f1a72f5b1aa6 text=' || encode(sha256(convert_to((SELECT coalesce(pg_get_expr(p.polqual, p.polrelid), '') || '|' || coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '') || '|' || p.polpermissive::text || '|' || p.polcmd::text || '|' || p.polroles::text FROM pg_policy p WHERE p.polrelid = '"sales"."customers"'::regclass AND p.polname = 'pe_class_1'), 'UTF8')), 'hex')); END $pe$;
-- + row policy pe_class_2 on "sales"."customers"
CREATE POLICY "pe_class_2" ON "sales"."customers" AS RESTRICTIVE FOR ALL TO PUBLIC USING ((SELECT "pe_policyengine".class_of(CURRENT_USER, 'sales.customers')) IS DISTINCT FROM 2 OR (CAST((SELECT "pe_policyengine".param(CURRENT_USER, 'sales.customers', 1)) AS BOOLEAN)));
DO $pe$ BEGIN PERFORM set_config('search_path', 'pg_catalog', true); EXECUTE 'COMMENT ON POLICY "pe_class_2" ON "sales"."customers" IS ' || quote_literal('managed by policyengine prefix=70655f policy=570ae97910b5a1673e78f44b06c082490b915d6e634667e79c845a2876448ad8 text=' || encode(sha256(convert_to((SELECT coalesce(pg_get_expr(p.polqual, p.polrelid), '') || '|' || coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '') || '|' || p.polpermissive::text || '|' || p.polcmd::text || '|' || p.polroles::text FROM pg_policy p WHERE p.polrelid = '"sales"."customers"'::regclass AND p.polname = 'pe_class_2'), 'UTF8')), 'hex')); END $pe$;
-- + row policy pe_consumers on "sales"."customers"
CREATE POLICY "pe_consumers" ON "sales"."customers" AS RESTRICTIVE FOR ALL TO PUBLIC USING ((SELECT "pe_policyengine".class_of(CURRENT_USER, 'sales.customers')) IS NOT NULL);
DO $pe$ BEGIN PERFORM set_config('search_path', 'pg_catalog', true); EXECUTE 'COMMENT ON POLICY "pe_consumers" ON "sales"."customers" IS ' || quote_literal('managed by policyengine prefix=70655f policy=52f1f5e3d62ac0bc9267833dff8e2fed57c6ad76566cb9fa2fbbd20b911ae506 text=' || encode(sha256(convert_to((SELECT coalesce(pg_get_expr(p.polqual, p.polrelid), '') || '|' || coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '') || '|' || p.polpermissive::text || '|' || p.polcmd::text || '|' || p.polroles::text FROM pg_policy p WHERE p.polrelid = '"sales"."customers"'::regclass AND p.polname = 'pe_consumers'), 'UTF8')), 'hex')); END $pe$;
-- + row policy pe_others on "sales"."customers"
CREATE POLICY "pe_others" ON "sales"."customers" AS PERMISSIVE FOR ALL TO PUBLIC USING (true);
DO $pe$ BEGIN PERFORM set_config('search_path', 'pg_catalog', true); EXECUTE 'COMMENT ON POLICY "pe_others" ON "sales"."customers" IS ' || quote_literal('managed by policyengine prefix=70655f policy=f9fb3d04a0fb92f0c52440c9b538dbaa4f558a827722b49834d98a5109656628 text=' || encode(sha256(convert_to((SELECT coalesce(pg_get_expr(p.polqual, p.polrelid), '') || '|' || coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '') || '|' || p.polpermissive::text || '|' || p.polcmd::text || '|' || p.polroles::text FROM pg_policy p WHERE p.polrelid = '"sales"."customers"'::regclass AND p.polname = 'pe_others'), 'UTF8')), 'hex')); END $pe$;
-- + row policy pe_class_2 on "sales"."orders"
CREATE POLICY "pe_class_2" ON "sales"."orders" AS RESTRICTIVE FOR ALL TO PUBLIC USING ((SELECT "pe_policyengine".class_of(CURRENT_USER, 'sales.orders')) IS DISTINCT FROM 2 OR ("region" = CAST((SELECT "pe_policyengine".param(CURRENT_USER, 'sales.orders', 1)) AS TEXT)));
DO $pe$ BEGIN PERFORM set_config('search_path', 'pg_catalog', true); EXECUTE 'COMMENT ON POLICY "pe_class_2" ON "sales"."orders" IS ' || quote_literal('managed by policyengine prefix=70655f policy=ee12294c3bfe115628ccf955addd5bda7f624d2adce7664aad8c027d37b1af80 text=' || encode(sha256(convert_to((SELECT coalesce(pg_get_expr(p.polqual, p.polrelid), '') || '|' || coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '') || '|' || p.polpermissive::text || '|' || p.polcmd::text || '|' || p.polroles::text FROM pg_policy p WHERE p.polrelid = '"sales"."orders"'::regclass AND p.polname = 'pe_class_2'), 'UTF8')), 'hex')); END $pe$;
-- + row policy pe_class_3 on "sales"."orders"
CREATE POLICY "pe_class_3" ON "sales"."orders" AS RESTRICTIVE FOR ALL TO PUBLIC USING ((SELECT "pe_policyengine".class_of(CURRENT_USER, 'sales.orders')) IS DISTINCT FROM 3 OR (CAST((SELECT "pe_policyengine".param(CURRENT_USER, 'sales.orders', 1)) AS BOOLEAN)));
DO $pe$ BEGIN PERFORM set_config('search_path', 'pg_catalog', true); EXECUTE 'COMMENT ON POLICY "pe_class_3" ON "sales"."orders" IS ' || quote_literal('managed by policyengine prefix=70655f policy=a23578f618bc68ed29fb2d4b41f4573ef14e6a9c4d48f37ee7743fcee3b6a17a text=' || encode(sha256(convert_to((SELECT coalesce(pg_get_expr(p.polqual, p.polrelid), '') || '|' || coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '') || '|' || p.polpermissive::text || '|' || p.polcmd::text || '|' || p.polroles::text FROM pg_policy p WHERE p.polrelid = '"sales"."orders"'::regclass AND p.polname = 'pe_class_3'), 'UTF8')), 'hex')); END $pe$;
-- + row policy pe_class_4 on "sales"."orders"
CREATE POLICY "pe_class_4" ON "sales"."orders" AS RESTRICTIVE FOR ALL TO PUBLIC USING ((SELECT "pe_policyengine".class_of(CURRENT_USER, 'sales.orders')) IS DISTINCT FROM 4 OR ("region" = CAST((SELECT "pe_policyengine".param(CURRENT_USER, 'sales.orders', 1)) AS TEXT)));
DO $pe$ BEGIN PERFORM set_config('search_path', 'pg_catalog', true); EXECUTE 'COMMENT ON POLICY "pe_class_4" ON "sales"."orders" IS ' || quote_literal('managed by policyengine prefix=70655f policy=3bdd9c9497b618df7a9f3f8ef877e82cd45e1938f56e19088a9abf707fbece02 text=' || encode(sha256(convert_to((SELECT coalesce(pg_get_expr(p.polqual, p.polrelid), '') || '|' || coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '') || '|' || p.polpermissive::text || '|' || p.polcmd::text || '|' || p.polroles::text FROM pg_policy p WHERE p.polrelid = '"sales"."orders"'::regclass AND p.polname = 'pe_class_4'), 'UTF8')), 'hex')); END $pe$;
-- + row policy pe_consumers on "sales"."orders"
CREATE POLICY "pe_consumers" ON "sales"."orders" AS RESTRICTIVE FOR ALL TO PUBLIC USING ((SELECT "pe_policyengine".class_of(CURRENT_USER, 'sales.orders')) IS NOT NULL);
DO $pe$ BEGIN PERFORM set_config('search_path', 'pg_catalog', true); EXECUTE 'COMMENT ON POLICY "pe_consumers" ON "sales"."orders" IS ' || quote_literal('managed by policyengine prefix=70655f policy=65d0d5a2faf03fa6f39dc94d1a9115ab22e908bddfde14a93610f4a8e4fe5e16 text=' || encode(sha256(convert_to((SELECT coalesce(pg_get_expr(p.polqual, p.polrelid), '') || '|' || coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '') || '|' || p.polpermissive::text || '|' || p.polcmd::text || '|' || p.polroles::text FROM pg_policy p WHERE p.polrelid = '"sales"."orders"'::regclass AND p.polname = 'pe_consumers'), 'UTF8')), 'hex')); END $pe$;
-- + row policy pe_others on "sales"."orders"
CREATE POLICY "pe_others" ON "sales"."orders" AS PERMISSIVE FOR ALL TO PUBLIC USING (true);
DO $pe$ BEGIN PERFORM set_config('search_path', 'pg_catalog', true); EXECUTE 'COMMENT ON POLICY "pe_others" ON "sales"."orders" IS ' || quote_literal('managed by policyengine prefix=70655f policy=f9fb3d04a0fb92f0c52440c9b538dbaa4f558a827722b49834d98a5109656628 text=' || encode(sha256(convert_to((SELECT coalesce(pg_get_expr(p.polqual, p.polrelid), '') || '|' || coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '') || '|' || p.polpermissive::text || '|' || p.polcmd::text || '|' || p.polroles::text FROM pg_policy p WHERE p.polrelid = '"sales"."orders"'::regclass AND p.polname = 'pe_others'), 'UTF8')), 'hex')); END $pe$;
-- + schema pe  (the views consumers read)
CREATE SCHEMA "pe";
COMMENT ON SCHEMA "pe" IS 'managed by policyengine prefix=70655f';
REVOKE ALL ON SCHEMA "pe" FROM PUBLIC;
GRANT USAGE ON SCHEMA "pe" TO "pe_alice";
GRANT USAGE ON SCHEMA "pe" TO "pe_bob";
GRANT USAGE ON SCHEMA "pe" TO "pe_carol";
GRANT USAGE ON SCHEMA "pe" TO "pe_dave";
GRANT USAGE ON SCHEMA "pe" TO "pe_erin";
GRANT USAGE ON SCHEMA "pe" TO "pe_frank";
GRANT USAGE ON SCHEMA "pe" TO "pe_judy";
-- + view pe.hr.employees  (2767 chars of SQL)
CREATE VIEW "pe"."hr.employees" WITH (security_barrier = true) AS SELECT COALESCE("pe_src"."employee_id", "pe_src"."employee_id") AS "employee_id", CASE WHEN (SELECT "pe_policyengine".class_of(CURRENT_USER, 'hr.employees')) IN (1) THEN COALESCE("pe_src"."first_name", "pe_src"."first_name") WHEN (SELECT "pe_policyengine".class_of(CURRENT_USER, 'hr.employees')) IN (2) THEN ENCODE(SHA256((SELECT opad FROM "pe_policyengine"."hmac_pads") || SHA256((SELECT ipad FROM "pe_policyengine"."hmac_pads") || CONVERT_TO(CAST("pe_src"."first_name" AS VARCHAR), 'UTF8'))), 'hex') END AS "first_name", CASE WHEN (SELECT "pe_policyengine".class_of(CURRENT_USER, 'hr.employees')) IN (1) THEN COALESCE("pe_src"."last_name", "pe_src"."last_name") WHEN (SELECT "pe_policyengine".class_of(CURRENT_USER, 'hr.employees')) IN (2) THEN ENCODE(SHA256((SELECT opad FROM "pe_policyengine"."hmac_pads") || SHA256((SELECT ipad FROM "pe_policyengine"."hmac_pads") || CONVERT_TO(CAST("pe_src"."last_name" AS VARCHAR), 'UTF8'))), 'hex') END AS "last_name", CASE WHEN (SELECT "pe_policyengine".class_of(CURRENT_USER, 'hr.employees')) IN (1) THEN COALESCE("pe_src"."work_email", "pe_src"."work_email") WHEN (SELECT "pe_policyengine".class_of(CURRENT_USER, 'hr.employees')) IN (2) THEN CASE WHEN "pe_src"."work_email" IS NULL THEN NULL ELSE '***' || COALESCE(SUBSTRING(CAST("pe_src"."work_email" AS VARCHAR), '@[^@]*$'), '') END END AS "work_email", CASE WHEN (SELECT "pe_policyengine".class_of(CURRENT_USER, 'hr.employees')) IN (1) THEN COALESCE("pe_src"."phone", "pe_src"."phone") WHEN (SELECT "pe_policyengine".class_of(CURRENT_USER, 'hr.employees')) IN (2) THEN CASE WHEN "pe_src"."phone" IS NULL THEN NULL ELSE CASE WHEN LENGTH(CAST("pe_src"."phone" AS VARCHAR)) <= 5 THEN LPAD('', CAST(LENGTH(CAST("pe_src"."phone" AS VARCHAR)) AS INT), '*') ELSE SUBSTRING(CAST("pe_src"."phone" AS VARCHAR) FROM 1 FOR 3) || LPAD('', CAST(LENGTH(CAST("pe_src"."phone" AS VARCHAR)) - 5 AS INT), '*') || SUBSTRING(CAST("pe_src"."phone" AS VARCHAR) FROM LENGTH(CAST("pe_src"."phone" AS VARCHAR)) - 2 + 1) END END END AS "phone", COALESCE("pe_src"."national_id", "pe_src"."national_id") AS "national_id", CASE WHEN (SELECT "pe_policyengine".class_of(CURRENT_USER, 'hr.employees')) IN (1) THEN COALESCE("pe_src"."birth_date", "pe_src"."birth_date") WHEN (SELECT "pe_policyengine".class_of(CURRENT_USER, 'hr.employees')) IN (2) THEN CAST(DATE_TRUNC('YEAR', "pe_src"."birth_date") AS DATE) END AS "birth_date", COALESCE("pe_src"."department", "pe_src"."department") AS "department", COALESCE("pe_src"."job_title", "pe_src"."job_title") AS "job_title", COALESCE("pe_src"."region", "pe_src"."region") AS "region", COALESCE("pe_src"."hire_date", "pe_src"."hire_date") AS "hire_date", COALESCE("pe_src"."manager_id", "pe_src"."manager_id") AS "manager_id" FROM "hr"."employees" AS "pe_src";
ALTER VIEW "pe"."hr.employees" OWNER TO "pe_policyengine";
DO $pe$ BEGIN PERFORM set_config('search_path', 'pg_catalog', true); EXECUTE 'COMMENT ON VIEW "pe"."hr.employees" IS ' || quote_literal('managed by policyengine policy=1678164d0f5352362c49b043fa6fce4c35bd964211501afd7c58a0935c730f6e text=' || encode(sha256(convert_to(pg_get_viewdef('"pe"."hr.employees"'::regclass), 'UTF8')), 'hex')); END $pe$;
REVOKE ALL ON "pe"."hr.employees" FROM PUBLIC;
GRANT SELECT ("birth_date", "department", "employee_id", "first_name", "hire_date", "job_title", "last_name", "manager_id", "phone", "region", "work_email") ON "pe"."hr.employees" TO "pe_erin";
GRANT SELECT ("birth_date", "department", "employee_id", "first_name", "hire_date", "job_title", "last_name", "manager_id", "national_id", "phone", "region", "work_email") ON "pe"."hr.employees" TO "pe_frank";
-- + view pe.hr.payroll  (475 chars of SQL)
CREATE VIEW "pe"."hr.payroll" WITH (security_barrier = true) AS SELECT COALESCE("pe_src"."employee_id", "pe_src"."employee_id") AS "employee_id", COALESCE("pe_src"."iban", "pe_src"."iban") AS "iban", COALESCE("pe_src"."salary", "pe_src"."salary") AS "salary", COALESCE("pe_src"."bonus", "pe_src"."bonus") AS "bonus", COALESCE("pe_src"."currency", "pe_src"."currency") AS "currency", COALESCE("pe_src"."pay_date", "pe_src"."pay_date") AS "pay_date", COALESCE("pe_src"."region", "pe_src"."region") AS "region" FROM "hr"."payroll" AS "pe_src";
ALTER VIEW "pe"."hr.payroll" OWNER TO "pe_policyengine";
DO $pe$ BEGIN PERFORM set_config('search_path', 'pg_catalog', true); EXECUTE 'COMMENT ON VIEW "pe"."hr.payroll" IS ' || quote_literal('managed by policyengine policy=b739bbeb460b14e471a9a52bae8adfa1f47a0e6fb11f35450be754861377f8e4 text=' || encode(sha256(convert_to(pg_get_viewdef('"pe"."hr.payroll"'::regclass), 'UTF8')), 'hex')); END $pe$;
REVOKE ALL ON "pe"."hr.payroll" FROM PUBLIC;
GRANT SELECT ("bonus", "currency", "employee_id", "iban", "pay_date", "region", "salary") ON "pe"."hr.payroll" TO "pe_frank";
-- + view pe.marketing.campaign_events  (870 chars of SQL)
CREATE VIEW "pe"."marketing.campaign_events" WITH (security_barrier = true) AS SELECT COALESCE("pe_src"."event_id", "pe_src"."event_id") AS "event_id", COALESCE("pe_src"."campaign", "pe_src"."campaign") AS "campaign", CASE WHEN "pe_src"."email" IS NULL THEN NULL ELSE '***' || COALESCE(SUBSTRING(CAST("pe_src"."email" AS VARCHAR), '@[^@]*$'), '') END AS "email", ENCODE(SHA256((SELECT opad FROM "pe_policyengine"."hmac_pads") || SHA256((SELECT ipad FROM "pe_policyengine"."hmac_pads") || CONVERT_TO(CAST("pe_src"."ip_address" AS VARCHAR), 'UTF8'))), 'hex') AS "ip_address", COALESCE("pe_src"."user_agent", "pe_src"."user_agent") AS "user_agent", COALESCE("pe_src"."clicked_at", "pe_src"."clicked_at") AS "clicked_at", COALESCE("pe_src"."country", "pe_src"."country") AS "country", COALESCE("pe_src"."region", "pe_src"."region") AS "region", COALESCE("pe_src"."consent", "pe_src"."consent") AS "consent" FROM "marketing"."campaign_events" AS "pe_src";
ALTER VIEW "pe"."marketing.campaign_events" OWNER TO "pe_policyengine";
DO $pe$ BEGIN PERFORM set_config('search_path', 'pg_catalog', true); EXECUTE 'COMMENT ON VIEW "pe"."marketing.campaign_events" IS ' || quote_literal('managed by policyengine policy=add34b84d0fded9c634248dbfc82def6f44163becb9c08f3b985e7bd25d8205a text=' || encode(sha256(convert_to(pg_get_viewdef('"pe"."marketing.campaign_events"'::regclass), 'UTF8')), 'hex')); END $pe$;
REVOKE ALL ON "pe"."marketing.campaign_events" FROM PUBLIC;
GRANT SELECT ("campaign", "clicked_at", "consent", "country", "email", "event_id", "ip_address", "region", "user_agent") ON "pe"."marketing.campaign_events" TO "pe_alice";
-- + view pe.marketing.leads  (408 chars of SQL)
CREATE VIEW "pe"."marketing.leads" WITH (security_barrier = true) AS SELECT COALESCE("pe_src"."lead_id", "pe_src"."lead_id") AS "lead_id", COALESCE("pe_src"."company", "pe_src"."company") AS "company", COALESCE("pe_src"."country", "pe_src"."country") AS "country", COALESCE("pe_src"."region", "pe_src"."region") AS "region", COALESCE("pe_src"."score", "pe_src"."score") AS "score", COALESCE("pe_src"."source", "pe_src"."source") AS "source" FROM "marketing"."leads" AS "pe_src";
ALTER VIEW "pe"."marketing.leads" OWNER TO "pe_policyengine";
DO $pe$ BEGIN PERFORM set_config('search_path', 'pg_catalog', true); EXECUTE 'COMMENT ON VIEW "pe"."marketing.leads" IS ' || quote_literal('managed by policyengine policy=5d3e0fb6da326bfd7546f325691d0793e6300d1890028de89ea038b2755ae70f text=' || encode(sha256(convert_to(pg_get_viewdef('"pe"."marketing.leads"'::regclass), 'UTF8')), 'hex')); END $pe$;
REVOKE ALL ON "pe"."marketing.leads" FROM PUBLIC;
GRANT SELECT ("company", "country", "lead_id", "region", "score", "source") ON "pe"."marketing.leads" TO "pe_bob";
GRANT SELECT ("company", "country", "lead_id", "region", "score", "source") ON "pe"."marketing.leads" TO "pe_carol";
GRANT SELECT ("company", "country", "lead_id", "region", "score", "source") ON "pe"."marketing.leads" TO "pe_judy";
-- + view pe.sales.customers  (1581 chars of SQL)
CREATE VIEW "pe"."sales.customers" WITH (security_barrier = true) AS SELECT COALESCE("pe_src"."customer_id", "pe_src"."customer_id") AS "customer_id", ENCODE(SHA256((SELECT opad FROM "pe_policyengine"."hmac_pads") || SHA256((SELECT ipad FROM "pe_policyengine"."hmac_pads") || CONVERT_TO(CAST("pe_src"."full_name" AS VARCHAR), 'UTF8'))), 'hex') AS "full_name", CASE WHEN "pe_src"."email" IS NULL THEN NULL ELSE '***' || COALESCE(SUBSTRING(CAST("pe_src"."email" AS VARCHAR), '@[^@]*$'), '') END AS "email", CASE WHEN "pe_src"."phone" IS NULL THEN NULL ELSE CASE WHEN LENGTH(CAST("pe_src"."phone" AS VARCHAR)) <= 5 THEN LPAD('', CAST(LENGTH(CAST("pe_src"."phone" AS VARCHAR)) AS INT), '*') ELSE SUBSTRING(CAST("pe_src"."phone" AS VARCHAR) FROM 1 FOR 3) || LPAD('', CAST(LENGTH(CAST("pe_src"."phone" AS VARCHAR)) - 5 AS INT), '*') || SUBSTRING(CAST("pe_src"."phone" AS VARCHAR) FROM LENGTH(CAST("pe_src"."phone" AS VARCHAR)) - 2 + 1) END END AS "phone", CASE WHEN "pe_src"."street_address" IS NULL THEN NULL ELSE '***' END AS "street_address", CASE WHEN "pe_src"."city" IS NULL THEN NULL ELSE '***' END AS "city", CASE WHEN "pe_src"."postcode" IS NULL THEN NULL ELSE '***' END AS "postcode", COALESCE("pe_src"."country", "pe_src"."country") AS "country", COALESCE("pe_src"."region", "pe_src"."region") AS "region", CAST(DATE_TRUNC('YEAR', "pe_src"."birth_date") AS DATE) AS "birth_date", COALESCE("pe_src"."loyalty_tier", "pe_src"."loyalty_tier") AS "loyalty_tier", COALESCE("pe_src"."signup_ts", "pe_src"."signup_ts") AS "signup_ts", COALESCE("pe_src"."email_verified", "pe_src"."email_verified") AS "email_verified" FROM "sales"."customers" AS "pe_src";
ALTER VIEW "pe"."sales.customers" OWNER TO "pe_policyengine";
DO $pe$ BEGIN PERFORM set_config('search_path', 'pg_catalog', true); EXECUTE 'COMMENT ON VIEW "pe"."sales.customers" IS ' || quote_literal('managed by policyengine policy=f8611d09ddbf651689be1f40632309590921ba802ed7ba3ea3500e3b905030bb text=' || encode(sha256(convert_to(pg_get_viewdef('"pe"."sales.customers"'::regclass), 'UTF8')), 'hex')); END $pe$;
REVOKE ALL ON "pe"."sales.customers" FROM PUBLIC;
GRANT SELECT ("birth_date", "city", "country", "customer_id", "email", "email_verified", "full_name", "loyalty_tier", "phone", "postcode", "region", "signup_ts", "street_address") ON "pe"."sales.customers" TO "pe_bob";
GRANT SELECT ("birth_date", "city", "country", "customer_id", "email", "email_verified", "full_name", "loyalty_tier", "phone", "postcode", "region", "signup_ts", "street_address") ON "pe"."sales.customers" TO "pe_carol";
GRANT SELECT ("birth_date", "city", "country", "customer_id", "email", "email_verified", "full_name", "loyalty_tier", "phone", "postcode", "region", "signup_ts", "street_address") ON "pe"."sales.customers" TO "pe_judy";
-- + view pe.sales.orders  (1654 chars of SQL)
CREATE VIEW "pe"."sales.orders" WITH (security_barrier = true) AS SELECT COALESCE("pe_src"."order_id", "pe_src"."order_id") AS "order_id", COALESCE("pe_src"."customer_id", "pe_src"."customer_id") AS "customer_id", CASE WHEN "pe_src"."customer_email" IS NULL THEN NULL ELSE '***' || COALESCE(SUBSTRING(CAST("pe_src"."customer_email" AS VARCHAR), '@[^@]*$'), '') END AS "customer_email", ENCODE(SHA256((SELECT opad FROM "pe_policyengine"."hmac_pads") || SHA256((SELECT ipad FROM "pe_policyengine"."hmac_pads") || CONVERT_TO(CAST("pe_src"."customer_name" AS VARCHAR), 'UTF8'))), 'hex') AS "customer_name", CASE WHEN "pe_src"."card_number" IS NULL THEN NULL ELSE CASE WHEN LENGTH(CAST("pe_src"."card_number" AS VARCHAR)) <= 4 THEN LPAD('', CAST(LENGTH(CAST("pe_src"."card_number" AS VARCHAR)) AS INT), '*') ELSE LPAD('', CAST(LENGTH(CAST("pe_src"."card_number" AS VARCHAR)) - 4 AS INT), '*') || SUBSTRING(CAST("pe_src"."card_number" AS VARCHAR) FROM LENGTH(CAST("pe_src"."card_number" AS VARCHAR)) - 4 + 1) END END AS "card_number", COALESCE("pe_src"."amount", "pe_src"."amount") AS "amount", COALESCE("pe_src"."margin", "pe_src"."margin") AS "margin", COALESCE("pe_src"."currency", "pe_src"."currency") AS "currency", COALESCE("pe_src"."region", "pe_src"."region") AS "region", COALESCE("pe_src"."status", "pe_src"."status") AS "status", COALESCE("pe_src"."created_at", "pe_src"."created_at") AS "created_at", COALESCE("pe_src"."shipped_on", "pe_src"."shipped_on") AS "shipped_on", ENCODE(SHA256((SELECT opad FROM "pe_policyengine"."hmac_pads") || SHA256((SELECT ipad FROM "pe_policyengine"."hmac_pads") || CONVERT_TO(CAST("pe_src"."client_ip" AS VARCHAR), 'UTF8'))), 'hex') AS "client_ip" FROM "sales"."orders" AS "pe_src";
ALTER VIEW "pe"."sales.orders" OWNER TO "pe_policyengine";
DO $pe$ BEGIN PERFORM set_config('search_path', 'pg_catalog', true); EXECUTE 'COMMENT ON VIEW "pe"."sales.orders" IS ' || quote_literal('managed by policyengine policy=dc7c50d6fd677bfc118bad8cefa433c685e14fb7d4bc8ba2b2902013a2aa4252 text=' || encode(sha256(convert_to(pg_get_viewdef('"pe"."sales.orders"'::regclass), 'UTF8')), 'hex')); END $pe$;
REVOKE ALL ON "pe"."sales.orders" FROM PUBLIC;
GRANT SELECT ("amount", "card_number", "client_ip", "created_at", "currency", "customer_email", "customer_id", "customer_name", "order_id", "region", "shipped_on", "status") ON "pe"."sales.orders" TO "pe_bob";
GRANT SELECT ("amount", "card_number", "client_ip", "created_at", "currency", "customer_email", "customer_id", "customer_name", "margin", "order_id", "region", "shipped_on", "status") ON "pe"."sales.orders" TO "pe_carol";
GRANT SELECT ("amount", "created_at", "currency", "order_id", "region") ON "pe"."sales.orders" TO "pe_dave";
GRANT SELECT ("amount", "card_number", "client_ip", "created_at", "currency", "customer_email", "customer_id", "customer_name", "order_id", "region", "shipped_on", "status") ON "pe"."sales.orders" TO "pe_judy";
COMMIT;
