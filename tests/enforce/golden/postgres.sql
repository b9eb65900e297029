-- null
SELECT
  "id",
  NULL AS "v"
FROM sales.orders;

-- redact
SELECT
  "id",
  CASE WHEN "v" IS NULL THEN NULL ELSE '***' END AS "v"
FROM sales.orders;

-- redact_custom
SELECT
  "id",
  CASE WHEN "v" IS NULL THEN NULL ELSE 'it''s hidden' END AS "v"
FROM sales.orders;

-- hash
SELECT
  "id",
  ENCODE(SHA256(CONVERT_TO(CAST("v" AS VARCHAR), 'UTF8')), 'hex') AS "v"
FROM sales.orders;

-- last4
SELECT
  "id",
  CASE
    WHEN "v" IS NULL
    THEN NULL
    ELSE CASE
      WHEN LENGTH(CAST("v" AS VARCHAR)) <= 4
      THEN LPAD('', CAST(LENGTH(CAST("v" AS VARCHAR)) AS INT), '*')
      ELSE LPAD('', CAST(LENGTH(CAST("v" AS VARCHAR)) - 4 AS INT), '*') || SUBSTRING(CAST("v" AS VARCHAR) FROM LENGTH(CAST("v" AS VARCHAR)) - 4 + 1)
    END
  END AS "v"
FROM sales.orders;

-- first4
SELECT
  "id",
  CASE
    WHEN "v" IS NULL
    THEN NULL
    ELSE CASE
      WHEN LENGTH(CAST("v" AS VARCHAR)) <= 4
      THEN LPAD('', CAST(LENGTH(CAST("v" AS VARCHAR)) AS INT), '*')
      ELSE SUBSTRING(CAST("v" AS VARCHAR) FROM 1 FOR 4) || LPAD('', CAST(LENGTH(CAST("v" AS VARCHAR)) - 4 AS INT), '*')
    END
  END AS "v"
FROM sales.orders;

-- partial
SELECT
  "id",
  CASE
    WHEN "v" IS NULL
    THEN NULL
    ELSE CASE
      WHEN LENGTH(CAST("v" AS VARCHAR)) <= 5
      THEN LPAD('', CAST(LENGTH(CAST("v" AS VARCHAR)) AS INT), '*')
      ELSE SUBSTRING(CAST("v" AS VARCHAR) FROM 1 FOR 2) || LPAD('', CAST(LENGTH(CAST("v" AS VARCHAR)) - 5 AS INT), '*') || SUBSTRING(CAST("v" AS VARCHAR) FROM LENGTH(CAST("v" AS VARCHAR)) - 3 + 1)
    END
  END AS "v"
FROM sales.orders;

-- email_domain
SELECT
  "id",
  CASE
    WHEN "v" IS NULL
    THEN NULL
    ELSE '***' || COALESCE(SUBSTRING(CAST("v" AS VARCHAR), '@[^@]*$'), '')
  END AS "v"
FROM sales.orders;

-- year_date
SELECT
  "id",
  CAST(DATE_TRUNC('YEAR', "when_date") AS DATE) AS "when_date"
FROM sales.orders;

-- year_timestamp
SELECT
  "id",
  DATE_TRUNC('YEAR', "when_ts") AS "when_ts"
FROM sales.orders;

-- year_timestamptz
SELECT
  "id",
  DATE_TRUNC('YEAR', "when_tz" AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS "when_tz"
FROM sales.orders;

-- hash_timestamp
SELECT
  "id",
  ENCODE(SHA256(CONVERT_TO(CAST("when_ts" AS VARCHAR), 'UTF8')), 'hex') AS "when_ts"
FROM sales.orders;

-- last4_timestamptz
SELECT
  "id",
  CASE
    WHEN "when_tz" IS NULL
    THEN NULL
    ELSE CASE
      WHEN LENGTH(CAST("when_tz" AT TIME ZONE 'UTC' AS VARCHAR)) <= 4
      THEN LPAD('', CAST(LENGTH(CAST("when_tz" AT TIME ZONE 'UTC' AS VARCHAR)) AS INT), '*')
      ELSE LPAD('', CAST(LENGTH(CAST("when_tz" AT TIME ZONE 'UTC' AS VARCHAR)) - 4 AS INT), '*') || SUBSTRING(CAST("when_tz" AT TIME ZONE 'UTC' AS VARCHAR) FROM LENGTH(CAST("when_tz" AT TIME ZONE 'UTC' AS VARCHAR)) - 4 + 1)
    END
  END AS "when_tz"
FROM sales.orders;

-- round_number
SELECT
  "id",
  CAST(ROUND(CAST("amount" AS DECIMAL), 2) AS DOUBLE PRECISION) AS "amount"
FROM sales.orders;

-- round_integer
SELECT
  "id",
  CAST(ROUND(CAST("qty" AS DECIMAL), -3) AS BIGINT) AS "qty"
FROM sales.orders;

-- hash_keyed (parameters: pe_hash_key; positional: 0)
SELECT
  ENCODE(HMAC(CONVERT_TO(CAST("v" AS VARCHAR), 'UTF8'), %(pe_hash_key)s, 'sha256'), 'hex') AS "v",
  ENCODE(HMAC(CONVERT_TO(CAST("w" AS VARCHAR), 'UTF8'), %(pe_hash_key)s, 'sha256'), 'hex') AS "w"
FROM sales.orders;

-- row_filter
SELECT
  "id"
FROM sales.orders
WHERE
  "region" = 'eu'
  AND (
    "status" IN ('open', 'paid') OR NOT (
      POSITION('vip' IN "note") > 0
    )
  )
  AND "since" >= CAST('2024-01-01' AS DATE);
