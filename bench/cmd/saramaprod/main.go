// Command saramaprod is the Kafka ceiling of the benchmarks: a plain IBM/sarama AsyncProducer,
// configured as sluice's Kafka sink was while it used sarama (idempotent, acks=all, one open
// request per broker, murmur2 partitioner, 1 MiB batches, no linger), sending the same records
// sluice produced. It has two steps:
//
//	saramaprod convert IN.jsonl OUT.bin     stdout-sink lines ({"topic","key","value",…}) to a
//	                                         compact length-prefixed file (not timed)
//	saramaprod produce -brokers B [-topic T] OUT.bin   send every record, exit when all are acked
//
// -topic overrides the records' topic (so the reference writes its own topic).
package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/IBM/sarama"

	ikafka "github.com/sluicecdc/sluice/internal/kafka"
	"github.com/sluicecdc/sluice/sink/kafka"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: saramaprod convert IN.jsonl OUT.bin | produce -brokers B [-topic T] FILE")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "convert":
		if len(os.Args) != 4 {
			err = errors.New("convert IN.jsonl OUT.bin")
			break
		}
		err = convert(os.Args[2], os.Args[3])
	case "produce":
		fs := flag.NewFlagSet("produce", flag.ExitOnError)
		brokers := fs.String("brokers", "127.0.0.1:9092", "Kafka brokers")
		topic := fs.String("topic", "", "send to this topic instead of each record's")
		partitions := fs.Int("partitions", 1, "partitions of the topic to create")
		compression := fs.String("compression", "none", "record batch compression, as sluice's --kafka-compression")
		_ = fs.Parse(os.Args[2:])
		if fs.NArg() != 1 {
			err = errors.New("produce needs one FILE")
			break
		}
		err = produce(strings.Split(*brokers, ","), *topic, int32(*partitions), *compression, fs.Arg(0))
	default:
		err = fmt.Errorf("unknown step %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "saramaprod:", err)
		os.Exit(1)
	}
}

type line struct {
	Topic string          `json:"topic"`
	Key   json.RawMessage `json:"key"`
	Value json.RawMessage `json:"value"`
}

// Record file: per record uvarint(len topic) topic, then key and value each as uvarint(len+1)
// followed by the bytes (0 = null).
func convert(in, out string) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	o, err := os.Create(out)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(o, 1<<20)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	var n int
	put := func(b []byte, null bool) {
		if null {
			w.Write(binary.AppendUvarint(nil, 0))
			return
		}
		w.Write(binary.AppendUvarint(nil, uint64(len(b)+1)))
		w.Write(b)
	}
	for sc.Scan() {
		var l line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return fmt.Errorf("%s line %d: %w", in, n+1, err)
		}
		put([]byte(l.Topic), false)
		put(l.Key, l.Key == nil || string(l.Key) == "null")
		put(l.Value, l.Value == nil || string(l.Value) == "null")
		n++
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "saramaprod: %d records\n", n)
	return o.Close()
}

func readField(r *bufio.Reader) ([]byte, bool, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return nil, false, err
	}
	if n == 0 {
		return nil, true, nil
	}
	b := make([]byte, n-1)
	_, err = io.ReadFull(r, b)
	return b, false, err
}

func produce(brokers []string, topic string, partitions int32, compression, file string) error {
	cfg, err := saramaConfig(ikafka.ClientConfig{Brokers: brokers}, compression)
	if err != nil {
		return err
	}
	if topic != "" {
		adm, err := sarama.NewClusterAdmin(brokers, cfg)
		if err != nil {
			return err
		}
		_, err = ikafka.CreateTopic(adm, topic, &sarama.TopicDetail{NumPartitions: partitions, ReplicationFactor: 1})
		adm.Close()
		if err != nil {
			return err
		}
	}
	p, err := sarama.NewAsyncProducer(brokers, cfg)
	if err != nil {
		return err
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	done := make(chan error, 1)
	sent := make(chan int64, 1)
	go func() {
		var acked, total int64 = 0, -1
		for {
			select {
			case <-p.Successes():
				acked++
			case e := <-p.Errors():
				done <- e.Err
				return
			case total = <-sent:
			}
			if total >= 0 && acked == total {
				done <- nil
				return
			}
		}
	}()
	var n int64
	for {
		t, _, err := readField(r)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		k, knull, err := readField(r)
		if err != nil {
			return err
		}
		v, vnull, err := readField(r)
		if err != nil {
			return err
		}
		m := &sarama.ProducerMessage{Topic: string(t)}
		if topic != "" {
			m.Topic = topic
		}
		if !knull {
			m.Key = sarama.ByteEncoder(k)
		}
		if !vnull {
			m.Value = sarama.ByteEncoder(v)
		}
		p.Input() <- m
		n++
	}
	sent <- n
	err = <-done
	if cerr := p.Close(); err == nil {
		err = cerr
	}
	fmt.Fprintf(os.Stderr, "saramaprod: %d records acked\n", n)
	return err
}

// saramaConfig is the producer configuration of sluice's Kafka sink as it was with sarama.
func saramaConfig(client ikafka.ClientConfig, compression string) (*sarama.Config, error) {
	sc, err := client.Sarama("sluice")
	if err != nil {
		return nil, err
	}
	codec := sarama.CompressionNone
	if compression != "" && compression != "none" {
		if err := codec.UnmarshalText([]byte(compression)); err != nil {
			return nil, err
		}
	}
	sc.Net.MaxOpenRequests = 1 // per-key order across retries
	sc.Producer.RequiredAcks = sarama.WaitForAll
	sc.Producer.Idempotent = true
	sc.Producer.Return.Successes = true
	sc.Producer.Return.Errors = true
	sc.Producer.Retry.Max = min(2*client.ProducerRetries(), ikafka.MaxProducerRetries)
	sc.Producer.Partitioner = sarama.NewMurmur2Partitioner
	sc.Producer.Compression = codec
	sc.Producer.Flush.Messages = 0 // all triggers 0: send as soon as the partition is free
	sc.Producer.MaxMessageBytes = kafka.DefaultMaxMessageBytes
	sc.ChannelBufferSize = 4096
	if err := sc.Validate(); err != nil {
		return nil, err
	}
	return sc, nil
}
