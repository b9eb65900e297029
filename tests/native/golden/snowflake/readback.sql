-- policyengine: read the live Snowflake state back (compare with apply.sql; not run here)
-- every policy attached to a table, with its kind and columns:
SELECT policy_kind, policy_name, ref_entity_name, ref_column_name, ref_arg_column_names, policy_status
  FROM TABLE("POLICYENGINE".INFORMATION_SCHEMA.POLICY_REFERENCES(
    REF_ENTITY_NAME => '<database>.<schema>.<table>', REF_ENTITY_DOMAIN => 'table'));
-- or account-wide (up to two hours late): SNOWFLAKE.ACCOUNT_USAGE.POLICY_REFERENCES
-- each policy's body (compare with the CREATE statements):
SHOW MASKING POLICIES IN SCHEMA "POLICYENGINE"."GOVERNANCE";
SHOW ROW ACCESS POLICIES IN SCHEMA "POLICYENGINE"."GOVERNANCE";
SHOW PROJECTION POLICIES IN SCHEMA "POLICYENGINE"."GOVERNANCE";
SELECT GET_DDL('POLICY', '<schema>.<policy name>');
-- the mapping tables and each consumer role's grants:
SELECT * FROM "POLICYENGINE"."GOVERNANCE"."PE_CONSUMER_ROLES" ORDER BY role_name;
SELECT * FROM "POLICYENGINE"."GOVERNANCE"."PE_CONSUMER_CLASSES" ORDER BY consumer, product;
SHOW GRANTS TO ROLE <consumer role>;
-- the key table: only its owner (the policies' owner) may read it; a future grant on the
-- schema would hand it to others:
SHOW GRANTS ON TABLE "POLICYENGINE"."GOVERNANCE"."PE_HMAC_PADS";
SHOW FUTURE GRANTS IN SCHEMA "POLICYENGINE"."GOVERNANCE";
