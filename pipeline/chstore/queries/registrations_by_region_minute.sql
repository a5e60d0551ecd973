-- Registrations per region and minute over the last hour of data: the
-- wave's own curve, against which a region burst stands out.
SELECT minute, region_code, submissions, registrations, distinct_niks
FROM {db}.registrations_by_region_minute
WHERE minute >= (SELECT max(minute) FROM {db}.registrations_by_region_minute) - 3600
ORDER BY minute, region_code
