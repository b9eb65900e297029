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
  LOWER(TO_HEX(SHA256(TO_UTF8(CAST("v" AS VARCHAR))))) AS "v"
FROM sales.orders;

-- last4
SELECT
  "id",
  CASE
    WHEN "v" IS NULL
    THEN NULL
    ELSE CASE
      WHEN LENGTH(CAST("v" AS VARCHAR)) <= 4
      THEN LPAD('', CAST(LENGTH(CAST("v" AS VARCHAR)) AS INTEGER), '*')
      ELSE CONCAT(
        CAST(LPAD('', CAST(LENGTH(CAST("v" AS VARCHAR)) - 4 AS INTEGER), '*') AS VARCHAR),
        CAST(SUBSTR(CAST("v" AS VARCHAR), LENGTH(CAST("v" AS VARCHAR)) - 4 + 1) AS VARCHAR)
      )
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
      THEN LPAD('', CAST(LENGTH(CAST("v" AS VARCHAR)) AS INTEGER), '*')
      ELSE CONCAT(
        CAST(SUBSTR(CAST("v" AS VARCHAR), 1, 4) AS VARCHAR),
        CAST(LPAD('', CAST(LENGTH(CAST("v" AS VARCHAR)) - 4 AS INTEGER), '*') AS VARCHAR)
      )
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
      THEN LPAD('', CAST(LENGTH(CAST("v" AS VARCHAR)) AS INTEGER), '*')
      ELSE CONCAT(
        CAST(SUBSTR(CAST("v" AS VARCHAR), 1, 2) AS VARCHAR),
        CAST(LPAD('', CAST(LENGTH(CAST("v" AS VARCHAR)) - 5 AS INTEGER), '*') AS VARCHAR),
        CAST(SUBSTR(CAST("v" AS VARCHAR), LENGTH(CAST("v" AS VARCHAR)) - 3 + 1) AS VARCHAR)
      )
    END
  END AS "v"
FROM sales.orders;

-- email_domain
SELECT
  "id",
  CASE
    WHEN "v" IS NULL
    THEN NULL
    ELSE CONCAT(
      CAST('***' AS VARCHAR),
      CAST(COALESCE(REGEXP_EXTRACT(CAST("v" AS VARCHAR), '@[^@]*$'), '') AS VARCHAR)
    )
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
  DATE_TRUNC('YEAR', AT_TIMEZONE("when_tz", 'UTC')) AS "when_tz"
FROM sales.orders;

-- hash_timestamp
SELECT
  "id",
  LOWER(TO_HEX(SHA256(TO_UTF8(CAST("when_ts" AS VARCHAR))))) AS "when_ts"
FROM sales.orders;

-- last4_timestamptz
SELECT
  "id",
  CASE
    WHEN "when_tz" IS NULL
    THEN NULL
    ELSE CASE
      WHEN LENGTH(CAST(CAST(AT_TIMEZONE("when_tz", 'UTC') AS TIMESTAMP(6)) AS VARCHAR)) <= 4
      THEN LPAD(
        '',
        CAST(LENGTH(CAST(CAST(AT_TIMEZONE("when_tz", 'UTC') AS TIMESTAMP(6)) AS VARCHAR)) AS INTEGER),
        '*'
      )
      ELSE CONCAT(
        CAST(LPAD(
          '',
          CAST(LENGTH(CAST(CAST(AT_TIMEZONE("when_tz", 'UTC') AS TIMESTAMP(6)) AS VARCHAR)) - 4 AS INTEGER),
          '*'
        ) AS VARCHAR),
        CAST(SUBSTR(
          CAST(CAST(AT_TIMEZONE("when_tz", 'UTC') AS TIMESTAMP(6)) AS VARCHAR),
          LENGTH(CAST(CAST(AT_TIMEZONE("when_tz", 'UTC') AS TIMESTAMP(6)) AS VARCHAR)) - 4 + 1
        ) AS VARCHAR)
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

-- hash_keyed (parameters: pe_hash_key; positional: 2)
SELECT
  LOWER(TO_HEX(HMAC_SHA256(TO_UTF8(CAST("v" AS VARCHAR)), ?))) AS "v",
  LOWER(TO_HEX(HMAC_SHA256(TO_UTF8(CAST("w" AS VARCHAR)), ?))) AS "w"
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
