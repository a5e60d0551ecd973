-- Dead letters by reason, with one example each.
SELECT reason, count() AS events, any(detail) AS example_detail, any(dead_letter_id) AS example_id
FROM {db}.dead_letters FINAL
GROUP BY reason
ORDER BY events DESC
