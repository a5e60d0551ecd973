// Package email is the detector for email addresses used by someone other
// than their owner (detector name "email").
//
// A registration keeps the union of what its submissions said (addresses,
// NIKs, devices, IPs, phones): signals are never withdrawn, so each signal's
// condition is "some pair matches", which only grows with more events and
// therefore does not depend on arrival order.
//
// Signals (Kind, all with Key ""), each with its evidence fields:
//
//   - address_reused: a canonical address (package address) shared with a
//     registration that has a different NIK; every registration of the group
//     gets it, earlier ones too. Evidence: addresses, other_registrations,
//     other_count, distinct_niks. Assisted registration (a relative
//     registering several people) also shares addresses, which is why
//     distinct_niks is given and the weight is left to the rules.
//   - lookalike_address: an address with look-alike letters whose skeleton
//     equals another registrant's address. Evidence: addresses, skeletons,
//     lookalike_of (the other canonical addresses), other_registrations.
//   - mixed_script_address: letters of several scripts in one part of the
//     address. Evidence: addresses, scripts.
//   - disposable_domain: Evidence: domains (registrable), addresses.
//   - verified_from_other_device / verified_from_other_network: an
//     email.verified event came from another device id, or another network
//     (IPv4 /24, IPv6 /48 by default: mobile carriers change addresses within
//     a network), than a submission of the registration. Evidence:
//     registered_devices or registered_ips, verified_devices or verified_ips,
//     verified_event_ids, and for networks prefix_v4, prefix_v6.
//   - verified_within_seconds: a verification came less than
//     Config.QuickClick after a verification email was sent (or after a
//     submission). A weak signal on purpose: the link scanners of mail
//     providers and corporate gateways fetch links within seconds of
//     delivery, so a fast click proves neither that a bot registered nor
//     that the owner confirmed, and a slow click proves nothing either; give
//     it a low weight in the rules. Evidence: seconds, threshold_seconds,
//     sent_event_id (the email or submission event), verified_event_id.
//   - reported_misuse: the owner of an address reported (report.Report, via
//     ApplyReport, or the email.misuse_reported event of ReportEvent via
//     Observe: the same effect) that a registration with it was not them; every
//     registration using the address gets it. Evidence: addresses,
//     report_ids, report_count, channels, reported_registrations.
//   - linked_to_reported: a registration sharing a device id, IP or phone
//     with a reported registration. Evidence: reported_registrations,
//     reported_count, via (sorted subset of device, ip, phone).
//
// Registration lists in evidence are sorted by the decision order of each
// registration's first submission (occurred_at, event_id); other lists are
// sorted by value; all are capped at Config.MaxEvidenceIDs.
//
// The detector follows the contract in package detectors: signals are
// recomputed from the state for every registration whose picture an event
// changed, so the final signals depend only on the set of events and
// reports, and observing an event or applying a report twice is a no-op.
//
// # State
//
// Sized for the wave (10 million registrations on one machine). Each
// registration is one 96-byte record in 4096-record pages, with the first
// value of every list inline: the earliest submission, verification and
// verification email (occurred_at, event id, device and IP), the first NIK,
// address and phone. Further values (retries, a second address) go to a
// side struct that about one registration in ten has. Strings are 8-byte
// values: packed into the 8 bytes when short and regular (up to 16 digits,
// as NIKs; one non-digit byte and up to 15 digits, as event and
// registration ids and phones; one byte and up to 12 lower-case hex
// digits, as device ids; a canonical dotted-quad IPv4), otherwise stored
// once in a byte arena of 1 MiB chunks. Devices, IPs, phones and addresses
// (canonical forms and look-alike skeletons) are interned: one 12-byte
// value per distinct string that also lists the registrations under it
// (one inline, a small group when shared). The indexes (registration id,
// and the values of each kind) are open-addressing tables of uint32 item
// numbers, 5 bytes a slot with an 8-bit hash tag, grown at 13/16 load.
//
// Nothing is reduced to a hash: a lookup compares the stored string, so a
// hash collision costs a probe, never a wrong match, and the evidence is
// what the strings say. What is kept is what the evidence prints
// (registration and event ids, devices, IPs, addresses, skeletons,
// registrable domains of disposable addresses, scripts of mixed-script
// ones) plus the NIKs and phones that decide it, which pack for free.
// Devices and IPs of verifications are interned too; in the simulator
// they are always a submission's, on a real wave a verification from
// another network adds one value (about 30 bytes).
//
// Memory per registration, measured on the simulated wave of 1M events
// (216,933 registrations), before -> after the compact state:
//
//	waspada bench memory --events 1000000 --per-detector   (detector + the engine's signal book and score versions)
//	email 1156 -> 315 bytes per registration
//	go test -run '^$' -bench WaveMemory -benchtime 1x ./detectors/email/   (detector alone)
//	1,065 -> 252 bytes/reg
//	go test -run '^$' -bench MemoryPerRegistration -benchtime 1x ./detectors/email/
//	1,065 -> 211 bytes/reg (submission + verification email + click each)
//
// so 10 million registrations take about 2.5-3.2 GB. Limits: 2^31
// registrations and 2^32 values of each kind.
//
// TestCompactMatchesReference keeps the string-keyed detector this
// replaced as an oracle and checks, call by call, that both return the
// same signals over random streams with shared values, ties, duplicate
// event ids, replays, reports and strings that do and do not pack.
package email
