-- Keys flagged in more than one window (a farm that kept going, or an
-- episode spanning adjacent windows), with their first and last window and
-- peak: the keys to block or investigate first.
SELECT key_class, key, count() AS windows, min(window_start) AS first_window,
    max(window_end) AS last_window, max(distinct_identities) AS peak_identities,
    max(ratio) AS peak_ratio, sum(members_total) AS registrations_flagged
FROM {db}.burst_episodes
WHERE window_seconds = 60
GROUP BY key_class, key
HAVING windows > 1
ORDER BY windows DESC, peak_ratio DESC
LIMIT 100
