-- policyengine native objects for databricks (Unity Catalog): RENDERED, NOT EXECUTED by policyengine
-- compiled at 2026-06-01T00:00:00+00:00 (policy 558e3e9a6a4b)

-- schema
CREATE SCHEMA IF NOT EXISTS `main`.`policyengine` COMMENT 'managed by policyengine';

-- mapping tables
CREATE TABLE IF NOT EXISTS `main`.`policyengine`.`pe_consumer_groups` (group_name STRING NOT NULL, consumer STRING NOT NULL);
CREATE TABLE IF NOT EXISTS `main`.`policyengine`.`pe_consumer_classes` (consumer STRING NOT NULL, product STRING NOT NULL, class STRING NOT NULL);

-- mapping rows (replaced whole)
INSERT OVERWRITE `main`.`policyengine`.`pe_consumer_groups` VALUES
  ('pe_alice', 'alice'),
  ('pe_bob', 'bob'),
  ('pe_carol', 'carol'),
  ('pe_dave', 'dave'),
  ('pe_erin', 'erin'),
  ('pe_frank', 'frank'),
  ('pe_judy', 'judy');
INSERT OVERWRITE `main`.`policyengine`.`pe_consumer_classes` VALUES
  ('bob', 'marketing.leads', 'k52eed3f6a0'),
  ('carol', 'marketing.leads', 'k52eed3f6a0'),
  ('dave', 'sales.orders', 'k4386da8884'),
  ('frank', 'hr.employees', 'k47d6b72553'),
  ('frank', 'hr.payroll', 'ka0716f892f'),
  ('judy', 'marketing.leads', 'k52eed3f6a0');

-- column mask functions
CREATE OR REPLACE FUNCTION `main`.`policyengine`.`pe_hr_employees__employee_id`(val STRING) RETURNS STRING
  COMMENT 'managed by policyengine'
  RETURN CASE (SELECT MAX(k.class) FROM `main`.`policyengine`.`pe_consumer_classes` AS k WHERE k.product = 'hr.employees' AND k.consumer = (SELECT CASE WHEN COUNT(*) = 1 THEN MAX(g.consumer) END FROM `main`.`policyengine`.`pe_consumer_groups` AS g WHERE IS_ACCOUNT_GROUP_MEMBER(g.group_name))) WHEN 'k47d6b72553' THEN val ELSE NULL END;
ALTER TABLE `hr`.`employees` ALTER COLUMN `employee_id` SET MASK `main`.`policyengine`.`pe_hr_employees__employee_id`;
CREATE OR REPLACE FUNCTION `main`.`policyengine`.`pe_hr_employees__first_name`(val STRING) RETURNS STRING
  COMMENT 'managed by policyengine'
  RETURN CASE (SELECT MAX(k.class) FROM `main`.`policyengine`.`pe_consumer_classes` AS k WHERE k.product = 'hr.employees' AND k.consumer = (SELECT CASE WHEN COUNT(*) = 1 THEN MAX(g.consumer) END FROM `main`.`policyengine`.`pe_consumer_groups` AS g WHERE IS_ACCOUNT_GROUP_MEMBER(g.group_name))) WHEN 'k47d6b72553' THEN val ELSE NULL END;
ALTER TABLE `hr`.`employees` ALTER COLUMN `first_name` SET MASK `main`.`policyengine`.`pe_hr_employees__first_name`;
CREATE OR REPLACE FUNCTION `main`.`policyengine`.`pe_hr_employees__last_name`(val STRING) RETURNS STRING
  COMMENT 'managed by policyengine'
  RETURN CASE (SELECT MAX(k.class) FROM `main`.`policyengine`.`pe_consumer_classes` AS k WHERE k.product = 'hr.employees' AND k.consumer = (SELECT CASE WHEN COUNT(*) = 1 THEN MAX(g.consumer) END FROM `main`.`policyengine`.`pe_consumer_groups` AS g WHERE IS_ACCOUNT_GROUP_MEMBER(g.group_name))) WHEN 'k47d6b72553' THEN val ELSE NULL END;
ALTER TABLE `hr`.`employees` ALTER COLUMN `last_name` SET MASK `main`.`policyengine`.`pe_hr_employees__last_name`;
CREATE OR REPLACE FUNCTION `main`.`policyengine`.`pe_hr_employees__work_email`(val STRING) RETURNS STRING
  COMMENT 'managed by policyengine'
  RETURN CASE (SELECT MAX(k.class) FROM `main`.`policyengine`.`pe_consumer_classes` AS k WHERE k.product = 'hr.employees' AND k.consumer = (SELECT CASE WHEN COUNT(*) = 1 THEN MAX(g.consumer) END FROM `main`.`policyengine`.`pe_consumer_groups` AS g WHERE IS_ACCOUNT_GROUP_MEMBER(g.group_name))) WHEN 'k47d6b72553' THEN val ELSE NULL END;
