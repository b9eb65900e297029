-- null
SELECT
  `pe_src`.`id` AS `id`,
  NULL AS `v`
FROM sales.orders AS `pe_src`;

-- redact
SELECT
  `pe_src`.`id` AS `id`,
  CASE WHEN `pe_src`.`v` IS NULL THEN NULL ELSE '***' END AS `v`
FROM sales.orders AS `pe_src`;

-- redact_custom
SELECT
  `pe_src`.`id` AS `id`,
  CASE WHEN `pe_src`.`v` IS NULL THEN NULL ELSE 'it\'s hidden' END AS `v`
FROM sales.orders AS `pe_src`;

-- hash
SELECT
  `pe_src`.`id` AS `id`,
  TO_HEX(SHA256(CAST(`pe_src`.`v` AS STRING))) AS `v`
FROM sales.orders AS `pe_src`;

-- last4
SELECT
  `pe_src`.`id` AS `id`,
  CASE
    WHEN `pe_src`.`v` IS NULL
    THEN NULL
    ELSE CASE
      WHEN LENGTH(CAST(`pe_src`.`v` AS STRING)) <= 4
      THEN LPAD('', CAST(LENGTH(CAST(`pe_src`.`v` AS STRING)) AS INT64), '*')
      ELSE LPAD('', CAST(LENGTH(CAST(`pe_src`.`v` AS STRING)) - 4 AS INT64), '*') || SUBSTRING(CAST(`pe_src`.`v` AS STRING), LENGTH(CAST(`pe_src`.`v` AS STRING)) - 4 + 1)
    END
  END AS `v`
FROM sales.orders AS `pe_src`;

-- first4
SELECT
  `pe_src`.`id` AS `id`,
  CASE
    WHEN `pe_src`.`v` IS NULL
    THEN NULL
    ELSE CASE
      WHEN LENGTH(CAST(`pe_src`.`v` AS STRING)) <= 4
      THEN LPAD('', CAST(LENGTH(CAST(`pe_src`.`v` AS STRING)) AS INT64), '*')
      ELSE SUBSTRING(CAST(`pe_src`.`v` AS STRING), 1, 4) || LPAD('', CAST(LENGTH(CAST(`pe_src`.`v` AS STRING)) - 4 AS INT64), '*')
    END
  END AS `v`
FROM sales.orders AS `pe_src`;

-- partial
SELECT
  `pe_src`.`id` AS `id`,
  CASE
    WHEN `pe_src`.`v` IS NULL
    THEN NULL
    ELSE CASE
      WHEN LENGTH(CAST(`pe_src`.`v` AS STRING)) <= 5
      THEN LPAD('', CAST(LENGTH(CAST(`pe_src`.`v` AS STRING)) AS INT64), '*')
      ELSE SUBSTRING(CAST(`pe_src`.`v` AS STRING), 1, 2) || LPAD('', CAST(LENGTH(CAST(`pe_src`.`v` AS STRING)) - 5 AS INT64), '*') || SUBSTRING(CAST(`pe_src`.`v` AS STRING), LENGTH(CAST(`pe_src`.`v` AS STRING)) - 3 + 1)
    END
  END AS `v`
FROM sales.orders AS `pe_src`;

-- email_domain
SELECT
  `pe_src`.`id` AS `id`,
  CASE
    WHEN `pe_src`.`v` IS NULL
    THEN NULL
    ELSE '***' || COALESCE(REGEXP_EXTRACT(CAST(`pe_src`.`v` AS STRING), '@[^@]*$'), '')
  END AS `v`
FROM sales.orders AS `pe_src`;

-- year_date
SELECT
  `pe_src`.`id` AS `id`,
  DATE_TRUNC(`pe_src`.`when_date`, YEAR) AS `when_date`
FROM sales.orders AS `pe_src`;

-- year_timestamp
SELECT
  `pe_src`.`id` AS `id`,
  TIMESTAMP_TRUNC(`pe_src`.`when_ts`, YEAR) AS `when_ts`
FROM sales.orders AS `pe_src`;

-- year_timestamptz
SELECT
  `pe_src`.`id` AS `id`,
  TIMESTAMP_TRUNC(`pe_src`.`when_tz`, YEAR) AS `when_tz`
FROM sales.orders AS `pe_src`;

-- hash_timestamp
SELECT
  `pe_src`.`id` AS `id`,
  TO_HEX(SHA256(CAST(`pe_src`.`when_ts` AS STRING))) AS `when_ts`
FROM sales.orders AS `pe_src`;

-- last4_timestamptz
SELECT
  `pe_src`.`id` AS `id`,
  CASE
    WHEN `pe_src`.`when_tz` IS NULL
    THEN NULL
    ELSE CASE
      WHEN LENGTH(CAST(DATETIME(`pe_src`.`when_tz`, 'UTC') AS STRING)) <= 4
      THEN LPAD('', CAST(LENGTH(CAST(DATETIME(`pe_src`.`when_tz`, 'UTC') AS STRING)) AS INT64), '*')
      ELSE LPAD(
        '',
        CAST(LENGTH(CAST(DATETIME(`pe_src`.`when_tz`, 'UTC') AS STRING)) - 4 AS INT64),
        '*'
      ) || SUBSTRING(
        CAST(DATETIME(`pe_src`.`when_tz`, 'UTC') AS STRING),
        LENGTH(CAST(DATETIME(`pe_src`.`when_tz`, 'UTC') AS STRING)) - 4 + 1
      )
    END
  END AS `when_tz`
FROM sales.orders AS `pe_src`;

-- round_number
SELECT
  `pe_src`.`id` AS `id`,
  ROUND(`pe_src`.`amount`, 2) AS `amount`
FROM sales.orders AS `pe_src`;

-- round_integer
SELECT
  `pe_src`.`id` AS `id`,
  ROUND(`pe_src`.`qty`, -3) AS `qty`
FROM sales.orders AS `pe_src`;

-- hash_keyed: RenderError: keyed hash (HMAC-SHA-256) has no SQL form in bigquery: it has no HMAC function; enforce through DuckDB/Arrow, or unset the hash key to use plain SHA-256

-- row_filter
SELECT
  `pe_src`.`id` AS `id`
FROM sales.orders AS `pe_src`
WHERE
  `pe_src`.`region` = 'eu'
  AND (
    `pe_src`.`status` IN ('open', 'paid')
    OR NOT (
      INSTR(`pe_src`.`note`, 'vip') > 0
    )
  )
  AND `pe_src`.`since` >= CAST('2024-01-01' AS DATE);
