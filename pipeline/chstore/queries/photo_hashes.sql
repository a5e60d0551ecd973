-- Every uploaded document's hashes, newest first: precomputed by the upload
-- service (the event's documents) or computed by the photo detector (the
-- prepared column), and the reason when a document could not be fetched or
-- decoded. ID cards also have the portrait's pHash and colour layout (3x3
-- cells of mean Cb-128, Cr-128 as signed bytes, in hex). Near-duplicate
-- pairs and their distances are in signals (detector = 'photo').
SELECT registration_id, event_id, occurred_at,
       extractAll(documents, '"kind":"([a-z_]+)"') AS kinds,
       arrayConcat(extractAll(documents, '"phash":"(?:p:)?([0-9a-fA-F]{16})"'),
                   extractAll(prepared, '"phash":"([0-9a-f]{16})"')) AS phashes,
       arrayConcat(extractAll(documents, '"sha256":"([0-9a-fA-F]{64})"'),
                   extractAll(prepared, '"sha256":"([0-9a-f]{64})"')) AS sha256s,
       extractAll(prepared, '"roi":"([0-9a-f]{16})"') AS portrait_phashes,
       extractAll(prepared, '"roi_colour":"([0-9a-f]{36})"') AS portrait_colours,
       extractAll(prepared, '"(?:unavailable|undecodable)":"([a-z_]+)"') AS failures
FROM {db}.registrations FINAL
WHERE type = 'document.uploaded'
ORDER BY occurred_at DESC, event_id
LIMIT 100
