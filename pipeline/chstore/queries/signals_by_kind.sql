-- How often each detector and kind fired, and on how many registrations.
SELECT detector, kind, count() AS signals, uniqExact(registration_id) AS registrations
FROM {db}.signals FINAL
GROUP BY detector, kind
ORDER BY signals DESC
