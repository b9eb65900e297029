-- policyengine: read the live Unity Catalog state back (compare with apply.sql; not run here)
-- the mask on every column and the row filter on every table:
SELECT * FROM `main`.information_schema.column_masks ORDER BY table_schema, table_name, column_name;
SELECT * FROM `main`.information_schema.row_filters ORDER BY table_schema, table_name;
-- each function's body (compare with the CREATE FUNCTION statements):
SELECT routine_schema, routine_name, routine_definition FROM `main`.information_schema.routines
  WHERE routine_schema = 'policyengine';
-- the mapping tables and the grants on each table:
SELECT * FROM `main`.`policyengine`.`pe_consumer_groups` ORDER BY group_name;
SELECT * FROM `main`.`policyengine`.`pe_consumer_classes` ORDER BY consumer, product;
SHOW GRANTS ON TABLE <catalog>.<schema>.<table>;
