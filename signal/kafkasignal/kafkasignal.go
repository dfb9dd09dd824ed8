// Package kafkasignal is the Kafka signal channel (Debezium's KafkaSignalChannel): it reads
// the signal topic and hands each message to the source (signal.Receiver), which acts on it
// and stores where the channel reads next with its own offsets.
//
// The topic has one partition (as Debezium requires), read directly at the offset the
// source's stored offset names: no consumer group, no commits of its own, so a signal is
// acted on once whatever crashes: a restart reads again exactly the signals whose effect was
// not yet stored.
package kafkasignal

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicecdc/sluice/internal/kafka"
	"github.com/sluicecdc/sluice/internal/properties"
	"github.com/sluicecdc/sluice/signal"
)

// Channel names of signal.enabled.channels.
const (
	ChannelSource = "source" // the signal table (signal.data.collection)
	ChannelKafka  = "kafka"  // the signal topic (signal.kafka.topic)
)

// Config is the signal channels' configuration. Zero values mean the defaults beside each
// field.
type Config struct {
	// Channels are the enabled channels (signal.enabled.channels; default source).
	Channels []string
	// Topic is the signal topic (signal.kafka.topic); required with the kafka channel.
	Topic string
	// Brokers are the signal topic's brokers (signal.kafka.bootstrap.servers); default the
	// Kafka sink's (--kafka-brokers). The connection settings (TLS, SASL) are the sink's.
	Brokers []string
	// GroupID is accepted for Debezium configurations (signal.kafka.groupId); sluice joins no
	// group: where to read is in the connector's offsets.
	GroupID string
}

// RegisterFlags registers the settings on fs and returns their Debezium property names.
func (c *Config) RegisterFlags(fs *flag.FlagSet) properties.Names {
	if c.Channels == nil {
		c.Channels = []string{ChannelSource}
	}
	properties.ListVar(fs, &c.Channels, "signal-enabled-channels", "signal channels to read: source (the --signal-data-collection table), kafka (--signal-kafka-topic) (signal.enabled.channels)")
	fs.StringVar(&c.Topic, "signal-kafka-topic", c.Topic, "Kafka topic of signals, one partition; message key = --topic-prefix, value {\"type\": …, \"data\": {…}} (signal.kafka.topic; needs the kafka channel)")
	properties.ListVar(fs, &c.Brokers, "signal-kafka-brokers", "brokers of --signal-kafka-topic, host:port,… (signal.kafka.bootstrap.servers; default --kafka-brokers)")
	fs.StringVar(&c.GroupID, "signal-kafka-group-id", c.GroupID, "accepted for Debezium configurations and unused: sluice stores where it reads the signal topic with its own offsets (signal.kafka.groupId)")
	return properties.Names{
		"signal.enabled.channels":        "signal-enabled-channels",
		"signal.kafka.topic":             "signal-kafka-topic",
		"signal.kafka.bootstrap.servers": "signal-kafka-brokers",
		"signal.kafka.groupId":           "signal-kafka-group-id",
	}
}

// Source reports whether the source channel (the signal table) is enabled.
func (c *Config) Source() bool { return c.enabled(ChannelSource) }

// Kafka reports whether the kafka channel is enabled.
func (c *Config) Kafka() bool { return c.enabled(ChannelKafka) }

func (c *Config) enabled(ch string) bool {
	if c.Channels == nil {
		return ch == ChannelSource
	}
	return slices.ContainsFunc(c.Channels, func(s string) bool { return strings.EqualFold(strings.TrimSpace(s), ch) })
}

// Validate reports every bad field; sinkBrokers are the Kafka sink's brokers.
func (c *Config) Validate(sinkBrokers []string) error {
	var errs []error
	for _, ch := range c.Channels {
		switch strings.ToLower(strings.TrimSpace(ch)) {
		case ChannelSource, ChannelKafka, "":
		default:
			errs = append(errs, fmt.Errorf("--signal-enabled-channels: channel %q: sluice reads source and kafka (jmx and file are Debezium's only)", ch))
		}
	}
	switch {
	case c.Kafka() && c.Topic == "":
		errs = append(errs, errors.New("the kafka signal channel needs --signal-kafka-topic NAME (signal.kafka.topic)"))
	case !c.Kafka() && c.Topic != "":
		errs = append(errs, fmt.Errorf("--signal-kafka-topic %s is set but the kafka channel is not enabled: add it, --signal-enabled-channels source,kafka (signal.enabled.channels)", c.Topic))
	}
	if c.Kafka() && len(c.Brokers) == 0 && len(sinkBrokers) == 0 {
		errs = append(errs, errors.New("the kafka signal channel needs --signal-kafka-brokers or --kafka-brokers host:port,… (signal.kafka.bootstrap.servers)"))
	}
	return errors.Join(errs...)
}

