package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/waspada/waspada/pipeline/event"
)

// Preparer is a detector with IO to do before Observe: the photo detector
// fetches and hashes documents. The engine itself stays pure; the
// processor prepares a batch's events concurrently, then observes them in
// order.
//
// Prepare must be safe for concurrent use. It returns what Observe will
// need as a JSON value, which the pipeline stores with the event
// (registrations.prepared), and a restart hands it back through Restore
// instead of doing the IO again, so a rebuild reaches the same state
// without refetching millions of photos. A transient error (the blob store
// is down) fails the batch, which is retried and not committed; a
// permanent problem with one document is not an error but part of the
// result (it becomes a signal).
type Preparer interface {
	Name() string
	Prepare(ctx context.Context, ev *event.Event) (json.RawMessage, error)
	Restore(ev *event.Event, prepared json.RawMessage) error
}

// TransientError marks a batch failure worth retrying.
type TransientError struct{ Err error }

func (e *TransientError) Error() string { return "transient: " + e.Err.Error() }
func (e *TransientError) Unwrap() error { return e.Err }

// preparers returns the engine's detectors that prepare.
func (e *Engine) preparers() []Preparer {
	var out []Preparer
	for _, d := range e.detectors {
		if p, ok := unwrap(d).(Preparer); ok {
			out = append(out, p)
		}
	}
	return out
}

// prepare runs every preparer over evs with at most workers at once and
// returns, per event, the JSON object {detector name: prepared value}, or
// nil when nothing was prepared.
func prepare(ctx context.Context, ps []Preparer, evs []*event.Event, workers int) ([][]byte, error) {
	out := make([][]byte, len(evs))
	if len(ps) == 0 {
		return out, nil
	}
	if workers < 1 {
		workers = 1
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		next = make(chan int)
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				rec := map[string]json.RawMessage{}
				for _, p := range ps {
					raw, err := p.Prepare(ctx, evs[i])
					if err != nil {
						mu.Lock()
						errs = append(errs, fmt.Errorf("%s: event %s: %w", p.Name(), evs[i].EventID, err))
						mu.Unlock()
						continue
					}
					if len(raw) > 0 && string(raw) != "null" {
						rec[p.Name()] = raw
					}
				}
				if len(rec) > 0 {
					out[i], _ = json.Marshal(rec)
				}
			}
		}()
	}
	for i := range evs {
		next <- i
	}
	close(next)
	wg.Wait()
	if len(errs) > 0 {
		return nil, &TransientError{errors.Join(errs...)}
	}
	return out, nil
}

// restore hands stored prepared values back to their detectors.
func restore(ps []Preparer, ev *event.Event, stored []byte) error {
	if len(stored) == 0 || len(ps) == 0 {
		return nil
	}
	var rec map[string]json.RawMessage
	if err := json.Unmarshal(stored, &rec); err != nil {
		return fmt.Errorf("event %s: stored prepared data: %w", ev.EventID, err)
	}
	for _, p := range ps {
		if raw, ok := rec[p.Name()]; ok {
			if err := p.Restore(ev, raw); err != nil {
				return fmt.Errorf("%s: event %s: %w", p.Name(), ev.EventID, err)
			}
		}
	}
	return nil
}
