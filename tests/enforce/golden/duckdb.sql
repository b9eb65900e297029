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
  CASE WHEN "v" IS NULL THEN NULL ELSE SHA256(CAST("v" AS TEXT)) END AS "v"
FROM sales.orders;

-- last4
SELECT
  "id",
  CASE
    WHEN "v" IS NULL
    THEN NULL
    ELSE CASE
      WHEN LENGTH(CAST("v" AS TEXT)) <= 4
      THEN LPAD('', CAST(LENGTH(CAST("v" AS TEXT)) AS INT), '*')
      ELSE LPAD('', CAST(LENGTH(CAST("v" AS TEXT)) - 4 AS INT), '*') || SUBSTRING(CAST("v" AS TEXT), LENGTH(CAST("v" AS TEXT)) - 4 + 1)
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
      WHEN LENGTH(CAST("v" AS TEXT)) <= 4
      THEN LPAD('', CAST(LENGTH(CAST("v" AS TEXT)) AS INT), '*')
      ELSE SUBSTRING(CAST("v" AS TEXT), 1, 4) || LPAD('', CAST(LENGTH(CAST("v" AS TEXT)) - 4 AS INT), '*')
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
      WHEN LENGTH(CAST("v" AS TEXT)) <= 5
      THEN LPAD('', CAST(LENGTH(CAST("v" AS TEXT)) AS INT), '*')
      ELSE SUBSTRING(CAST("v" AS TEXT), 1, 2) || LPAD('', CAST(LENGTH(CAST("v" AS TEXT)) - 5 AS INT), '*') || SUBSTRING(CAST("v" AS TEXT), LENGTH(CAST("v" AS TEXT)) - 3 + 1)
    END
  END AS "v"
FROM sales.orders;

-- email_domain
SELECT
  "id",
  CASE
    WHEN "v" IS NULL
    THEN NULL
    ELSE '***' || COALESCE(REGEXP_EXTRACT(CAST("v" AS TEXT), '@[^@]*$'), '')
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

-- hash_keyed
SELECT
  CASE
    WHEN "v" IS NULL
    THEN NULL
    ELSE SHA256($pe_hmac_opad || UNHEX(SHA256($pe_hmac_ipad || ENCODE(CAST("v" AS TEXT)))))
  END AS "v"
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
