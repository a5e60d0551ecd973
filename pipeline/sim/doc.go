// Package sim generates a seedable, labelled synthetic registration wave:
// the organic traffic of a Kartu Prakerja style opening (diurnal curve in
// WIB, an opening surge, retries and retry storms from bad networks,
// assisted registration by relatives) with planted frauds mixed in
// (duplicate NIK, same person under another NIK, invalid NIK structure,
// reused email, and the bot patterns of issue 4: a hosting /24 fan-out,
// rotating IPs behind one device fingerprint, a slow drip from one SIM
// block, and joki rings).
//
// Generate streams events in the decision order (occurred_at, event_id) with
// a Label for each; the caller writes events with Encode (the canonical
// JSON line every producer shares) and labels with EncodeLabel. The same
// Config gives the same bytes: all randomness comes from PCG streams seeded
// by Config.Seed (one for the organic wave, one per farm, so adding farms
// leaves the organic stream unchanged), never from the clock or map order.
//
// Data realism: NIKs have the real province codes (Dukcapil), regency codes
// from each province's kab/kota count, DDMMYY birth digits with +40 for
// women, and region_code = the NIK's first four digits; names, email
// domains, operator prefixes, carrier CGNAT / broadband / hosting address
// ranges and user agents follow Indonesian shares roughly. Documents are
// named by file:///uploads/<registration>/<kind>.jpg URIs; the images
// themselves are not created here.
//
// Non-obvious: Config.Events is exact, so the tail of the stream cuts some
// registrations' follow-up events (a label belongs to each emitted event,
// so evaluation is unaffected). Farms are scheduled over the expected span
// of the wave, estimated from Events and the rate curve.
package sim
