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
  CASE WHEN "v" IS NULL THEN NULL ELSE 'it\'s hidden' END AS "v"
FROM sales.orders;

-- hash
SELECT
  "id",
  SHA2(CAST("v" AS VARCHAR), 256) AS "v"
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
      ELSE LPAD('', CAST(LENGTH(CAST("v" AS VARCHAR)) - 4 AS INT), '*') || SUBSTRING(CAST("v" AS VARCHAR), LENGTH(CAST("v" AS VARCHAR)) - 4 + 1)
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
      ELSE SUBSTRING(CAST("v" AS VARCHAR), 1, 4) || LPAD('', CAST(LENGTH(CAST("v" AS VARCHAR)) - 4 AS INT), '*')
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
      ELSE SUBSTRING(CAST("v" AS VARCHAR), 1, 2) || LPAD('', CAST(LENGTH(CAST("v" AS VARCHAR)) - 5 AS INT), '*') || SUBSTRING(CAST("v" AS VARCHAR), LENGTH(CAST("v" AS VARCHAR)) - 3 + 1)
    END
  END AS "v"
FROM sales.orders;

-- email_domain
SELECT
  "id",
  CASE
    WHEN "v" IS NULL
    THEN NULL
    ELSE '***' || COALESCE(REGEXP_SUBSTR(CAST("v" AS VARCHAR), '@[^@]*$'), '')
  END AS "v"
FROM sales.orders;

-- year_date
SELECT
  "id",
  DATE_TRUNC('YEAR', "when_date") AS "when_date"
FROM sales.orders;

-- year_timestamp
SELECT
  "id",
  DATE_TRUNC('YEAR', "when_ts") AS "when_ts"
FROM sales.orders;

-- year_timestamptz
SELECT
  "id",
  DATE_TRUNC('YEAR', CONVERT_TIMEZONE('UTC', "when_tz")) AS "when_tz"
FROM sales.orders;

-- hash_timestamp
SELECT
  "id",
  SHA2(CAST("when_ts" AS VARCHAR), 256) AS "when_ts"
FROM sales.orders;

-- last4_timestamptz
SELECT
  "id",
  CASE
    WHEN "when_tz" IS NULL
    THEN NULL
    ELSE CASE
      WHEN LENGTH(CAST(CAST(CONVERT_TIMEZONE('UTC', "when_tz") AS TIMESTAMPNTZ) AS VARCHAR)) <= 4
      THEN LPAD(
        '',
        CAST(LENGTH(CAST(CAST(CONVERT_TIMEZONE('UTC', "when_tz") AS TIMESTAMPNTZ) AS VARCHAR)) AS INT),
        '*'
      )
      ELSE LPAD(
        '',
        CAST(LENGTH(CAST(CAST(CONVERT_TIMEZONE('UTC', "when_tz") AS TIMESTAMPNTZ) AS VARCHAR)) - 4 AS INT),
        '*'
      ) || SUBSTRING(
        CAST(CAST(CONVERT_TIMEZONE('UTC', "when_tz") AS TIMESTAMPNTZ) AS VARCHAR),
        LENGTH(CAST(CAST(CONVERT_TIMEZONE('UTC', "when_tz") AS TIMESTAMPNTZ) AS VARCHAR)) - 4 + 1
      )
    END
  END AS "when_tz"
FROM sales.orders;

-- round_number
SELECT
  "id",
  ROUND("amount", 2) AS "amount"
FROM sales.orders;

-- round_integer
SELECT
  "id",
  ROUND("qty", -3) AS "qty"
FROM sales.orders;

-- hash_keyed: RenderError: keyed hash (HMAC-SHA-256) has no SQL form in snowflake: it has no HMAC function; enforce through DuckDB/Arrow, or unset the hash key to use plain SHA-256

-- row_filter
SELECT
  "id"
FROM sales.orders
WHERE
  "region" = 'eu'
  AND (
    "status" IN ('open', 'paid') OR NOT (
      CHARINDEX('vip', "note") > 0
    )
  )
  AND "since" >= CAST('2024-01-01' AS DATE);
