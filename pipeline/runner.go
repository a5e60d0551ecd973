package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentio/kafka-go"

	"github.com/waspada/waspada/pipeline/chstore"
	"github.com/waspada/waspada/pipeline/event"
	"github.com/waspada/waspada/rules"
)

// Stats are running totals, for summaries and tests.
type Stats struct {
	Batches     int
	Events      int // valid events processed
	DeadLetters int
	Scores      int
	Signals     map[string]int // "detector.kind" -> new or changed signals
	DeadReasons map[string]int
	Committed   int // messages whose offsets were committed
}

// Runner is the Kafka pipeline: fetch, batch, process, write, commit.
type Runner struct {
	cfg     Config
	proc    *Processor
	metrics *Metrics
	store   *chstore.Store // nil: no ClickHouse
	reader  *kafka.Reader
	scores  *kafka.Writer
	dead    *kafka.Writer
	release *kafka.Writer
	log     *slog.Logger

	ready atomic.Bool
	mu    sync.Mutex
	stats Stats
}

// NewRunner wires a runner. store may be nil (scores then live only on the
// risk-scores topic, and state does not survive a restart).
func NewRunner(cfg Config, eng *Engine, store *chstore.Store, m *Metrics, log *slog.Logger) *Runner {
	lim := cfgLimits(cfg)
	return &Runner{
		cfg:     cfg,
		proc:    &Processor{Engine: eng, Limits: lim, Metrics: m, MaxDeadPayload: cfg.Limits.MaxDeadPayload},
		metrics: m,
		store:   store,
		log:     log,
		stats:   Stats{Signals: map[string]int{}, DeadReasons: map[string]int{}},
	}
}

// OnReport sets a function called with every email.misuse_reported event
// the runner processes or rebuilds from (see Processor.OnReport). Call it
// before Rebuild and Run.
func (r *Runner) OnReport(fn func(ev *event.Event)) { r.proc.OnReport = fn }

// Ready reports whether the runner is consuming and its sinks are writing.
func (r *Runner) Ready() bool { return r.ready.Load() }

// Stats returns a copy of the running totals.
func (r *Runner) Stats() Stats {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stats
	s.Signals = clone(r.stats.Signals)
	s.DeadReasons = clone(r.stats.DeadReasons)
	return s
}

// Rebuild restores detector state, the signal book and score versions
// from ClickHouse: every stored event is re-observed in decision order
// (outputs discarded), then the stored score versions replace the ones the
// replay computed. It returns the number of events re-observed.
func (r *Runner) Rebuild(ctx context.Context) (int, error) {
	if r.store == nil {
		return 0, nil
	}
	eng := r.proc.Engine
	n, err := r.store.EachEvent(ctx, r.proc.ReplayFrom)
	if err != nil {
		return n, fmt.Errorf("rebuild: %w", err)
	}
	vs, err := r.store.Versions(ctx)
	if err != nil {
		return n, fmt.Errorf("rebuild: score versions: %w", err)
	}
	states := make([]VersionState, len(vs))
	for i, v := range vs {
		states[i] = VersionState{RegistrationID: v.RegistrationID, Version: v.Version, Content: v.ContentHash}
	}
	eng.RestoreVersions(states)
	if r.metrics != nil {
		r.metrics.SnapshotStats(eng)
	}
	return n, nil
}

// Run consumes until ctx is cancelled, then stops fetching, finishes the
// batch in hand (write and commit), closes the Kafka clients and returns
// nil. It returns an error only when a batch could not be written before
// the shutdown deadline; its offsets are then not committed.
func (r *Runner) Run(ctx context.Context) error {
	r.reader = NewReader(r.cfg.Kafka)
	r.scores = NewWriter(r.cfg.Kafka.Brokers, r.cfg.Kafka.ScoresTopic)
	r.dead = NewWriter(r.cfg.Kafka.Brokers, r.cfg.Kafka.DeadLettersTopic)
	r.release = NewWriter(r.cfg.Kafka.Brokers, r.cfg.Kafka.AddressReleasedTopic)
	defer func() {
		r.ready.Store(false)
		r.reader.Close()
		CloseWriter(r.scores)
		CloseWriter(r.dead)
		CloseWriter(r.release)
	}()

	fetched := make(chan kafka.Message, r.cfg.Batch.MaxEvents)
	go r.fetch(ctx, fetched)
	r.ready.Store(true)

	for {
		batch, open := r.collect(fetched)
		if len(batch) > 0 {
			if err := r.handle(ctx, batch); err != nil {
				return err
			}
		}
		if !open {
			return nil
		}
	}
}

func (r *Runner) fetch(ctx context.Context, out chan<- kafka.Message) {
	defer close(out)
	backoff := r.cfg.Batch.RetryMin
	for {
		m, err := r.reader.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			r.log.Warn("fetch failed, retrying", "err", err, "backoff", backoff)
			if !sleep(ctx, jitter(backoff)) {
				return
			}
			backoff = min(2*backoff, r.cfg.Batch.RetryMax)
			continue
		}
		backoff = r.cfg.Batch.RetryMin
		select {
		case out <- m:
		case <-ctx.Done():
			return
		}
	}
}

// collect blocks for the first message, then takes more until the batch is
// full or MaxWait has passed. open is false once the fetcher has stopped
// and everything it fetched has been returned.
func (r *Runner) collect(in <-chan kafka.Message) (batch []kafka.Message, open bool) {
	m, ok := <-in
	if !ok {
		return nil, false
	}
	batch = append(batch, m)
	timer := time.NewTimer(r.cfg.Batch.MaxWait)
	defer timer.Stop()
	for len(batch) < r.cfg.Batch.MaxEvents {
		select {
		case m, ok := <-in:
			if !ok {
				return batch, false
			}
			batch = append(batch, m)
		case <-timer.C:
			return batch, true
		}
	}
	return batch, true
}

