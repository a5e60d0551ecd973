// Package burst finds signup bursts that are not the legitimate wave (bot
// farms) and proxy registrants ("joki"), from registration.submitted events.
//
// # Windows and keys
//
// Each submission is counted in tumbling event-time windows (Config.Windows,
// default 1 minute and 1 hour) under each of its keys: IP, IPv4 /24, IPv6
// /64, device id, user agent, email domain, phone prefix (the number less
// its last three digits: a batch of SIM cards), region code, and the whole
// stream. A window counts distinct identities (NIKs; distinct canonical
// emails are reported too), not events, so a person re-submitting forty
// times on a bad network counts once.
//
// # Baselines, not thresholds
//
// When a window closes, each key's count x is compared with its expected
// count lambda under a Poisson model; the window is a burst when
// P(X >= x) < Alpha, x >= MinCount and x >= MinRatio*lambda. lambda follows
// the wave's own curve: with T the stream's distinct identities in this
// window,
//
//	lambda = max(T * h_k / H, mu_c * T / Tbar)
//
// where h_k/H is the key's decayed share of the stream (half-life
// HalfLife), mu_c the decayed mean count of an active key of its class and
// Tbar the decayed mean of T. A wave opening or an evening peak lifts T and
// therefore every key's lambda at once: it is not a burst. One /24 or one
// device taking far more than its share is. Classes whose keys belong to
// one person (device, /64, phone block) are judged against the class
// baseline alone, from the first window (before any history: the mean of
// the class's active keys in the same window); shared classes (IP, /24,
// user agent, email domain, region) have heavy organic keys (carrier NAT,
// Gmail) and wait Warmup for their own history, during which one window
// may teach a key at most 4 times what it or a typical key would expect
// (so a farm starting then is not learnt as normal, but it is not judged
// either: the blind spot is the first Warmup of stream). A flagged window teaches the
// baselines only its expected count, so a farm does not become normal by
// persisting. Windows next to a burst join it at the looser AlphaExtend
// (hysteresis), so an episode's edges are kept. The whole stream is judged
// against its moving baseline on log rates (z-score and ratio).
//
// Proxy rings: a device or phone number behind at least Ring.MinSize
// distinct NIKs with distinct names gives every member a proxy_ring signal.
// The size is reported in steps (MinSize, then doublings up to
// Ring.MaxMembers), re-issued to all members when a step is reached, so a
// ring of n costs O(n log n) signals and every member's final signal is the
// same whatever the arrival order. The members are the registrations that
// carry the same proxy_ring Key.
//
// # Signals
//
// Kind "<class>_burst" (ip_burst, ip24_burst, ip64_burst, device_burst,
// user_agent_burst, email_domain_burst, phone_prefix_burst, region_burst,
// stream_burst) goes to every registration in a flagged window, Key
// "<class>:<key>@<window start>/<length>", evidence: key_class, key,
// window_start, window_end, window_seconds, count (submissions),
// distinct_identities, distinct_emails (among remembered members),
// baseline, ratio, excess_fraction (1 - baseline/distinct), p_value, score
// (-log10 p), members (first EvidenceMembers registration ids in event
// order), members_total, approximate (distinct count from HyperLogLog).
// Kind proxy_ring, Key "<device|phone>:<key>", evidence: key_class, key,
// size_at_least (the step), min_size. Evidence maps
// are shared by the signals of one window: treat them as read-only.
//
// # Order, lateness, determinism
//
// Only event time is used. The watermark is the largest occurred_at seen
// minus AllowedLateness; in the pipeline the largest occurred_at is held
// at the low-water mark of the input partitions (HoldWatermark, see
// pipeline.WatermarkHolder), so that one partition read ahead of the others
// does not make theirs late. A window is judged when the watermark passes its
// end, and signals come out of the Observe call that moved the watermark
// (and of Flush at the end of a finite input). A submission whose window
// was already judged is late: it is counted in Stats.Late and left out of
// that window. Therefore: if every event arrives before the watermark
// passes its occurred_at (that is, at most AllowedLateness behind the
// largest occurred_at seen before it), every window holds the same set of
// events whatever the arrival order, windows are judged in index order,
// baselines are updated from integer sums, and the final signals are the
// same (TestOrderIndependentWithinLateness). Rings are not windowed, so
// their final signals are order-independent for any order. An event more
// than MaxJump ahead of the stream is ignored (Stats.Future) so that one
// bad timestamp cannot close every window.
//
// Replaying an event changes nothing: event ids are remembered for two
// generations of the longest window (a replay of anything older is late
// anyway) and rings count distinct registrations. After a restart the detector is rebuilt by replaying
// the last IdleTTL of events; the warm-up and the personal-class baselines
// mean a rebuild raises no false burst at start-up.
//
// # Bounded state
//
// Keys idle for IdleTTL are evicted; at most MaxKeys are held (oldest idle
// first are evicted, Stats.EvictedCap, else new keys are refused,
// Stats.KeysRefused). A window remembers at most MaxMembers registrations
// (Stats.Truncated) and counts exactly up to ExactDistinct, then with a
// HyperLogLog. Eviction under the cap is the one thing that can make
// results depend on arrival order. ReportStats hands Stats to the
// pipeline's metrics (waspada_burst_keys, waspada_burst_evicted_cap_total,
// waspada_burst_late_total, ...). Memory per active key is measured by
// BenchmarkMemoryPerKey.
//
// Evaluate runs the detector over a pipeline/sim wave and reports the
// flagged fraction per planted pattern and the false-alarm rate on organic
// registrations.
package burst