ALTER TABLE `hr`.`employees` ALTER COLUMN `work_email` SET MASK `main`.`policyengine`.`pe_hr_employees__work_email`;
CREATE OR REPLACE FUNCTION `main`.`policyengine`.`pe_hr_employees__phone`(val STRING) RETURNS STRING
  COMMENT 'managed by policyengine'
  RETURN CASE (SELECT MAX(k.class) FROM `main`.`policyengine`.`pe_consumer_classes` AS k WHERE k.product = 'hr.employees' AND k.consumer = (SELECT CASE WHEN COUNT(*) = 1 THEN MAX(g.consumer) END FROM `main`.`policyengine`.`pe_consumer_groups` AS g WHERE IS_ACCOUNT_GROUP_MEMBER(g.group_name))) WHEN 'k47d6b72553' THEN val ELSE NULL END;
ALTER TABLE `hr`.`employees` ALTER COLUMN `phone` SET MASK `main`.`policyengine`.`pe_hr_employees__phone`;
CREATE OR REPLACE FUNCTION `main`.`policyengine`.`pe_hr_employees__national_id`(val STRING) RETURNS STRING
  COMMENT 'managed by policyengine'
  RETURN CASE (SELECT MAX(k.class) FROM `main`.`policyengine`.`pe_consumer_classes` AS k WHERE k.product = 'hr.employees' AND k.consumer = (SELECT CASE WHEN COUNT(*) = 1 THEN MAX(g.consumer) END FROM `main`.`policyengine`.`pe_consumer_groups` AS g WHERE IS_ACCOUNT_GROUP_MEMBER(g.group_name))) WHEN 'k47d6b72553' THEN val ELSE NULL END;
ALTER TABLE `hr`.`employees` ALTER COLUMN `national_id` SET MASK `main`.`policyengine`.`pe_hr_employees__national_id`;
CREATE OR REPLACE FUNCTION `main`.`policyengine`.`pe_hr_employees__birth_date`(val DATE) RETURNS DATE
  COMMENT 'managed by policyengine'
  RETURN CASE (SELECT MAX(k.class) FROM `main`.`policyengine`.`pe_consumer_classes` AS k WHERE k.product = 'hr.employees' AND k.consumer = (SELECT CASE WHEN COUNT(*) = 1 THEN MAX(g.consumer) END FROM `main`.`policyengine`.`pe_consumer_groups` AS g WHERE IS_ACCOUNT_GROUP_MEMBER(g.group_name))) WHEN 'k47d6b72553' THEN val ELSE NULL END;
ALTER TABLE `hr`.`employees` ALTER COLUMN `birth_date` SET MASK `main`.`policyengine`.`pe_hr_employees__birth_date`;
CREATE OR REPLACE FUNCTION `main`.`policyengine`.`pe_hr_employees__department`(val STRING) RETURNS STRING
  COMMENT 'managed by policyengine'
  RETURN CASE (SELECT MAX(k.class) FROM `main`.`policyengine`.`pe_consumer_classes` AS k WHERE k.product = 'hr.employees' AND k.consumer = (SELECT CASE WHEN COUNT(*) = 1 THEN MAX(g.consumer) END FROM `main`.`policyengine`.`pe_consumer_groups` AS g WHERE IS_ACCOUNT_GROUP_MEMBER(g.group_name))) WHEN 'k47d6b72553' THEN val ELSE NULL END;
ALTER TABLE `hr`.`employees` ALTER COLUMN `department` SET MASK `main`.`policyengine`.`pe_hr_employees__department`;
CREATE OR REPLACE FUNCTION `main`.`policyengine`.`pe_hr_employees__job_title`(val STRING) RETURNS STRING
  COMMENT 'managed by policyengine'
  RETURN CASE (SELECT MAX(k.class) FROM `main`.`policyengine`.`pe_consumer_classes` AS k WHERE k.product = 'hr.employees' AND k.consumer = (SELECT CASE WHEN COUNT(*) = 1 THEN MAX(g.consumer) END FROM `main`.`policyengine`.`pe_consumer_groups` AS g WHERE IS_ACCOUNT_GROUP_MEMBER(g.group_name))) WHEN 'k47d6b72553' THEN val ELSE NULL END;
