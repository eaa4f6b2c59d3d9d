SELECT ap.district_id,
       100.0 * count(*) FILTER (WHERE analytics_appeal_on_time(ap.resolved_at, ap.due_at))
       / nullif(count(*) FILTER (WHERE ap.due_at IS NOT NULL AND (ap.resolved_at IS NOT NULL OR ap.due_at < now())), 0) AS value
FROM ap GROUP BY ap.district_id
