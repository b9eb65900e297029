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
  SHA256(CAST("v" AS TEXT)) AS "v"
FROM sales.orders;

-- last4
SELECT
  "id",
  CASE
    WHEN LENGTH(CAST("v" AS TEXT)) <= 4
    THEN REPEAT('*', LENGTH(CAST("v" AS TEXT)))
    ELSE LPAD(RIGHT(CAST("v" AS TEXT), 4), CAST(LENGTH(CAST("v" AS TEXT)) AS INT), '*')
  END AS "v"
FROM sales.orders;

-- first4
SELECT
  "id",
  CASE
    WHEN LENGTH(CAST("v" AS TEXT)) <= 4
    THEN REPEAT('*', LENGTH(CAST("v" AS TEXT)))
    ELSE LEFT(CAST("v" AS TEXT), 4) || REPEAT('*', LENGTH(CAST("v" AS TEXT)) - 4)
  END AS "v"
FROM sales.orders;

-- partial
SELECT
  "id",
  CASE
    WHEN LENGTH(CAST("v" AS TEXT)) <= 5
    THEN REPEAT('*', LENGTH(CAST("v" AS TEXT)))
    ELSE LEFT(CAST("v" AS TEXT), 2) || LPAD(RIGHT(CAST("v" AS TEXT), 3), CAST(LENGTH(CAST("v" AS TEXT)) - 2 AS INT), '*')
  END AS "v"
FROM sales.orders;

-- email_domain
SELECT
  "id",
  '***' || REGEXP_EXTRACT(CAST("v" AS TEXT), '@[^@]*$') AS "v"
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
  SHA256(CAST(MAKE_TIMESTAMP(EPOCH_US("when_ts")) AS TEXT)) AS "when_ts"
FROM sales.orders;

-- last4_timestamptz
SELECT
  "id",
  CASE
    WHEN LENGTH(CAST(MAKE_TIMESTAMP(EPOCH_US("when_tz")) AS TEXT)) <= 4
    THEN REPEAT('*', LENGTH(CAST(MAKE_TIMESTAMP(EPOCH_US("when_tz")) AS TEXT)))
    ELSE LPAD(
      RIGHT(CAST(MAKE_TIMESTAMP(EPOCH_US("when_tz")) AS TEXT), 4),
      CAST(LENGTH(CAST(MAKE_TIMESTAMP(EPOCH_US("when_tz")) AS TEXT)) AS INT),
      '*'
    )
  END AS "when_tz"
FROM sales.orders;

-- round_number
SELECT
  "id",
  CASE
    WHEN NOT ISFINITE("amount")
    THEN "amount"
    WHEN ABS("amount") < 1e17
    THEN CAST(CAST(ROUND(CAST(CAST("amount" AS TEXT) AS DECIMAL(38, 20)), 2) AS TEXT) AS DOUBLE)
    WHEN ABS("amount") < 1e37
    THEN CAST(CAST(ROUND(CAST(CAST("amount" AS TEXT) AS DECIMAL(38, 0)), 2) AS TEXT) AS DOUBLE)
    ELSE "amount"
  END AS "amount"
FROM sales.orders;

-- round_integer
SELECT
  "id",
  ROUND("qty", -3) AS "qty"
FROM sales.orders;

-- hash_keyed (parameters: pe_hmac_ipad, pe_hmac_opad; positional: 0)
SELECT
  SHA256($pe_hmac_opad || UNHEX(SHA256($pe_hmac_ipad || ENCODE(CAST("v" AS TEXT))))) AS "v",
  SHA256($pe_hmac_opad || UNHEX(SHA256($pe_hmac_ipad || ENCODE(CAST("w" AS TEXT))))) AS "w"
FROM sales.orders;

-- row_filter
SELECT
  "id"
FROM sales.orders
WHERE
  "region" = 'eu'
  AND (
    "status" IN ('open', 'paid') OR NOT (
      STRPOS("note", 'vip') > 0
    )
  )
  AND "since" >= CAST('2024-01-01' AS DATE);
