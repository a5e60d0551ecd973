-- Accepted misuse reports, newest first, with the reported registration's
-- current score: did the report move it, and how far?
SELECT m.received_at, m.registration_id, m.address, m.channel, m.signer, m.report_id,
       s.score, s.band, s.score_version
FROM (SELECT * FROM {db}.misuse_reports FINAL) AS m
LEFT JOIN (SELECT registration_id, score, band, score_version FROM {db}.risk_scores_latest) AS s
    USING registration_id
ORDER BY m.received_at DESC, m.report_id
LIMIT 100
