-- null
SELECT
  "pe_src"."id" AS "id",
  NULL AS "v"
FROM sales.orders AS "pe_src";

-- redact
SELECT
  "pe_src"."id" AS "id",
  CASE WHEN "pe_src"."v" IS NULL THEN NULL ELSE '***' END AS "v"
FROM sales.orders AS "pe_src";

-- redact_custom
SELECT
  "pe_src"."id" AS "id",
  CASE WHEN "pe_src"."v" IS NULL THEN NULL ELSE 'it\'s hidden' END AS "v"
FROM sales.orders AS "pe_src";

-- hash
SELECT
  "pe_src"."id" AS "id",
  SHA2(CAST("pe_src"."v" AS VARCHAR), 256) AS "v"
FROM sales.orders AS "pe_src";

-- last4
SELECT
  "pe_src"."id" AS "id",
  CASE
    WHEN "pe_src"."v" IS NULL
    THEN NULL
    ELSE CASE
      WHEN LENGTH(CAST("pe_src"."v" AS VARCHAR)) <= 4
      THEN LPAD('', CAST(LENGTH(CAST("pe_src"."v" AS VARCHAR)) AS INT), '*')
      ELSE LPAD('', CAST(LENGTH(CAST("pe_src"."v" AS VARCHAR)) - 4 AS INT), '*') || SUBSTRING(CAST("pe_src"."v" AS VARCHAR), LENGTH(CAST("pe_src"."v" AS VARCHAR)) - 4 + 1)
    END
  END AS "v"
FROM sales.orders AS "pe_src";

-- first4
SELECT
  "pe_src"."id" AS "id",
  CASE
    WHEN "pe_src"."v" IS NULL
    THEN NULL
    ELSE CASE
      WHEN LENGTH(CAST("pe_src"."v" AS VARCHAR)) <= 4
      THEN LPAD('', CAST(LENGTH(CAST("pe_src"."v" AS VARCHAR)) AS INT), '*')
      ELSE SUBSTRING(CAST("pe_src"."v" AS VARCHAR), 1, 4) || LPAD('', CAST(LENGTH(CAST("pe_src"."v" AS VARCHAR)) - 4 AS INT), '*')
    END
  END AS "v"
FROM sales.orders AS "pe_src";

-- partial
SELECT
  "pe_src"."id" AS "id",
  CASE
    WHEN "pe_src"."v" IS NULL
    THEN NULL
    ELSE CASE
      WHEN LENGTH(CAST("pe_src"."v" AS VARCHAR)) <= 5
      THEN LPAD('', CAST(LENGTH(CAST("pe_src"."v" AS VARCHAR)) AS INT), '*')
      ELSE SUBSTRING(CAST("pe_src"."v" AS VARCHAR), 1, 2) || LPAD('', CAST(LENGTH(CAST("pe_src"."v" AS VARCHAR)) - 5 AS INT), '*') || SUBSTRING(CAST("pe_src"."v" AS VARCHAR), LENGTH(CAST("pe_src"."v" AS VARCHAR)) - 3 + 1)
    END
  END AS "v"
FROM sales.orders AS "pe_src";

-- email_domain
SELECT
  "pe_src"."id" AS "id",
  CASE
    WHEN "pe_src"."v" IS NULL
    THEN NULL
    ELSE '***' || COALESCE(REGEXP_SUBSTR(CAST("pe_src"."v" AS VARCHAR), '@[^@]*$'), '')
  END AS "v"
FROM sales.orders AS "pe_src";

-- year_date
SELECT
  "pe_src"."id" AS "id",
  DATE_TRUNC('YEAR', "pe_src"."when_date") AS "when_date"
FROM sales.orders AS "pe_src";

-- year_timestamp
SELECT
  "pe_src"."id" AS "id",
  DATE_TRUNC('YEAR', "pe_src"."when_ts") AS "when_ts"
FROM sales.orders AS "pe_src";

-- year_timestamptz
SELECT
  "pe_src"."id" AS "id",
  DATE_TRUNC('YEAR', CONVERT_TIMEZONE('UTC', "pe_src"."when_tz")) AS "when_tz"
FROM sales.orders AS "pe_src";

-- hash_timestamp
SELECT
  "pe_src"."id" AS "id",
  SHA2(CAST("pe_src"."when_ts" AS VARCHAR), 256) AS "when_ts"
FROM sales.orders AS "pe_src";

-- last4_timestamptz
SELECT
  "pe_src"."id" AS "id",
  CASE
    WHEN "pe_src"."when_tz" IS NULL
    THEN NULL
    ELSE CASE
      WHEN LENGTH(
        CAST(CAST(CONVERT_TIMEZONE('UTC', "pe_src"."when_tz") AS TIMESTAMPNTZ) AS VARCHAR)
      ) <= 4
      THEN LPAD(
        '',
        CAST(LENGTH(
          CAST(CAST(CONVERT_TIMEZONE('UTC', "pe_src"."when_tz") AS TIMESTAMPNTZ) AS VARCHAR)
        ) AS INT),
        '*'
      )
      ELSE LPAD(
        '',
        CAST(LENGTH(
          CAST(CAST(CONVERT_TIMEZONE('UTC', "pe_src"."when_tz") AS TIMESTAMPNTZ) AS VARCHAR)
        ) - 4 AS INT),
        '*'
      ) || SUBSTRING(
        CAST(CAST(CONVERT_TIMEZONE('UTC', "pe_src"."when_tz") AS TIMESTAMPNTZ) AS VARCHAR),
        LENGTH(
          CAST(CAST(CONVERT_TIMEZONE('UTC', "pe_src"."when_tz") AS TIMESTAMPNTZ) AS VARCHAR)
        ) - 4 + 1
      )
    END
  END AS "when_tz"
FROM sales.orders AS "pe_src";

-- round_number
SELECT
  "pe_src"."id" AS "id",
  ROUND("pe_src"."amount", 2) AS "amount"
FROM sales.orders AS "pe_src";

-- round_integer
SELECT
  "pe_src"."id" AS "id",
  ROUND("pe_src"."qty", -3) AS "qty"
FROM sales.orders AS "pe_src";

-- hash_keyed: RenderError: keyed hash (HMAC-SHA-256) has no SQL form in snowflake: it has no HMAC function; enforce through DuckDB/Arrow, or unset the hash key to use plain SHA-256

-- row_filter
SELECT
  "pe_src"."id" AS "id"
FROM sales.orders AS "pe_src"
WHERE
  "pe_src"."region" = 'eu'
  AND (
    "pe_src"."status" IN ('open', 'paid')
    OR NOT (
      CHARINDEX('vip', "pe_src"."note") > 0
    )
  )
  AND "pe_src"."since" >= CAST('2024-01-01' AS DATE);