ALTER TABLE `hr`.`employees` ALTER COLUMN `job_title` SET MASK `main`.`policyengine`.`pe_hr_employees__job_title`;
CREATE OR REPLACE FUNCTION `main`.`policyengine`.`pe_hr_employees__region`(val STRING) RETURNS STRING
  COMMENT 'managed by policyengine'
  RETURN CASE (SELECT MAX(k.class) FROM `main`.`policyengine`.`pe_consumer_classes` AS k WHERE k.product = 'hr.employees' AND k.consumer = (SELECT CASE WHEN COUNT(*) = 1 THEN MAX(g.consumer) END FROM `main`.`policyengine`.`pe_consumer_groups` AS g WHERE IS_ACCOUNT_GROUP_MEMBER(g.group_name))) WHEN 'k47d6b72553' THEN val ELSE NULL END;
ALTER TABLE `hr`.`employees` ALTER COLUMN `region` SET MASK `main`.`policyengine`.`pe_hr_employees__region`;
CREATE OR REPLACE FUNCTION `main`.`policyengine`.`pe_hr_employees__hire_date`(val DATE) RETURNS DATE
  COMMENT 'managed by policyengine'
  RETURN CASE (SELECT MAX(k.class) FROM `main`.`policyengine`.`pe_consumer_classes` AS k WHERE k.product = 'hr.employees' AND k.consumer = (SELECT CASE WHEN COUNT(*) = 1 THEN MAX(g.consumer) END FROM `main`.`policyengine`.`pe_consumer_groups` AS g WHERE IS_ACCOUNT_GROUP_MEMBER(g.group_name))) WHEN 'k47d6b72553' THEN val ELSE NULL END;
ALTER TABLE `hr`.`employees` ALTER COLUMN `hire_date` SET MASK `main`.`policyengine`.`pe_hr_employees__hire_date`;
CREATE OR REPLACE FUNCTION `main`.`policyengine`.`pe_hr_employees__manager_id`(val STRING) RETURNS STRING
  COMMENT 'managed by policyengine'
  RETURN CASE (SELECT MAX(k.class) FROM `main`.`policyengine`.`pe_consumer_classes` AS k WHERE k.product = 'hr.employees' AND k.consumer = (SELECT CASE WHEN COUNT(*) = 1 THEN MAX(g.consumer) END FROM `main`.`policyengine`.`pe_consumer_groups` AS g WHERE IS_ACCOUNT_GROUP_MEMBER(g.group_name))) WHEN 'k47d6b72553' THEN val ELSE NULL END;
ALTER TABLE `hr`.`employees` ALTER COLUMN `manager_id` SET MASK `main`.`policyengine`.`pe_hr_employees__manager_id`;
CREATE OR REPLACE FUNCTION `main`.`policyengine`.`pe_hr_payroll__employee_id`(val STRING) RETURNS STRING
  COMMENT 'managed by policyengine'
  RETURN CASE (SELECT MAX(k.class) FROM `main`.`policyengine`.`pe_consumer_classes` AS k WHERE k.product = 'hr.payroll' AND k.consumer = (SELECT CASE WHEN COUNT(*) = 1 THEN MAX(g.consumer) END FROM `main`.`policyengine`.`pe_consumer_groups` AS g WHERE IS_ACCOUNT_GROUP_MEMBER(g.group_name))) WHEN 'ka0716f892f' THEN val ELSE NULL END;
ALTER TABLE `hr`.`payroll` ALTER COLUMN `employee_id` SET MASK `main`.`policyengine`.`pe_hr_payroll__employee_id`;
CREATE OR REPLACE FUNCTION `main`.`policyengine`.`pe_hr_payroll__iban`(val STRING) RETURNS STRING
  COMMENT 'managed by policyengine'
  RETURN CASE (SELECT MAX(k.class) FROM `main`.`policyengine`.`pe_consumer_classes` AS k WHERE k.product = 'hr.payroll' AND k.consumer = (SELECT CASE WHEN COUNT(*) = 1 THEN MAX(g.consumer) END FROM `main`.`policyengine`.`pe_consumer_groups` AS g WHERE IS_ACCOUNT_GROUP_MEMBER(g.group_name))) WHEN 'ka0716f892f' THEN val ELSE NULL END;
