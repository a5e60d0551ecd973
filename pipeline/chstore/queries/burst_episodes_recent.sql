-- Burst episodes of the last day of data, strongest first: which key (IP,
-- /24, device, user agent, ...) brought how many distinct identities in
-- which window, against what baseline, and the registrations involved
-- (members lists the first ones; members_total counts them all).
SELECT window_start, window_end, kind, key_class, key, submissions, distinct_identities,
    baseline, ratio, p_value, members_total, members, first_written
FROM {db}.burst_episodes
WHERE window_start >= (SELECT max(window_start) FROM {db}.burst_episodes) - 86400
ORDER BY score DESC, window_start
LIMIT 100
