package pipeline

import (
	"strings"
	"time"
)

// WatermarkHolder is a detector with event-time windows that closes them
// when its watermark (the largest occurred_at seen, minus its allowed
// lateness) passes their end. HoldWatermark caps that "largest occurred_at
// seen" at t until the next call.
//
// Why: a consumer of several partitions does not read them at one pace.
// Catching up on a backlog, kafka-go may hand over minutes of one
// partition before the next; a detector that took the largest occurred_at
// of any partition as the stream's clock would close windows that the
// lagging partitions' submissions still belong to, and count those
// submissions as late (a run of 50,000 events over 3 partitions lost 40 %
// of its submissions that way). The processor therefore holds the
// watermark at the low-water mark of the partitions: the smallest, over
// the active partitions, of the largest occurred_at seen from each. With
// one partition (or a file) the hold equals the largest occurred_at seen,
// so nothing changes there.
type WatermarkHolder interface {
	HoldWatermark(t time.Time)
}

// DefaultIdleAfter is how long a partition may deliver nothing before it
// stops holding the watermark back (revoked in a rebalance, or no traffic).
const DefaultIdleAfter = 30 * time.Second

// partitionClock tracks the largest occurred_at per input stream (a Kafka
// topic partition, or a file) and when the stream last delivered.
type partitionClock struct {
	max  map[string]int64 // unix ns
	seen map[string]time.Time
}

// observe folds one event in and returns the low-water mark: the smallest
// per-stream maximum over the streams that delivered within idleAfter of
// now (the event's own stream always counts).
func (c *partitionClock) observe(stream string, at, now time.Time, idleAfter time.Duration) time.Time {
	if c.max == nil {
		c.max, c.seen = map[string]int64{}, map[string]time.Time{}
	}
	t := at.UnixNano()
	if m, ok := c.max[stream]; !ok || t > m {
		c.max[stream] = t
	}
	c.seen[stream] = now
	low := c.max[stream]
	for s, m := range c.max {
		if m < low && now.Sub(c.seen[s]) <= idleAfter {
			low = m
		}
	}
	return time.Unix(0, low).UTC()
}

// streamOf names the input stream of a message source: "topic/partition"
// for "topic/partition/offset", the file name for "file:line".
func streamOf(source string) string {
	if strings.Count(source, "/") >= 2 {
		return source[:strings.LastIndexByte(source, '/')]
	}
	if i := strings.LastIndexByte(source, ':'); i >= 0 {
		return source[:i]
	}
	return source
}
