-- policyengine: read the live BigQuery state back (compare with apply.sql and data_policies.json; not run here)
-- every row access policy of a dataset, with its predicate:
SELECT table_name, row_access_policy_name, filter_predicate
  FROM `<project>.<dataset>.INFORMATION_SCHEMA.ROW_ACCESS_POLICIES` ORDER BY table_name;
-- each policy's grantees: bq ls --row_access_policies <dataset>.<table>, or the API's
--   rowAccessPolicies.getIamPolicy;
-- each column's policy tags: bq show --schema <dataset>.<table> (policyTags.names);
-- each data policy and its masked readers: the Data Policy API's dataPolicies.list and
--   dataPolicies.getIamPolicy; each policy tag's fine-grained readers: Data Catalog's
--   taxonomies.policyTags.getIamPolicy.
