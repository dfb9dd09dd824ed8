package pipeline

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicecdc/sluice/capture"
	ikafka "github.com/sluicecdc/sluice/internal/kafka"
	"github.com/sluicecdc/sluice/internal/testkit"
	"github.com/sluicecdc/sluice/sink/kafka"
)

// A broker that takes produce requests and never answers (a hung connection, a lost callback)
// left the real Kafka sink waiting on sarama's timeouts and retries, and the pipeline with it,
// with only "waiting for Kafka" warnings. Now the watchdog fails Run with a retryable
// StallError after StallFailTimeout, before any producer timeout.
func TestKafkaHungBrokerFailsAsStall(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	wake := make(chan struct{})
	var once sync.Once
	release := func() { once.Do(func() { close(wake) }) }
	defer c.Close()
	defer release()
	c.ControlKey(kmsg.Produce.Int16(), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		c.SleepControl(func() { <-wake }) // hold every produce request until the test ends
		return nil, nil, false
	})
	addrs := c.ListenAddrs()
	src := &numberedSource{next: 1, n: 50}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	err = Run(ctx, Config{
		Source: src, Encoder: &numberedEncoder{},
		NewSink: func(d Durable) (Sink, error) {
			return kafka.New(kafka.Config{Client: ikafka.ClientConfig{Brokers: addrs}, Partitions: 1, CloseTimeout: time.Second}, d)
		},
		StallTimeout: time.Second, StallFailTimeout: 3 * time.Second, ShutdownTimeout: time.Second,
	})
	var se *StallError
	if !errors.As(err, &se) || !capture.Retryable(err) {
		t.Fatalf("Run = %v, want a retryable StallError", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Run failed after %s, want about StallFailTimeout (3s)", d)
	}
	if se.Stall.InFlight == 0 || src.lastAck() != 0 {
		t.Errorf("stall %+v, last ack %d: want records in flight and nothing acknowledged", se.Stall, src.lastAck())
	}
	t.Logf("%v", err)
}

// A produce that fails for good after the source's last event (the source then waits for
// changes that do not come) used to go unnoticed until the next Send, or the stall watchdog
// minutes later. The Kafka sink's Failed channel (FailureNotifier) now ends Run at once with
// the produce error, and nothing is acknowledged.
func TestKafkaFailureWhileSourceIdleEndsRun(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	testkit.FailProduce(c, 87) // INVALID_RECORD: not retried
	addrs := c.ListenAddrs()
	src := &numberedSource{next: 1, n: 5}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	start := time.Now()
	err = Run(ctx, Config{
		Source: src, Encoder: &numberedEncoder{},
		NewSink: func(d Durable) (Sink, error) {
			return kafka.New(kafka.Config{Client: ikafka.ClientConfig{Brokers: addrs}, Partitions: 1, CloseTimeout: time.Second}, d)
		},
		ShutdownTimeout: time.Second,
	})
	var perr *kafka.ProduceError
	if !errors.As(err, &perr) || ctx.Err() != nil {
		t.Fatalf("Run = %v after %s, want the produce error at once", err, time.Since(start))
	}
	if src.lastAck() != 0 {
		t.Fatalf("acknowledged %d", src.lastAck())
	}
}