ALTER TABLE `hr`.`payroll` ALTER COLUMN `iban` SET MASK `main`.`policyengine`.`pe_hr_payroll__iban`;
CREATE OR REPLACE FUNCTION `main`.`policyengine`.`pe_hr_payroll__salary`(val DOUBLE) RETURNS DOUBLE
  COMMENT 'managed by policyengine'
  RETURN CASE (SELECT MAX(k.class) FROM `main`.`policyengine`.`pe_consumer_classes` AS k WHERE k.product = 'hr.payroll' AND k.consumer = (SELECT CASE WHEN COUNT(*) = 1 THEN MAX(g.consumer) END FROM `main`.`policyengine`.`pe_consumer_groups` AS g WHERE IS_ACCOUNT_GROUP_MEMBER(g.group_name))) WHEN 'ka0716f892f' THEN val ELSE NULL END;
ALTER TABLE `hr`.`payroll` ALTER COLUMN `salary` SET MASK `main`.`policyengine`.`pe_hr_payroll__salary`;
CREATE OR REPLACE FUNCTION `main`.`policyengine`.`pe_hr_payroll__bonus`(val DOUBLE) RETURNS DOUBLE
  COMMENT 'managed by policyengine'
  RETURN CASE (SELECT MAX(k.class) FROM `main`.`policyengine`.`pe_consumer_classes` AS k WHERE k.product = 'hr.payroll' AND k.consumer = (SELECT CASE WHEN COUNT(*) = 1 THEN MAX(g.consumer) END FROM `main`.`policyengine`.`pe_consumer_groups` AS g WHERE IS_ACCOUNT_GROUP_MEMBER(g.group_name))) WHEN 'ka0716f892f' THEN val ELSE NULL END;
ALTER TABLE `hr`.`payroll` ALTER COLUMN `bonus` SET MASK `main`.`policyengine`.`pe_hr_payroll__bonus`;
CREATE OR REPLACE FUNCTION `main`.`policyengine`.`pe_hr_payroll__currency`(val STRING) RETURNS STRING
  COMMENT 'managed by policyengine'
  RETURN CASE (SELECT MAX(k.class) FROM `main`.`policyengine`.`pe_consumer_classes` AS k WHERE k.product = 'hr.payroll' AND k.consumer = (SELECT CASE WHEN COUNT(*) = 1 THEN MAX(g.consumer) END FROM `main`.`policyengine`.`pe_consumer_groups` AS g WHERE IS_ACCOUNT_GROUP_MEMBER(g.group_name))) WHEN 'ka0716f892f' THEN val ELSE NULL END;
ALTER TABLE `hr`.`payroll` ALTER COLUMN `currency` SET MASK `main`.`policyengine`.`pe_hr_payroll__currency`;
CREATE OR REPLACE FUNCTION `main`.`policyengine`.`pe_hr_payroll__pay_date`(val DATE) RETURNS DATE
  COMMENT 'managed by policyengine'
  RETURN CASE (SELECT MAX(k.class) FROM `main`.`policyengine`.`pe_consumer_classes` AS k WHERE k.product = 'hr.payroll' AND k.consumer = (SELECT CASE WHEN COUNT(*) = 1 THEN MAX(g.consumer) END FROM `main`.`policyengine`.`pe_consumer_groups` AS g WHERE IS_ACCOUNT_GROUP_MEMBER(g.group_name))) WHEN 'ka0716f892f' THEN val ELSE NULL END;
ALTER TABLE `hr`.`payroll` ALTER COLUMN `pay_date` SET MASK `main`.`policyengine`.`pe_hr_payroll__pay_date`;
CREATE OR REPLACE FUNCTION `main`.`policyengine`.`pe_hr_payroll__region`(val STRING) RETURNS STRING
  COMMENT 'managed by policyengine'
  RETURN CASE (SELECT MAX(k.class) FROM `main`.`policyengine`.`pe_consumer_classes` AS k WHERE k.product = 'hr.payroll' AND k.consumer = (SELECT CASE WHEN COUNT(*) = 1 THEN MAX(g.consumer) END FROM `main`.`policyengine`.`pe_consumer_groups` AS g WHERE IS_ACCOUNT_GROUP_MEMBER(g.group_name))) WHEN 'ka0716f892f' THEN val ELSE NULL END;
