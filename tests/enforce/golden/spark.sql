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
  SHA2(CAST(`pe_src`.`v` AS STRING), 256) AS `v`
FROM sales.orders AS `pe_src`;

-- last4
SELECT
  `pe_src`.`id` AS `id`,
  CASE
    WHEN `pe_src`.`v` IS NULL
    THEN NULL
    ELSE CASE
      WHEN LENGTH(CAST(`pe_src`.`v` AS STRING)) <= 4
      THEN LPAD('', CAST(LENGTH(CAST(`pe_src`.`v` AS STRING)) AS INT), '*')
      ELSE LPAD('', CAST(LENGTH(CAST(`pe_src`.`v` AS STRING)) - 4 AS INT), '*') || SUBSTRING(CAST(`pe_src`.`v` AS STRING), LENGTH(CAST(`pe_src`.`v` AS STRING)) - 4 + 1)
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
      THEN LPAD('', CAST(LENGTH(CAST(`pe_src`.`v` AS STRING)) AS INT), '*')
      ELSE SUBSTRING(CAST(`pe_src`.`v` AS STRING), 1, 4) || LPAD('', CAST(LENGTH(CAST(`pe_src`.`v` AS STRING)) - 4 AS INT), '*')
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
      THEN LPAD('', CAST(LENGTH(CAST(`pe_src`.`v` AS STRING)) AS INT), '*')
      ELSE SUBSTRING(CAST(`pe_src`.`v` AS STRING), 1, 2) || LPAD('', CAST(LENGTH(CAST(`pe_src`.`v` AS STRING)) - 5 AS INT), '*') || SUBSTRING(CAST(`pe_src`.`v` AS STRING), LENGTH(CAST(`pe_src`.`v` AS STRING)) - 3 + 1)
    END
  END AS `v`
FROM sales.orders AS `pe_src`;

-- email_domain
SELECT
  `pe_src`.`id` AS `id`,
  CASE
    WHEN `pe_src`.`v` IS NULL
    THEN NULL
    ELSE '***' || COALESCE(REGEXP_EXTRACT(CAST(`pe_src`.`v` AS STRING), '@[^@]*$', 0), '')
  END AS `v`
FROM sales.orders AS `pe_src`;

-- year_date
SELECT
  `pe_src`.`id` AS `id`,
  TRUNC(`pe_src`.`when_date`, 'YEAR') AS `when_date`
FROM sales.orders AS `pe_src`;

-- year_timestamp
SELECT
  `pe_src`.`id` AS `id`,
  MAKE_TIMESTAMP_NTZ(YEAR(`pe_src`.`when_ts`), 1, 1, 0, 0, 0) AS `when_ts`
FROM sales.orders AS `pe_src`;

-- year_timestamptz
SELECT
  `pe_src`.`id` AS `id`,
  MAKE_TIMESTAMP(
    YEAR(
      DATE_ADD(
        MICROSECOND,
        UNIX_MICROS(`pe_src`.`when_tz`),
        CAST('1970-01-01 00:00:00' AS TIMESTAMP_NTZ)
      )
    ),
    1,
    1,
    0,
    0,
    0,
    'UTC'
  ) AS `when_tz`
FROM sales.orders AS `pe_src`;

-- hash_timestamp
SELECT
  `pe_src`.`id` AS `id`,
  SHA2(CAST(`pe_src`.`when_ts` AS STRING), 256) AS `when_ts`
FROM sales.orders AS `pe_src`;

-- last4_timestamptz
SELECT
  `pe_src`.`id` AS `id`,
  CASE
    WHEN `pe_src`.`when_tz` IS NULL
    THEN NULL
    ELSE CASE
      WHEN LENGTH(
        CAST(DATE_ADD(
          MICROSECOND,
          UNIX_MICROS(`pe_src`.`when_tz`),
          CAST('1970-01-01 00:00:00' AS TIMESTAMP_NTZ)
        ) AS STRING)
      ) <= 4
      THEN LPAD(
        '',
        CAST(LENGTH(
          CAST(DATE_ADD(
            MICROSECOND,
            UNIX_MICROS(`pe_src`.`when_tz`),
            CAST('1970-01-01 00:00:00' AS TIMESTAMP_NTZ)
          ) AS STRING)
        ) AS INT),
        '*'
      )
      ELSE LPAD(
        '',
        CAST(LENGTH(
          CAST(DATE_ADD(
            MICROSECOND,
            UNIX_MICROS(`pe_src`.`when_tz`),
            CAST('1970-01-01 00:00:00' AS TIMESTAMP_NTZ)
          ) AS STRING)
        ) - 4 AS INT),
        '*'
      ) || SUBSTRING(
        CAST(DATE_ADD(
          MICROSECOND,
          UNIX_MICROS(`pe_src`.`when_tz`),
          CAST('1970-01-01 00:00:00' AS TIMESTAMP_NTZ)
        ) AS STRING),
        LENGTH(
          CAST(DATE_ADD(
            MICROSECOND,
            UNIX_MICROS(`pe_src`.`when_tz`),
            CAST('1970-01-01 00:00:00' AS TIMESTAMP_NTZ)
          ) AS STRING)
        ) - 4 + 1
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

-- hash_keyed: RenderError: keyed hash (HMAC-SHA-256) has no SQL form in spark: it has no HMAC function; enforce through DuckDB/Arrow, or unset the hash key to use plain SHA-256

-- row_filter
SELECT
  `pe_src`.`id` AS `id`
FROM sales.orders AS `pe_src`
WHERE
  `pe_src`.`region` = 'eu'
  AND (
    `pe_src`.`status` IN ('open', 'paid')
    OR NOT (
      LOCATE('vip', `pe_src`.`note`) > 0
    )
  )
  AND `pe_src`.`since` >= CAST('2024-01-01' AS DATE);
