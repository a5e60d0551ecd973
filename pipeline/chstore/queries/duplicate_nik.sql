-- NIKs used by more than one registration, with the registrations involved.
SELECT nik, uniqExact(registration_id) AS registrations, groupUniqArray(registration_id) AS registration_ids,
       min(occurred_at) AS first_seen, max(occurred_at) AS last_seen
FROM {db}.registrations FINAL
WHERE type = 'registration.submitted'
GROUP BY nik
HAVING registrations > 1
ORDER BY registrations DESC, nik
LIMIT 100