ALTER TABLE `hr`.`payroll` ALTER COLUMN `region` SET MASK `main`.`policyengine`.`pe_hr_payroll__region`;
CREATE OR REPLACE FUNCTION `main`.`policyengine`.`pe_marketing_leads__lead_id`(val STRING) RETURNS STRING
  COMMENT 'managed by policyengine'
  RETURN CASE (SELECT MAX(k.class) FROM `main`.`policyengine`.`pe_consumer_classes` AS k WHERE k.product = 'marketing.leads' AND k.consumer = (SELECT CASE WHEN COUNT(*) = 1 THEN MAX(g.consumer) END FROM `main`.`policyengine`.`pe_consumer_groups` AS g WHERE IS_ACCOUNT_GROUP_MEMBER(g.group_name))) WHEN 'k52eed3f6a0' THEN val ELSE NULL END;
ALTER TABLE `marketing`.`leads` ALTER COLUMN `lead_id` SET MASK `main`.`policyengine`.`pe_marketing_leads__lead_id`;
CREATE OR REPLACE FUNCTION `main`.`policyengine`.`pe_marketing_leads__name`(val STRING) RETURNS STRING
  COMMENT 'managed by policyengine'
  RETURN CAST(NULL AS STRING);
ALTER TABLE `marketing`.`leads` ALTER COLUMN `name` SET MASK `main`.`policyengine`.`pe_marketing_leads__name`;
CREATE OR REPLACE FUNCTION `main`.`policyengine`.`pe_marketing_leads__email`(val STRING) RETURNS STRING
  COMMENT 'managed by policyengine'
  RETURN CAST(NULL AS STRING);
ALTER TABLE `marketing`.`leads` ALTER COLUMN `email` SET MASK `main`.`policyengine`.`pe_marketing_leads__email`;
CREATE OR REPLACE FUNCTION `main`.`policyengine`.`pe_marketing_leads__phone`(val STRING) RETURNS STRING
  COMMENT 'managed by policyengine'
  RETURN CAST(NULL AS STRING);
ALTER TABLE `marketing`.`leads` ALTER COLUMN `phone` SET MASK `main`.`policyengine`.`pe_marketing_leads__phone`;
CREATE OR REPLACE FUNCTION `main`.`policyengine`.`pe_marketing_leads__company`(val STRING) RETURNS STRING
  COMMENT 'managed by policyengine'
  RETURN CASE (SELECT MAX(k.class) FROM `main`.`policyengine`.`pe_consumer_classes` AS k WHERE k.product = 'marketing.leads' AND k.consumer = (SELECT CASE WHEN COUNT(*) = 1 THEN MAX(g.consumer) END FROM `main`.`policyengine`.`pe_consumer_groups` AS g WHERE IS_ACCOUNT_GROUP_MEMBER(g.group_name))) WHEN 'k52eed3f6a0' THEN val ELSE NULL END;
ALTER TABLE `marketing`.`leads` ALTER COLUMN `company` SET MASK `main`.`policyengine`.`pe_marketing_leads__company`;
CREATE OR REPLACE FUNCTION `main`.`policyengine`.`pe_marketing_leads__country`(val STRING) RETURNS STRING
  COMMENT 'managed by policyengine'
  RETURN CASE (SELECT MAX(k.class) FROM `main`.`policyengine`.`pe_consumer_classes` AS k WHERE k.product = 'marketing.leads' AND k.consumer = (SELECT CASE WHEN COUNT(*) = 1 THEN MAX(g.consumer) END FROM `main`.`policyengine`.`pe_consumer_groups` AS g WHERE IS_ACCOUNT_GROUP_MEMBER(g.group_name))) WHEN 'k52eed3f6a0' THEN val ELSE NULL END;
ALTER TABLE `marketing`.`leads` ALTER COLUMN `country` SET MASK `main`.`policyengine`.`pe_marketing_leads__country`;
CREATE OR REPLACE FUNCTION `main`.`policyengine`.`pe_marketing_leads__region`(val STRING) RETURNS STRING
  COMMENT 'managed by policyengine'
  RETURN CASE (SELECT MAX(k.class) FROM `main`.`policyengine`.`pe_consumer_classes` AS k WHERE k.product = 'marketing.leads' AND k.consumer = (SELECT CASE WHEN COUNT(*) = 1 THEN MAX(g.consumer) END FROM `main`.`policyengine`.`pe_consumer_groups` AS g WHERE IS_ACCOUNT_GROUP_MEMBER(g.group_name))) WHEN 'k52eed3f6a0' THEN val ELSE NULL END;
