-- Review queue: the current score of every registration in review or deny,
-- strongest first, with the reasons an analyst judges.
SELECT registration_id, score, band, score_version, rule_set, as_of, reason_kinds, reasons
FROM {db}.risk_scores_latest
WHERE band IN ('review', 'deny')
ORDER BY score DESC, as_of
LIMIT 100
