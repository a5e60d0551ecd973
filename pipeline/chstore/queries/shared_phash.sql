-- pHashes that several registrations uploaded (identical perceptual hash:
-- the same photo, possibly re-encoded). Near but not identical ones are in
-- signals (detector = 'photo', kind near_duplicate).
SELECT phash, uniqExact(registration_id) AS registrations, groupUniqArray(registration_id) AS registration_ids
FROM (
    SELECT registration_id,
           arrayJoin(arrayConcat(extractAll(documents, '"phash":"(?:p:)?([0-9a-fA-F]{16})"'),
                                 extractAll(prepared, '"phash":"([0-9a-f]{16})"'))) AS phash
    FROM {db}.registrations FINAL
    WHERE type = 'document.uploaded'
)
GROUP BY phash
HAVING registrations > 1
ORDER BY registrations DESC, phash
LIMIT 100
