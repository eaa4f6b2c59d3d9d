-- $1 from, $2 to, $3 category, $4 kind, $5 district_id.
-- Weeks of the appeals' creation, with the answers given to those same
-- appeals in each week; empty weeks between the first and last are listed.
WITH a AS MATERIALIZED (
    SELECT * FROM analytics_appeals($4, $1, $2, $3) x WHERE $5::bigint IS NULL OR x.district_id = $5
), created AS (
    SELECT date_trunc('week', created_at AT TIME ZONE 'Europe/Kyiv')::date AS week, count(*) AS n FROM a GROUP BY 1
), answered AS (
    SELECT date_trunc('week', resolved_at AT TIME ZONE 'Europe/Kyiv')::date AS week, count(*) AS n
    FROM a WHERE resolved_at IS NOT NULL GROUP BY 1
), weeks AS (
    SELECT generate_series(min(week), max(week), interval '1 week')::date AS week
    FROM (SELECT week FROM created UNION ALL SELECT week FROM answered) w
)
SELECT weeks.week AS week_start, coalesce(created.n, 0) AS submitted, coalesce(answered.n, 0) AS answered
FROM weeks
LEFT JOIN created USING (week)
LEFT JOIN answered USING (week)
ORDER BY weeks.week