ALTER TABLE `marketing`.`leads` ALTER COLUMN `region` SET MASK `main`.`policyengine`.`pe_marketing_leads__region`;
CREATE OR REPLACE FUNCTION `main`.`policyengine`.`pe_marketing_leads__score`(val BIGINT) RETURNS BIGINT
  COMMENT 'managed by policyengine'
  RETURN CASE (SELECT MAX(k.class) FROM `main`.`policyengine`.`pe_consumer_classes` AS k WHERE k.product = 'marketing.leads' AND k.consumer = (SELECT CASE WHEN COUNT(*) = 1 THEN MAX(g.consumer) END FROM `main`.`policyengine`.`pe_consumer_groups` AS g WHERE IS_ACCOUNT_GROUP_MEMBER(g.group_name))) WHEN 'k52eed3f6a0' THEN val ELSE NULL END;
ALTER TABLE `marketing`.`leads` ALTER COLUMN `score` SET MASK `main`.`policyengine`.`pe_marketing_leads__score`;
CREATE OR REPLACE FUNCTION `main`.`policyengine`.`pe_marketing_leads__source`(val STRING) RETURNS STRING
  COMMENT 'managed by policyengine'
  RETURN CASE (SELECT MAX(k.class) FROM `main`.`policyengine`.`pe_consumer_classes` AS k WHERE k.product = 'marketing.leads' AND k.consumer = (SELECT CASE WHEN COUNT(*) = 1 THEN MAX(g.consumer) END FROM `main`.`policyengine`.`pe_consumer_groups` AS g WHERE IS_ACCOUNT_GROUP_MEMBER(g.group_name))) WHEN 'k52eed3f6a0' THEN val ELSE NULL END;
ALTER TABLE `marketing`.`leads` ALTER COLUMN `source` SET MASK `main`.`policyengine`.`pe_marketing_leads__source`;
CREATE OR REPLACE FUNCTION `main`.`policyengine`.`pe_marketing_leads__created_at`(val TIMESTAMP_NTZ) RETURNS TIMESTAMP_NTZ
  COMMENT 'managed by policyengine'
  RETURN CAST(NULL AS TIMESTAMP_NTZ);
ALTER TABLE `marketing`.`leads` ALTER COLUMN `created_at` SET MASK `main`.`policyengine`.`pe_marketing_leads__created_at`;
CREATE OR REPLACE FUNCTION `main`.`policyengine`.`pe_sales_orders__order_id`(val STRING) RETURNS STRING
  COMMENT 'managed by policyengine'
  RETURN CASE (SELECT MAX(k.class) FROM `main`.`policyengine`.`pe_consumer_classes` AS k WHERE k.product = 'sales.orders' AND k.consumer = (SELECT CASE WHEN COUNT(*) = 1 THEN MAX(g.consumer) END FROM `main`.`policyengine`.`pe_consumer_groups` AS g WHERE IS_ACCOUNT_GROUP_MEMBER(g.group_name))) WHEN 'k4386da8884' THEN val ELSE NULL END;
ALTER TABLE `sales`.`orders` ALTER COLUMN `order_id` SET MASK `main`.`policyengine`.`pe_sales_orders__order_id`;
CREATE OR REPLACE FUNCTION `main`.`policyengine`.`pe_sales_orders__customer_id`(val STRING) RETURNS STRING
  COMMENT 'managed by policyengine'
  RETURN CAST(NULL AS STRING);
ALTER TABLE `sales`.`orders` ALTER COLUMN `customer_id` SET MASK `main`.`policyengine`.`pe_sales_orders__customer_id`;
CREATE OR REPLACE FUNCTION `main`.`policyengine`.`pe_sales_orders__customer_email`(val STRING) RETURNS STRING
  COMMENT 'managed by policyengine'
  RETURN CAST(NULL AS STRING);
ALTER TABLE `sales`.`orders` ALTER COLUMN `customer_email` SET MASK `main`.`policyengine`.`pe_sales_orders__customer_email`;
CREATE OR REPLACE FUNCTION `main`.`policyengine`.`pe_sales_orders__customer_name`(val STRING) RETURNS STRING
  COMMENT 'managed by policyengine'
  RETURN CAST(NULL AS STRING);
ALTER TABLE `sales`.`orders` ALTER COLUMN `customer_name` SET MASK `main`.`policyengine`.`pe_sales_orders__customer_name`;
CREATE OR REPLACE FUNCTION `main`.`policyengine`.`pe_sales_orders__card_number`(val STRING) RETURNS STRING
  COMMENT 'managed by policyengine'
  RETURN CAST(NULL AS STRING);
