// Package identity is the identity detector: is the NIK (the 16-digit
// Indonesian KTP number) well formed and consistent with the form, and is
// the same NIK or the same person behind several registrations.
//
// It reads registration.submitted events only. Pure Go over plain values,
// no IO; not safe for concurrent use.
//
// # Signals (detector "identity")
//
// Per-event NIK checks (stateless; a function of the one submission):
//
//	kind                     key                  evidence
//	nik_malformed            nik                  nik, reason (length | non_digit | zero_regency |
//	                                              zero_district | zero_serial | separators), detail, expected
//	nik_unknown_province     nik                  nik, nik_digits (PP), expected
//	nik_invalid_birth_date   nik                  nik, nik_digits (DDMMYY), reason, expected
//	nik_birth_date_mismatch  nik|birth_date       nik, nik_digits (DDMMYY), expected_digits, declared_birth_date
//	nik_gender_mismatch      nik|gender           nik, nik_digits (DD), nik_gender, declared_gender, expected
//	nik_region_mismatch      nik|region_code      nik, nik_digits (first 2/4/6), region_code
//
// The key holds everything the evidence is computed from, so a retry with
// the same data reproduces the same signal (retries are not punished twice)
// and a retry with other data adds a signal rather than overwriting one.
// The NIK is PP KK CC DDMMYY NNNN: province (Kemendagri code, list in
// provinces.go with its source), regency/city, district, birth date with
// day+40 for women, serial. The century is not in the NIK: the two-digit
// year is compared with the declared year mod 100, and 29 February is valid
// when YY is divisible by 4. The birth date is compared using the NIK's own
// sex offset so a wrong gender is reported once, as nik_gender_mismatch.
// A NIK written with spaces, dots or dashes is nik_malformed (separators)
// but is matched against other registrations without them: padding a NIK
// does not hide a duplicate. Malformed NIKs are matched on their exact text.
//
// Cross-registration signals (stateful):
//
//	duplicate_nik            key nik   on every registration that used a NIK after another registration
//	                                   did: nik, earlier (ids, first MaxIDs in decision order),
//	                                   differs (id -> fields among name, birth_date, email, phone
//	                                   that differ after normalisation; [] = identical), more_earlier
//	nik_reused_later         key nik   on every registration whose NIK a later registration used:
//	                                   nik, later (the next MaxIDs ids in decision order), more_later
//	nik_changed_on_resubmit  key ""    on a registration submitted with more than one NIK: niks and
//	                                   first_event_ids in the order of first use, more_niks
//	same_person_other_nik    key p<hex> on every registration that shares normalised full name and
//	                                   birth date with another registration holding a NIK it does not
//	                                   hold: others (ids, first MaxIDs in decision order), other_niks
//	                                   (id -> NIKs), own_niks, more_others
//
// "Earlier" is the decision order (occurred_at, event_id) of a
// registration's first submission with that NIK, never arrival order. A
// registration re-submitted with the same NIK is not a duplicate. Lists
// keep the first MaxIDs ids and a more_* flag instead of a count, so that a
// NIK used by thousands of registrations re-emits O(MaxIDs) signals per
// event instead of re-scoring the whole group every time.
//
// same_person_other_nik is symmetric: both sides get it, because neither
// the earlier nor the later registration is the obvious victim (one person
// with two NIKs, or two people's NIKs used by one). It is weak evidence on
// its own: common names ("SITI AMINAH", single names like "SUPARMAN") share
// birth dates by chance in a wave of millions, so rules should weigh it low
// and let it add up with other detectors. Name normalisation: upper case,
// punctuation dropped, spaces collapsed, titles and degrees
// (Config.Names.Titles) dropped at both ends.
//
// # State
//
// Each registration is one 56-byte record in 64k-record pages (id and the
// claim event_id in a byte arena; NIK as its numeric value; name, email
// and phone as hashes of their normalised form; birth date packed), plus
// one entry in each of three map[uint64]uint32 indexes (registration id
// hash, NIK, person = hash(name, birth date)). A NIK or person held by
// several registrations gets a small group struct; registrations with
// several NIKs keep the extra claims in a side map. Measured live heap
// after GC, with a synthetic stream that is 10% NIK reuse and 8%
// same-person (so heavier in groups than a real wave): 188 bytes per
// registration at 1M and 196 at 10M (1.96 GB for 10M registrations).
// Reproduce:
//
//	go test ./detectors/identity -run '^$' -bench 'StateMemory/regs=1M' -benchtime 1x
//	WASPADA_BENCH_BIG=1 go test ./detectors/identity -run '^$' -bench 'StateMemory/regs=10M' -benchtime 1x -timeout 30m
//
// Collisions: NIKs of 16 digits are keys by value (exact). Registration
// ids are keyed by a 64-bit hash verified against the stored id (a
// colliding id goes to a small exact map). Accepted and documented: two
// different malformed NIK strings with the same 63-bit hash, two different
// people with the same 64-bit person hash (about 3e-6 at 10M
// registrations), and 32-bit email/phone hashes hiding a difference in
// "differs" (2^-32 per comparison).
//
// Restore: re-observe the stored registration.submitted events in decision
// order. Observe runs at about 175k events per CPU second against 1M
// registrations and 156k while filling to 10M (BenchmarkObserve,
// BenchmarkStateMemory), so 10M registrations (11M events) restore in
// about 70 s of CPU.
//
// # Order and replays
//
// Observe returns the signals of the event's registration and of every
// other registration whose evidence changed (fingerprints of the last
// emitted evidence are kept per group member). Replaying an event changes
// no state and returns its registration's current signals, which are the
// values last returned for those ids.
//
// The final signals are identical to in-order processing for any arrival
// order in which each registration's own submissions arrive in decision
// order, which a topic keyed by registration_id provides (tested with
// shuffled streams). The one exception is inherent, not an implementation
// gap: if registration R's later submission of NIK N arrives first, then
// another registration's use of N, then R's earlier submission, R was for a
// while a later user of N and got duplicate_nik; it is the first user in
// the end, but signals are never withdrawn. The only way to make the signal
// set monotone in that case would be to flag R's own retry as a duplicate
// whenever someone else used its NIK in between, which punishes the person
// whose NIK was stolen. TestLateOwnEarlierSubmission pins the behaviour.
// The same holds for same_person_other_nik when a late earlier submission
// changes a registration's name or birth date.
//
// # Partitioning
//
// All state is keyed by NIK and person. Several instances can share the
// load without missing a duplicate only if every event reaches the
// instance that owns its NIK and its person key; since one event carries
// both, the simple scheme is one identity detector for the whole stream
// (it is cheap: far above the 2,000 events/s peak on one core), with the
// pipeline's partitions feeding it through a single serialised consumer.
// Sharding by NIK would need the person index on a second shard keyed by
// person hash, with the event routed to both.
package identity
