package pipeline

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
)

// StartEmbeddedKafka starts an in-process Kafka-protocol broker (kfake) on
// loopback. Any Kafka client, kcat included, can talk to it. Close it with
// the returned cluster's Close.
func StartEmbeddedKafka(port int, dataDir string, partitions int) (*kfake.Cluster, error) {
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.AllowAutoTopicCreation(), kfake.DefaultNumPartitions(partitions)}
	if port != 0 {
		opts = append(opts, kfake.Ports(port))
	}
	if dataDir != "" {
		opts = append(opts, kfake.DataDir(dataDir))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, fmt.Errorf("embedded kafka: %w", err)
	}
	return c, nil
}

// EnsureTopics creates the pipeline's topics if they are missing: the
// risk-scores topic compacted (one current score per registration key),
// the others (registrations, dead letters, address released) with default
// retention. The address-released topic is not compacted: its key is the
// address, and two reports of one address name different registrations.
func EnsureTopics(ctx context.Context, cfg KafkaConfig) error {
	// An own transport, closed on return: kafka-go's shared default
	// transport would keep idle connections open for the process's life.
	transport := &kafka.Transport{}
	defer transport.CloseIdleConnections()
	client := &kafka.Client{Addr: kafka.TCP(cfg.Brokers...), Timeout: 15 * time.Second, Transport: transport}
	topic := func(name string, configs ...kafka.ConfigEntry) kafka.TopicConfig {
		return kafka.TopicConfig{Topic: name, NumPartitions: cfg.Partitions, ReplicationFactor: cfg.ReplicationFactor,
			ConfigEntries: configs}
	}
	req := &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{
		topic(cfg.RegistrationsTopic),
		topic(cfg.ScoresTopic, kafka.ConfigEntry{ConfigName: "cleanup.policy", ConfigValue: "compact"}),
		topic(cfg.DeadLettersTopic),
		topic(cfg.AddressReleasedTopic),
	}}
	var lastErr error
	for attempt := 0; attempt < 30; attempt++ {
		resp, err := client.CreateTopics(ctx, req)
		if err == nil {
			var errs []error
			for name, e := range resp.Errors {
				if e != nil && !errors.Is(e, kafka.TopicAlreadyExists) {
					errs = append(errs, fmt.Errorf("topic %s: %w", name, e))
				}
			}
			if len(errs) == 0 {
				return nil
			}
			err = errors.Join(errs...)
		}
		lastErr = err
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	return fmt.Errorf("creating topics on %v: %w", cfg.Brokers, lastErr)
}

// NewReader is the registrations consumer: a consumer-group member that
// fetches without auto-commit (CommitInterval 0 commits synchronously, and
// we commit once per batch, after the writes).
func NewReader(cfg KafkaConfig) *kafka.Reader {
	return kafka.NewReader(kafka.ReaderConfig{
		Brokers:           cfg.Brokers,
		GroupID:           cfg.GroupID,
		Topic:             cfg.RegistrationsTopic,
		MinBytes:          1,
		MaxBytes:          16 << 20,
		MaxWait:           200 * time.Millisecond,
		CommitInterval:    0,
		StartOffset:       kafka.FirstOffset,
		HeartbeatInterval: time.Second,
		SessionTimeout:    10 * time.Second,
		RebalanceTimeout:  10 * time.Second,
		ReadBackoffMin:    50 * time.Millisecond,
		ReadBackoffMax:    time.Second,
		QueueCapacity:     1000,
	})
}

// NewWriter is a synchronous, all-replicas-acked producer. kafka-go's
// default BatchTimeout of one second would make every batch wait a second;
// we hand it whole batches, so a short timeout costs nothing.
func NewWriter(brokers []string, topic string) *kafka.Writer {
	return &kafka.Writer{
		Addr:         kafka.TCP(brokers...),
		Topic:        topic,
		Balancer:     &kafka.Hash{},
		RequiredAcks: kafka.RequireAll,
		BatchSize:    10000,
		BatchBytes:   32 << 20,
		BatchTimeout: 5 * time.Millisecond,
		WriteTimeout: 30 * time.Second,
		MaxAttempts:  5,
		Transport:    &kafka.Transport{},
	}
}

// CloseWriter closes a writer made by NewWriter, including its own
// transport's idle connections (a kafka.Writer leaves them open).
func CloseWriter(w *kafka.Writer) error {
	err := w.Close()
	if t, ok := w.Transport.(*kafka.Transport); ok {
		t.CloseIdleConnections()
	}
	return err
}

// WaitForBroker waits until a broker accepts TCP connections.
func WaitForBroker(ctx context.Context, addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("kafka broker %s not reachable after %s: %w", addr, timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func portOf(addr string) int {
	_, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return n
}
