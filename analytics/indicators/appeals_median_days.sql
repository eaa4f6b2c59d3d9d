SELECT ap.district_id,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY
           extract(epoch FROM ap.resolved_at - coalesce(ap.registered_at, ap.created_at)) / 86400.0) AS value
FROM ap WHERE ap.resolved_at IS NOT NULL GROUP BY ap.district_id