// Consumer reads the signal topic for one source at a time (Attach); a process keeps one
// across the reopens of its source.
type Consumer struct {
	topic  string
	prefix string // the connector's topic prefix: the key of its signals
	opts   []kgo.Opt
	log    *slog.Logger

	mu     sync.Mutex
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New returns the consumer of c's topic for the connector with topic prefix prefix; client
// holds the connection settings (c.Brokers, when set, replace its brokers). It connects on
// Attach.
func New(c Config, client kafka.ClientConfig, prefix string, log *slog.Logger) (*Consumer, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if len(c.Brokers) > 0 {
		client.Brokers = c.Brokers
	}
	opts, err := client.Kgo("sluice-signal", log)
	if err != nil {
		return nil, fmt.Errorf("kafka signal channel: %w", err)
	}
	return &Consumer{topic: c.Topic, prefix: prefix, opts: opts, log: log.With("signal_topic", c.Topic)}, nil
}

// Attach starts reading for r, at r's stored offset, or at the topic's end when r has none
// (that end is handed to r at once, so that its next stored offset has it); it stops the
// reading for the source attached before. It returns when the start is known; an error is
// retryable when Kafka may come back.
func (c *Consumer) Attach(ctx context.Context, r signal.Receiver) error {
	c.Stop()
	next, ok := r.SignalOffset()
	if !ok {
		end, err := c.end(ctx)
		if errors.Is(err, kerr.UnknownTopicOrPartition) {
			return fmt.Errorf("kafka signal channel: topic %s: %w", c.topic, err) // not retried: someone must create it
		} else if err != nil {
			return unavailable{fmt.Errorf("kafka signal channel: end of %s: %w", c.topic, err)}
		}
		next = end
		r.ReceiveSignal(nil, next-1)
		c.log.Info("kafka signal channel: no stored offset; reading signals sent from now on", "offset", next)
	}
	cl, err := kgo.NewClient(append(slices.Clone(c.opts),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{c.topic: {0: kgo.NewOffset().At(next)}}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))...)
	if err != nil {
		return fmt.Errorf("kafka signal channel: %w", err)
	}
	rctx, cancel := context.WithCancel(context.Background())
	c.mu.Lock()
	c.cancel = cancel
	c.wg.Add(1)
	c.mu.Unlock()
	go func() {
		defer c.wg.Done()
		defer cl.Close()
		c.read(rctx, cl, r, next)
	}()
	return nil
}

// read hands every record from next on to r until ctx ends.
func (c *Consumer) read(ctx context.Context, cl *kgo.Client, r signal.Receiver, next int64) {
	for {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return
		}
		fs.EachError(func(_ string, _ int32, err error) {
			// The client retries on its own; an operator should still hear of it.
			c.log.Warn("kafka signal channel: fetch failed; retrying", "err", err)
		})
		for _, rec := range fs.Records() {
			if rec.Partition != 0 || rec.Offset < next {
				continue
			}
			next = rec.Offset + 1
			sig, mine, err := signal.ParseKafka(c.prefix, rec.Key, rec.Value, rec.Partition, rec.Offset)
			switch {
			case !mine:
				r.ReceiveSignal(nil, rec.Offset)
			case err != nil:
				c.log.Error("ignoring a signal that cannot be acted on; send a corrected one", "error", err, "offset", rec.Offset)
				r.ReceiveSignal(nil, rec.Offset)
			default:
				c.log.Info("kafka signal received", "signal_id", sig.ID, "signal_type", string(sig.Type), "offset", rec.Offset)
				r.ReceiveSignal(&sig, rec.Offset)
			}
		}
	}
}

// Stop stops reading for the source attached; Attach may start again.
func (c *Consumer) Stop() {
	c.mu.Lock()
	cancel := c.cancel
	c.cancel = nil
	c.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	c.wg.Wait()
}

// end is the topic's end: the offset the next signal will get.
func (c *Consumer) end(ctx context.Context) (int64, error) {
	cl, err := kgo.NewClient(c.opts...)
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	req := kmsg.NewPtrListOffsetsRequest()
	req.IsolationLevel = 1
	rt := kmsg.NewListOffsetsRequestTopic()
	rt.Topic = c.topic
	rp := kmsg.NewListOffsetsRequestTopicPartition()
	rp.Timestamp = -1 // the last stable offset
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return 0, err
	}
	for _, t := range resp.Topics {
		for _, p := range t.Partitions {
			if p.Partition != 0 {
				continue
			}
			if err := kerr.ErrorForCode(p.ErrorCode); err != nil {
				if errors.Is(err, kerr.UnknownTopicOrPartition) {
					return 0, fmt.Errorf("%w: create it with one partition (kafka-topics.sh --create --topic %s --partitions 1)", err, c.topic)
				}
				return 0, err
			}
			return p.Offset, nil
		}
	}
	return 0, errors.New("no partition 0 in the ListOffsets response")
}

type unavailable struct{ error }

func (u unavailable) Retryable() bool { return !errors.Is(u.error, context.Canceled) }
func (u unavailable) Unwrap() error   { return u.error }
