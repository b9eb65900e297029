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
  CASE WHEN "pe_src"."v" IS NULL THEN NULL ELSE 'it''s hidden' END AS "v"
FROM sales.orders AS "pe_src";

-- hash
SELECT
  "pe_src"."id" AS "id",
  ENCODE(SHA256(CONVERT_TO(CAST("pe_src"."v" AS VARCHAR), 'UTF8')), 'hex') AS "v"
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
      ELSE LPAD('', CAST(LENGTH(CAST("pe_src"."v" AS VARCHAR)) - 4 AS INT), '*') || SUBSTRING(CAST("pe_src"."v" AS VARCHAR) FROM LENGTH(CAST("pe_src"."v" AS VARCHAR)) - 4 + 1)
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
      ELSE SUBSTRING(CAST("pe_src"."v" AS VARCHAR) FROM 1 FOR 4) || LPAD('', CAST(LENGTH(CAST("pe_src"."v" AS VARCHAR)) - 4 AS INT), '*')
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
      ELSE SUBSTRING(CAST("pe_src"."v" AS VARCHAR) FROM 1 FOR 2) || LPAD('', CAST(LENGTH(CAST("pe_src"."v" AS VARCHAR)) - 5 AS INT), '*') || SUBSTRING(CAST("pe_src"."v" AS VARCHAR) FROM LENGTH(CAST("pe_src"."v" AS VARCHAR)) - 3 + 1)
    END
  END AS "v"
FROM sales.orders AS "pe_src";

-- email_domain
SELECT
  "pe_src"."id" AS "id",
  CASE
    WHEN "pe_src"."v" IS NULL
    THEN NULL
    ELSE '***' || COALESCE(SUBSTRING(CAST("pe_src"."v" AS VARCHAR), '@[^@]*$'), '')
  END AS "v"
FROM sales.orders AS "pe_src";

-- year_date
SELECT
  "pe_src"."id" AS "id",
  CAST(DATE_TRUNC('YEAR', "pe_src"."when_date") AS DATE) AS "when_date"
FROM sales.orders AS "pe_src";

-- year_timestamp
SELECT
  "pe_src"."id" AS "id",
  DATE_TRUNC('YEAR', "pe_src"."when_ts") AS "when_ts"
FROM sales.orders AS "pe_src";

-- year_timestamptz
SELECT
  "pe_src"."id" AS "id",
  DATE_TRUNC('YEAR', "pe_src"."when_tz" AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS "when_tz"
FROM sales.orders AS "pe_src";

-- hash_timestamp
SELECT
  "pe_src"."id" AS "id",
  ENCODE(SHA256(CONVERT_TO(CAST("pe_src"."when_ts" AS VARCHAR), 'UTF8')), 'hex') AS "when_ts"
FROM sales.orders AS "pe_src";

-- last4_timestamptz
SELECT
  "pe_src"."id" AS "id",
  CASE
    WHEN "pe_src"."when_tz" IS NULL
    THEN NULL
    ELSE CASE
      WHEN LENGTH(CAST("pe_src"."when_tz" AT TIME ZONE 'UTC' AS VARCHAR)) <= 4
      THEN LPAD('', CAST(LENGTH(CAST("pe_src"."when_tz" AT TIME ZONE 'UTC' AS VARCHAR)) AS INT), '*')
      ELSE LPAD(
        '',
        CAST(LENGTH(CAST("pe_src"."when_tz" AT TIME ZONE 'UTC' AS VARCHAR)) - 4 AS INT),
        '*'
      ) || SUBSTRING(CAST("pe_src"."when_tz" AT TIME ZONE 'UTC' AS VARCHAR) FROM LENGTH(CAST("pe_src"."when_tz" AT TIME ZONE 'UTC' AS VARCHAR)) - 4 + 1)
    END
  END AS "when_tz"
FROM sales.orders AS "pe_src";

-- round_number
SELECT
  "pe_src"."id" AS "id",
  CAST(ROUND(CAST(CAST("pe_src"."amount" AS TEXT) AS DECIMAL), 2) AS DOUBLE PRECISION) AS "amount"
FROM sales.orders AS "pe_src";

-- round_integer
SELECT
  "pe_src"."id" AS "id",
  CAST(ROUND(CAST("pe_src"."qty" AS DECIMAL), -3) AS BIGINT) AS "qty"
FROM sales.orders AS "pe_src";

-- hash_keyed (parameters: pe_hash_key; positional: 0)
SELECT
  ENCODE(
    HMAC(
      CONVERT_TO(CAST("pe_src"."v" AS VARCHAR), 'UTF8'),
      %(pe_hash_key)s,
      'sha256'
    ),
    'hex'
  ) AS "v",
  ENCODE(
    HMAC(
      CONVERT_TO(CAST("pe_src"."w" AS VARCHAR), 'UTF8'),
      %(pe_hash_key)s,
      'sha256'
    ),
    'hex'
  ) AS "w"
FROM sales.orders AS "pe_src";

-- row_filter
SELECT
  "pe_src"."id" AS "id"
FROM sales.orders AS "pe_src"
WHERE
  "pe_src"."region" = 'eu'
  AND (
    "pe_src"."status" IN ('open', 'paid')
    OR NOT (
      POSITION('vip' IN "pe_src"."note") > 0
    )
  )
  AND "pe_src"."since" >= CAST('2024-01-01' AS DATE);