// handle processes, writes and commits one batch. Writes are retried with
// backoff while the pipeline runs; after shutdown begins they get a grace
// period (30 s) to finish.
func (r *Runner) handle(ctx context.Context, batch []kafka.Message) error {
	msgs := make([]Message, len(batch))
	for i, m := range batch {
		msgs[i] = Message{Key: m.Key, Value: m.Value, Topic: m.Topic, Partition: m.Partition, Offset: m.Offset,
			Time: m.Time.UTC(), Source: KafkaSource(m.Topic, m.Partition, m.Offset)}
	}
	wctx, cancel := graceContext(ctx, 30*time.Second)
	defer cancel()
	var res Result
	if err := r.retry(wctx, "prepare", func(c context.Context) error {
		var err error
		res, err = r.proc.Process(c, msgs)
		return err
	}); err != nil {
		return err
	}
	r.metrics.BatchEvents.Observe(float64(len(batch)))
	if err := r.retry(wctx, "kafka_scores", func(c context.Context) error { return r.writeScores(c, res) }); err != nil {
		return err
	}
	if err := r.retry(wctx, "kafka_dead_letters", func(c context.Context) error { return r.writeDeadLetters(c, res) }); err != nil {
		return err
	}
	if err := r.retry(wctx, "kafka_address_released", func(c context.Context) error { return r.writeReleased(c, res) }); err != nil {
		return err
	}
	if r.store != nil && res.Rows.Rows() > 0 {
		if err := r.retry(wctx, "clickhouse", func(c context.Context) error { return r.store.Write(c, &res.Rows) }); err != nil {
			return err
		}
	}
	// A failed commit loses nothing: the batch is replayed after a
	// rebalance or restart and its writes are idempotent.
	if err := r.retry(wctx, "commit", func(c context.Context) error { return r.reader.CommitMessages(c, batch...) }); err != nil {
		r.log.Warn("offset commit failed; the batch will be replayed", "err", err)
	} else {
		r.metrics.Commits.Inc()
	}
	r.metrics.ConsumerLag.Set(float64(r.reader.Stats().Lag))

	r.mu.Lock()
	r.stats.Batches++
	r.stats.Events += res.Events
	r.stats.DeadLetters += len(res.DeadLetters)
	r.stats.Scores += len(res.Scores)
	r.stats.Committed += len(batch)
	for _, s := range res.Rows.Signals {
		r.stats.Signals[s.Detector+"."+s.Kind]++
	}
	for _, d := range res.DeadLetters {
		r.stats.DeadReasons[d.Reason]++
	}
	r.mu.Unlock()
	return nil
}

func (r *Runner) writeScores(ctx context.Context, res Result) error {
	return produceJSON(ctx, r.scores, res.Scores, func(sc rules.Score) string { return sc.RegistrationID })
}

func (r *Runner) writeDeadLetters(ctx context.Context, res Result) error {
	return produceJSON(ctx, r.dead, res.DeadLetters, func(d DeadLetter) string { return d.ID })
}

// writeReleased tells the registration platform which addresses are free
// for their owners (key = canonical address; see AddressReleased).
func (r *Runner) writeReleased(ctx context.Context, res Result) error {
	return produceJSON(ctx, r.release, res.Released, func(a AddressReleased) string { return a.Address })
}

// produceJSON writes items as JSON messages with the given keys, in one
// synchronous call (the writer returns when the brokers acknowledged).
func produceJSON[T any](ctx context.Context, w *kafka.Writer, items []T, key func(T) string) error {
	if len(items) == 0 {
		return nil
	}
	out := make([]kafka.Message, len(items))
	for i, it := range items {
		b, err := json.Marshal(it)
		if err != nil {
			return err
		}
		out[i] = kafka.Message{Key: []byte(key(it)), Value: b}
	}
	return w.WriteMessages(ctx, out...)
}

func (r *Runner) retry(ctx context.Context, sink string, fn func(context.Context) error) error {
	backoff := r.cfg.Batch.RetryMin
	for {
		start := time.Now()
		err := fn(ctx)
		if err == nil {
			r.metrics.SinkSeconds.WithLabelValues(sink).Observe(time.Since(start).Seconds())
			r.ready.Store(true)
			return nil
		}
		r.metrics.SinkErrors.WithLabelValues(sink).Inc()
		r.ready.Store(false)
		if ctx.Err() != nil {
			return fmt.Errorf("%s: giving up at shutdown: %w", sink, err)
		}
		r.log.Warn("write failed, retrying", "sink", sink, "err", err, "backoff", backoff)
		if !sleep(ctx, jitter(backoff)) {
			return fmt.Errorf("%s: giving up at shutdown: %w", sink, err)
		}
		backoff = min(2*backoff, r.cfg.Batch.RetryMax)
	}
}

// graceContext is a context that lives on after parent is cancelled, for
// grace more; it lets the batch in hand finish after SIGTERM.
func graceContext(parent context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	stop := context.AfterFunc(parent, func() {
		t := time.AfterFunc(grace, cancel)
		context.AfterFunc(ctx, func() { t.Stop() })
	})
	return ctx, func() { stop(); cancel() }
}

func jitter(d time.Duration) time.Duration {
	return d/2 + time.Duration(rand.Int64N(int64(d)/2+1))
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func clone(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

var errNoStore = errors.New("no ClickHouse configured")
