-- The current band distribution, as the selection service sees it.
SELECT band, count() AS registrations, avg(score) AS mean_score
FROM {db}.risk_scores_latest
GROUP BY band
ORDER BY band
