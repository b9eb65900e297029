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
  SHA256(CAST("pe_src"."v" AS TEXT)) AS "v"
FROM sales.orders AS "pe_src";

-- last4
SELECT
  "pe_src"."id" AS "id",
  CASE
    WHEN LENGTH(CAST("pe_src"."v" AS TEXT)) <= 4
    THEN REPEAT('*', LENGTH(CAST("pe_src"."v" AS TEXT)))
    ELSE LPAD(
      RIGHT(CAST("pe_src"."v" AS TEXT), 4),
      CAST(LENGTH(CAST("pe_src"."v" AS TEXT)) AS INT),
      '*'
    )
  END AS "v"
FROM sales.orders AS "pe_src";

-- first4
SELECT
  "pe_src"."id" AS "id",
  CASE
    WHEN LENGTH(CAST("pe_src"."v" AS TEXT)) <= 4
    THEN REPEAT('*', LENGTH(CAST("pe_src"."v" AS TEXT)))
    ELSE LEFT(CAST("pe_src"."v" AS TEXT), 4) || REPEAT('*', LENGTH(CAST("pe_src"."v" AS TEXT)) - 4)
  END AS "v"
FROM sales.orders AS "pe_src";

-- partial
SELECT
  "pe_src"."id" AS "id",
  CASE
    WHEN LENGTH(CAST("pe_src"."v" AS TEXT)) <= 5
    THEN REPEAT('*', LENGTH(CAST("pe_src"."v" AS TEXT)))
    ELSE LEFT(CAST("pe_src"."v" AS TEXT), 2) || LPAD(
      RIGHT(CAST("pe_src"."v" AS TEXT), 3),
      CAST(LENGTH(CAST("pe_src"."v" AS TEXT)) - 2 AS INT),
      '*'
    )
  END AS "v"
FROM sales.orders AS "pe_src";

-- email_domain
SELECT
  "pe_src"."id" AS "id",
  '***' || REGEXP_EXTRACT(CAST("pe_src"."v" AS TEXT), '@[^@]*$') AS "v"
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
  SHA256(CAST(MAKE_TIMESTAMP(EPOCH_US("pe_src"."when_ts")) AS TEXT)) AS "when_ts"
FROM sales.orders AS "pe_src";

-- last4_timestamptz
SELECT
  "pe_src"."id" AS "id",
  CASE
    WHEN LENGTH(CAST(MAKE_TIMESTAMP(EPOCH_US("pe_src"."when_tz")) AS TEXT)) <= 4
    THEN REPEAT('*', LENGTH(CAST(MAKE_TIMESTAMP(EPOCH_US("pe_src"."when_tz")) AS TEXT)))
    ELSE LPAD(
      RIGHT(CAST(MAKE_TIMESTAMP(EPOCH_US("pe_src"."when_tz")) AS TEXT), 4),
      CAST(LENGTH(CAST(MAKE_TIMESTAMP(EPOCH_US("pe_src"."when_tz")) AS TEXT)) AS INT),
      '*'
    )
  END AS "when_tz"
FROM sales.orders AS "pe_src";

-- round_number
SELECT
  "pe_src"."id" AS "id",
  CASE
    WHEN NOT ISFINITE("pe_src"."amount")
    THEN "pe_src"."amount"
    WHEN ABS("pe_src"."amount") < 1e17
    THEN CAST(CAST(ROUND(CAST(CAST("pe_src"."amount" AS TEXT) AS DECIMAL(38, 20)), 2) AS TEXT) AS DOUBLE)
    WHEN ABS("pe_src"."amount") < 1e37
    THEN CAST(CAST(ROUND(CAST(CAST("pe_src"."amount" AS TEXT) AS DECIMAL(38, 0)), 2) AS TEXT) AS DOUBLE)
    ELSE "pe_src"."amount"
  END AS "amount"
FROM sales.orders AS "pe_src";

-- round_integer
SELECT
  "pe_src"."id" AS "id",
  ROUND("pe_src"."qty", -3) AS "qty"
FROM sales.orders AS "pe_src";

-- hash_keyed (parameters: pe_hmac_ipad, pe_hmac_opad; positional: 0)
SELECT
  SHA256(
    $pe_hmac_opad || UNHEX(SHA256($pe_hmac_ipad || ENCODE(CAST("pe_src"."v" AS TEXT))))
  ) AS "v",
  SHA256(
    $pe_hmac_opad || UNHEX(SHA256($pe_hmac_ipad || ENCODE(CAST("pe_src"."w" AS TEXT))))
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
      STRPOS("pe_src"."note", 'vip') > 0
    )
  )
  AND "pe_src"."since" >= CAST('2024-01-01' AS DATE);
