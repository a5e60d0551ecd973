-- Every score version of the registrations re-scored most often: how later
-- evidence changed an earlier registration's picture.
SELECT registration_id, score_version, score, band, as_of, event_id, reason_kinds
FROM {db}.risk_scores FINAL
WHERE registration_id IN (
    SELECT registration_id FROM {db}.risk_scores GROUP BY registration_id HAVING count() > 1
    ORDER BY count() DESC LIMIT 20
)
ORDER BY registration_id, score_version
