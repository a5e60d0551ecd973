package pipeline

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/goleak"

	"github.com/waspada/waspada/rules"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func embeddedConfig(t *testing.T) (Config, *kfake.Cluster) {
	t.Helper()
	c, err := StartEmbeddedKafka(0, "", 3)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cfg := DefaultConfig()
	cfg.Kafka.Brokers = c.ListenAddrs()
	cfg.Batch.MaxWait = 100 * time.Millisecond
	cfg.Batch.RetryMin = 10 * time.Millisecond
	cfg.HTTP.Listen = ""
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := EnsureTopics(ctx, cfg.Kafka); err != nil {
		t.Fatal(err)
	}
	return cfg, c
}

func produce(t *testing.T, cfg Config, values ...[]byte) {
	t.Helper()
	w := NewWriter(cfg.Kafka.Brokers, cfg.Kafka.RegistrationsTopic)
	defer CloseWriter(w)
	var msgs []kafka.Message
	for _, v := range values {
		msgs = append(msgs, kafka.Message{Key: []byte("k"), Value: v})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
}

// runUntil runs a runner until it has committed n messages, then stops it
// the way SIGTERM does and checks that it returns nil.
func runUntil(t *testing.T, r *Runner, n int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	deadline := time.Now().Add(30 * time.Second)
	for r.Stats().Committed < n {
		if time.Now().After(deadline) {
			cancel()
			<-done
			t.Fatalf("committed %d of %d messages in 30 s", r.Stats().Committed, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("graceful stop returned %v", err)
	}
}

func readScores(t *testing.T, cfg Config) map[string][]rules.Score {
	t.Helper()
	out := map[string][]rules.Score{}
	for p := 0; p < cfg.Kafka.Partitions; p++ {
		conn, err := kafka.DialLeader(context.Background(), "tcp", cfg.Kafka.Brokers[0], cfg.Kafka.ScoresTopic, p)
		if err != nil {
			t.Fatal(err)
		}
		last, _ := conn.ReadLastOffset()
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		for off := int64(0); off < last; {
			batch := conn.ReadBatch(1, 10<<20)
			for {
				m, err := batch.ReadMessage()
				if err != nil {
					break
				}
				var s rules.Score
				if err := json.Unmarshal(m.Value, &s); err != nil {
					t.Fatal(err)
				}
				if string(m.Key) != s.RegistrationID {
					t.Errorf("message key %q != registration_id %q", m.Key, s.RegistrationID)
				}
				out[s.RegistrationID] = append(out[s.RegistrationID], s)
				off = m.Offset + 1
			}
			batch.Close()
		}
		conn.Close()
	}
	return out
}

func encode(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRunnerEndToEndEmbeddedKafka(t *testing.T) {
	cfg, _ := embeddedConfig(t)
	produce(t, cfg,
		encode(t, sub("E1", "R1", "N", 1)),
		[]byte(`not json`),
		encode(t, sub("E2", "R2", "N", 2)),
	)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	m := NewMetrics()
	r := NewRunner(cfg, NewEngine(testRules(t), m.Instrument(newSameKey())), nil, m, log)
	runUntil(t, r, 3)
	st := r.Stats()
	if st.Events != 2 || st.DeadLetters != 1 || st.DeadReasons["bad_json"] != 1 {
		t.Fatalf("stats %+v", st)
	}
	scores := readScores(t, cfg)
	r2 := scores["R2"]
	if len(r2) == 0 || r2[len(r2)-1].Score != 60 {
		t.Fatalf("R2 scores %+v", r2)
	}
	r1 := scores["R1"]
	if len(r1) == 0 || r1[len(r1)-1].ScoreVersion < 1 || r1[len(r1)-1].Reasons[0].Kind != "reused" {
		t.Fatalf("R1 must end with the 'reused' reason, got %+v", r1)
	}

	// Offsets were committed: a new member of the same group gets nothing,
	// and another event is all it processes.
	produce(t, cfg, encode(t, sub("E3", "R3", "M", 3)))
	r2nd := NewRunner(cfg, NewEngine(testRules(t), newSameKey()), nil, NewMetrics(), log)
	runUntil(t, r2nd, 1)
	if st := r2nd.Stats(); st.Committed != 1 || st.Events != 1 {
		t.Fatalf("second runner re-read committed messages: %+v", st)
	}
}

func TestRunnerRetriesFailedScoreWrites(t *testing.T) {
	cfg, cluster := embeddedConfig(t)
	produce(t, cfg, encode(t, sub("E1", "R1", "N", 1)), encode(t, sub("E2", "R2", "N", 2)))

	// Fail the first produce requests to the risk-scores topic: the batch
	// must be retried, not committed without its scores.
	var injected atomic.Int32
	cluster.KeepControl()
	cluster.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
		pr := req.(*kmsg.ProduceRequest)
		if len(pr.Topics) == 0 || pr.Topics[0].Topic != cfg.Kafka.ScoresTopic || injected.Load() >= 8 {
			return nil, nil, false
		}
		injected.Add(1)
		resp := pr.ResponseKind().(*kmsg.ProduceResponse)
		for _, tp := range pr.Topics {
			rt := kmsg.NewProduceResponseTopic()
			rt.Topic = tp.Topic
			for _, p := range tp.Partitions {
				rp := kmsg.NewProduceResponseTopicPartition()
				rp.Partition = p.Partition
				rp.ErrorCode = kerr.PolicyViolation.Code
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return resp, nil, true
	})
	m := NewMetrics()
	r := NewRunner(cfg, NewEngine(testRules(t), newSameKey()), nil, m, slog.New(slog.NewTextHandler(io.Discard, nil)))
	runUntil(t, r, 2)
	if injected.Load() == 0 {
		t.Fatal("fault was never injected")
	}
	scores := readScores(t, cfg)
	if len(scores["R1"]) == 0 || len(scores["R2"]) == 0 {
		t.Fatalf("scores lost after injected failures: %+v", scores)
	}
}
