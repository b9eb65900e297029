-- policyengine native objects for bigquery: RENDERED, NOT EXECUTED by policyengine
-- compiled at 2026-06-01T00:00:00+00:00 (policy 558e3e9a6a4b)
-- column masks: data_policies.json (Data Catalog and Data Policy API request bodies)

-- table grants
GRANT `roles/bigquery.dataViewer` ON TABLE `hr`.`employees` TO "group:pe-frank@example.com";
GRANT `roles/bigquery.dataViewer` ON TABLE `hr`.`payroll` TO "group:pe-frank@example.com";
GRANT `roles/bigquery.dataViewer` ON TABLE `marketing`.`leads` TO "group:pe-bob@example.com";
GRANT `roles/bigquery.dataViewer` ON TABLE `marketing`.`leads` TO "group:pe-carol@example.com";
GRANT `roles/bigquery.dataViewer` ON TABLE `marketing`.`leads` TO "group:pe-judy@example.com";
GRANT `roles/bigquery.dataViewer` ON TABLE `sales`.`orders` TO "group:pe-dave@example.com";

-- row access policies (one per class: each principal in exactly one)
CREATE OR REPLACE ROW ACCESS POLICY `pe_k47d6b72553` ON `hr`.`employees`
  GRANT TO ("group:pe-frank@example.com")
  FILTER USING (TRUE);
CREATE OR REPLACE ROW ACCESS POLICY `pe_ka0716f892f` ON `hr`.`payroll`
  GRANT TO ("group:pe-frank@example.com")
  FILTER USING (TRUE);
CREATE OR REPLACE ROW ACCESS POLICY `pe_k52eed3f6a0` ON `marketing`.`leads`
  GRANT TO ("group:pe-bob@example.com", "group:pe-carol@example.com", "group:pe-judy@example.com")
  FILTER USING (TRUE);
CREATE OR REPLACE ROW ACCESS POLICY `pe_k4386da8884` ON `sales`.`orders`
  GRANT TO ("group:pe-dave@example.com")
  FILTER USING (TRUE);