ALTER TABLE `sales`.`orders` ALTER COLUMN `card_number` SET MASK `main`.`policyengine`.`pe_sales_orders__card_number`;
CREATE OR REPLACE FUNCTION `main`.`policyengine`.`pe_sales_orders__amount`(val DOUBLE) RETURNS DOUBLE
  COMMENT 'managed by policyengine'
  RETURN CASE (SELECT MAX(k.class) FROM `main`.`policyengine`.`pe_consumer_classes` AS k WHERE k.product = 'sales.orders' AND k.consumer = (SELECT CASE WHEN COUNT(*) = 1 THEN MAX(g.consumer) END FROM `main`.`policyengine`.`pe_consumer_groups` AS g WHERE IS_ACCOUNT_GROUP_MEMBER(g.group_name))) WHEN 'k4386da8884' THEN val ELSE NULL END;
ALTER TABLE `sales`.`orders` ALTER COLUMN `amount` SET MASK `main`.`policyengine`.`pe_sales_orders__amount`;
CREATE OR REPLACE FUNCTION `main`.`policyengine`.`pe_sales_orders__margin`(val DOUBLE) RETURNS DOUBLE
  COMMENT 'managed by policyengine'
  RETURN CAST(NULL AS DOUBLE);
ALTER TABLE `sales`.`orders` ALTER COLUMN `margin` SET MASK `main`.`policyengine`.`pe_sales_orders__margin`;
CREATE OR REPLACE FUNCTION `main`.`policyengine`.`pe_sales_orders__currency`(val STRING) RETURNS STRING
  COMMENT 'managed by policyengine'
  RETURN CASE (SELECT MAX(k.class) FROM `main`.`policyengine`.`pe_consumer_classes` AS k WHERE k.product = 'sales.orders' AND k.consumer = (SELECT CASE WHEN COUNT(*) = 1 THEN MAX(g.consumer) END FROM `main`.`policyengine`.`pe_consumer_groups` AS g WHERE IS_ACCOUNT_GROUP_MEMBER(g.group_name))) WHEN 'k4386da8884' THEN val ELSE NULL END;
ALTER TABLE `sales`.`orders` ALTER COLUMN `currency` SET MASK `main`.`policyengine`.`pe_sales_orders__currency`;
CREATE OR REPLACE FUNCTION `main`.`policyengine`.`pe_sales_orders__region`(val STRING) RETURNS STRING
  COMMENT 'managed by policyengine'
  RETURN CASE (SELECT MAX(k.class) FROM `main`.`policyengine`.`pe_consumer_classes` AS k WHERE k.product = 'sales.orders' AND k.consumer = (SELECT CASE WHEN COUNT(*) = 1 THEN MAX(g.consumer) END FROM `main`.`policyengine`.`pe_consumer_groups` AS g WHERE IS_ACCOUNT_GROUP_MEMBER(g.group_name))) WHEN 'k4386da8884' THEN val ELSE NULL END;
ALTER TABLE `sales`.`orders` ALTER COLUMN `region` SET MASK `main`.`policyengine`.`pe_sales_orders__region`;
CREATE OR REPLACE FUNCTION `main`.`policyengine`.`pe_sales_orders__status`(val STRING) RETURNS STRING
  COMMENT 'managed by policyengine'
  RETURN CAST(NULL AS STRING);
ALTER TABLE `sales`.`orders` ALTER COLUMN `status` SET MASK `main`.`policyengine`.`pe_sales_orders__status`;
CREATE OR REPLACE FUNCTION `main`.`policyengine`.`pe_sales_orders__created_at`(val TIMESTAMP_NTZ) RETURNS TIMESTAMP_NTZ
  COMMENT 'managed by policyengine'
  RETURN CASE (SELECT MAX(k.class) FROM `main`.`policyengine`.`pe_consumer_classes` AS k WHERE k.product = 'sales.orders' AND k.consumer = (SELECT CASE WHEN COUNT(*) = 1 THEN MAX(g.consumer) END FROM `main`.`policyengine`.`pe_consumer_groups` AS g WHERE IS_ACCOUNT_GROUP_MEMBER(g.group_name))) WHEN 'k4386da8884' THEN val ELSE NULL END;
ALTER TABLE `sales`.`orders` ALTER COLUMN `created_at` SET MASK `main`.`policyengine`.`pe_sales_orders__created_at`;
CREATE OR REPLACE FUNCTION `main`.`policyengine`.`pe_sales_orders__shipped_on`(val DATE) RETURNS DATE
  COMMENT 'managed by policyengine'
  RETURN CAST(NULL AS DATE);
