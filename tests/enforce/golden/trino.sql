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
  LOWER(TO_HEX(SHA256(TO_UTF8(CAST("pe_src"."v" AS VARCHAR))))) AS "v"
FROM sales.orders AS "pe_src";

-- last4
SELECT
  "pe_src"."id" AS "id",
  CASE
    WHEN "pe_src"."v" IS NULL
    THEN NULL
    ELSE CASE
      WHEN LENGTH(CAST("pe_src"."v" AS VARCHAR)) <= 4
      THEN LPAD('', CAST(LENGTH(CAST("pe_src"."v" AS VARCHAR)) AS INTEGER), '*')
      ELSE CONCAT(
        CAST(LPAD('', CAST(LENGTH(CAST("pe_src"."v" AS VARCHAR)) - 4 AS INTEGER), '*') AS VARCHAR),
        CAST(SUBSTR(CAST("pe_src"."v" AS VARCHAR), LENGTH(CAST("pe_src"."v" AS VARCHAR)) - 4 + 1) AS VARCHAR)
      )
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
      THEN LPAD('', CAST(LENGTH(CAST("pe_src"."v" AS VARCHAR)) AS INTEGER), '*')
      ELSE CONCAT(
        CAST(SUBSTR(CAST("pe_src"."v" AS VARCHAR), 1, 4) AS VARCHAR),
        CAST(LPAD('', CAST(LENGTH(CAST("pe_src"."v" AS VARCHAR)) - 4 AS INTEGER), '*') AS VARCHAR)
      )
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
      THEN LPAD('', CAST(LENGTH(CAST("pe_src"."v" AS VARCHAR)) AS INTEGER), '*')
      ELSE CONCAT(
        CAST(SUBSTR(CAST("pe_src"."v" AS VARCHAR), 1, 2) AS VARCHAR),
        CAST(LPAD('', CAST(LENGTH(CAST("pe_src"."v" AS VARCHAR)) - 5 AS INTEGER), '*') AS VARCHAR),
        CAST(SUBSTR(CAST("pe_src"."v" AS VARCHAR), LENGTH(CAST("pe_src"."v" AS VARCHAR)) - 3 + 1) AS VARCHAR)
      )
    END
  END AS "v"
FROM sales.orders AS "pe_src";

-- email_domain
SELECT
  "pe_src"."id" AS "id",
  CASE
    WHEN "pe_src"."v" IS NULL
    THEN NULL
    ELSE CONCAT(
      CAST('***' AS VARCHAR),
      CAST(COALESCE(REGEXP_EXTRACT(CAST("pe_src"."v" AS VARCHAR), '@[^@]*$'), '') AS VARCHAR)
    )
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
  DATE_TRUNC('YEAR', AT_TIMEZONE("pe_src"."when_tz", 'UTC')) AS "when_tz"
FROM sales.orders AS "pe_src";

-- hash_timestamp
SELECT
  "pe_src"."id" AS "id",
  LOWER(
    TO_HEX(
      SHA256(TO_UTF8(REGEXP_REPLACE(CAST("pe_src"."when_ts" AS VARCHAR), '\.?0+$', '')))
    )
  ) AS "when_ts"
FROM sales.orders AS "pe_src";

-- last4_timestamptz
SELECT
  "pe_src"."id" AS "id",
  CASE
    WHEN "pe_src"."when_tz" IS NULL
    THEN NULL
    ELSE CASE
      WHEN LENGTH(
        REGEXP_REPLACE(
          CAST(CAST(AT_TIMEZONE("pe_src"."when_tz", 'UTC') AS TIMESTAMP(6)) AS VARCHAR),
          '\.?0+$',
          ''
        )
      ) <= 4
      THEN LPAD(
        '',
        CAST(LENGTH(
          REGEXP_REPLACE(
            CAST(CAST(AT_TIMEZONE("pe_src"."when_tz", 'UTC') AS TIMESTAMP(6)) AS VARCHAR),
            '\.?0+$',
            ''
          )
        ) AS INTEGER),
        '*'
      )
      ELSE CONCAT(
        CAST(LPAD(
          '',
          CAST(LENGTH(
            REGEXP_REPLACE(
              CAST(CAST(AT_TIMEZONE("pe_src"."when_tz", 'UTC') AS TIMESTAMP(6)) AS VARCHAR),
              '\.?0+$',
              ''
            )
          ) - 4 AS INTEGER),
          '*'
        ) AS VARCHAR),
        CAST(SUBSTR(
          REGEXP_REPLACE(
            CAST(CAST(AT_TIMEZONE("pe_src"."when_tz", 'UTC') AS TIMESTAMP(6)) AS VARCHAR),
            '\.?0+$',
            ''
          ),
          LENGTH(
            REGEXP_REPLACE(
              CAST(CAST(AT_TIMEZONE("pe_src"."when_tz", 'UTC') AS TIMESTAMP(6)) AS VARCHAR),
              '\.?0+$',
              ''
            )
          ) - 4 + 1
        ) AS VARCHAR)
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

-- hash_keyed (parameters: pe_hash_key; positional: 2)
SELECT
  LOWER(TO_HEX(HMAC_SHA256(TO_UTF8(CAST("pe_src"."v" AS VARCHAR)), ?))) AS "v",
  LOWER(TO_HEX(HMAC_SHA256(TO_UTF8(CAST("pe_src"."w" AS VARCHAR)), ?))) AS "w"
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
