-- $1 from, $2 to, $3 category.
WITH a AS (
    SELECT * FROM analytics_appeals('electoral', $1, $2, $3) x WHERE x.executor_id IS NOT NULL
)
SELECT e.id, e.name, e.kind,
       count(a.id) AS appeals,
       count(a.resolved_at) AS answered,
       round(100.0 * count(*) FILTER (WHERE analytics_appeal_on_time(a.resolved_at, a.due_at))
             / nullif(count(*) FILTER (WHERE a.due_at IS NOT NULL AND (a.resolved_at IS NOT NULL OR a.due_at < now())), 0),
             1) AS on_time_pct,
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY
             extract(epoch FROM a.resolved_at - coalesce(a.registered_at, a.created_at)) / 86400.0))::numeric, 1)
           AS median_days,
       count(*) FILTER (WHERE analytics_appeal_overdue(a.status, a.resolved_at, a.due_at)) AS overdue
FROM executors e
JOIN a ON a.executor_id = e.id
WHERE e.deleted_at IS NULL
GROUP BY e.id, e.name, e.kind
ORDER BY e.id