ALTER TABLE `sales`.`orders` ALTER COLUMN `shipped_on` SET MASK `main`.`policyengine`.`pe_sales_orders__shipped_on`;
CREATE OR REPLACE FUNCTION `main`.`policyengine`.`pe_sales_orders__client_ip`(val STRING) RETURNS STRING
  COMMENT 'managed by policyengine'
  RETURN CAST(NULL AS STRING);
ALTER TABLE `sales`.`orders` ALTER COLUMN `client_ip` SET MASK `main`.`policyengine`.`pe_sales_orders__client_ip`;

-- row filter functions
CREATE OR REPLACE FUNCTION `main`.`policyengine`.`pe_hr_employees__rows`() RETURNS BOOLEAN
  COMMENT 'managed by policyengine'
  RETURN COALESCE(CASE (SELECT MAX(k.class) FROM `main`.`policyengine`.`pe_consumer_classes` AS k WHERE k.product = 'hr.employees' AND k.consumer = (SELECT CASE WHEN COUNT(*) = 1 THEN MAX(g.consumer) END FROM `main`.`policyengine`.`pe_consumer_groups` AS g WHERE IS_ACCOUNT_GROUP_MEMBER(g.group_name))) WHEN 'k47d6b72553' THEN (TRUE) ELSE FALSE END, FALSE);
ALTER TABLE `hr`.`employees` SET ROW FILTER `main`.`policyengine`.`pe_hr_employees__rows` ON ();
CREATE OR REPLACE FUNCTION `main`.`policyengine`.`pe_hr_payroll__rows`() RETURNS BOOLEAN
  COMMENT 'managed by policyengine'
  RETURN COALESCE(CASE (SELECT MAX(k.class) FROM `main`.`policyengine`.`pe_consumer_classes` AS k WHERE k.product = 'hr.payroll' AND k.consumer = (SELECT CASE WHEN COUNT(*) = 1 THEN MAX(g.consumer) END FROM `main`.`policyengine`.`pe_consumer_groups` AS g WHERE IS_ACCOUNT_GROUP_MEMBER(g.group_name))) WHEN 'ka0716f892f' THEN (TRUE) ELSE FALSE END, FALSE);
ALTER TABLE `hr`.`payroll` SET ROW FILTER `main`.`policyengine`.`pe_hr_payroll__rows` ON ();
CREATE OR REPLACE FUNCTION `main`.`policyengine`.`pe_marketing_leads__rows`() RETURNS BOOLEAN
  COMMENT 'managed by policyengine'
  RETURN COALESCE(CASE (SELECT MAX(k.class) FROM `main`.`policyengine`.`pe_consumer_classes` AS k WHERE k.product = 'marketing.leads' AND k.consumer = (SELECT CASE WHEN COUNT(*) = 1 THEN MAX(g.consumer) END FROM `main`.`policyengine`.`pe_consumer_groups` AS g WHERE IS_ACCOUNT_GROUP_MEMBER(g.group_name))) WHEN 'k52eed3f6a0' THEN (TRUE) ELSE FALSE END, FALSE);
ALTER TABLE `marketing`.`leads` SET ROW FILTER `main`.`policyengine`.`pe_marketing_leads__rows` ON ();
CREATE OR REPLACE FUNCTION `main`.`policyengine`.`pe_sales_orders__rows`() RETURNS BOOLEAN
  COMMENT 'managed by policyengine'
  RETURN COALESCE(CASE (SELECT MAX(k.class) FROM `main`.`policyengine`.`pe_consumer_classes` AS k WHERE k.product = 'sales.orders' AND k.consumer = (SELECT CASE WHEN COUNT(*) = 1 THEN MAX(g.consumer) END FROM `main`.`policyengine`.`pe_consumer_groups` AS g WHERE IS_ACCOUNT_GROUP_MEMBER(g.group_name))) WHEN 'k4386da8884' THEN (TRUE) ELSE FALSE END, FALSE);
ALTER TABLE `sales`.`orders` SET ROW FILTER `main`.`policyengine`.`pe_sales_orders__rows` ON ();

-- grants
GRANT SELECT ON TABLE `hr`.`employees` TO `pe_frank`;
GRANT SELECT ON TABLE `hr`.`payroll` TO `pe_frank`;
GRANT SELECT ON TABLE `marketing`.`leads` TO `pe_bob`;
GRANT SELECT ON TABLE `marketing`.`leads` TO `pe_carol`;
GRANT SELECT ON TABLE `marketing`.`leads` TO `pe_judy`;
GRANT SELECT ON TABLE `sales`.`orders` TO `pe_dave`;
