//go:build integration

package shop

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/sluicecdc/sluice/internal/testkit"
)

// TestConsumeBeforeTopicExists: a consumer started before the first event (sluice creates
// the topic when it publishes one) waits for the topic instead of exiting with "topic or
// partition that does not exist".
func TestConsumeBeforeTopicExists(t *testing.T) {
	brokers := strings.Split(testkit.Server(t, "SLUICE_TEST_KAFKA_BROKERS"), ",")
	topic := fmt.Sprintf("shop_late_topic_%d_%d", os.Getpid(), time.Now().UnixNano())
	got := make(chan string, 1)
	flow := &Flow{Inventory: NewInventory(map[string]int{"mug": 1}), Notify: func(c, s string) { got <- c + ": " + s }}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- Consume(ctx, brokers, topic, topic+"-group", flow) }()
	time.Sleep(2 * time.Second) // the consumer has joined and met the missing topic

	cfg := sarama.NewConfig()
	cfg.Version = sarama.V2_8_0_0
	cfg.Producer.Return.Successes = true
	adm, err := sarama.NewClusterAdmin(brokers, cfg) // as sluice's sink creates its topics
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	if err := adm.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1}, false); err != nil {
		t.Fatal(err)
	}
	p, err := sarama.NewSyncProducer(brokers, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, _, err := p.SendMessage(&sarama.ProducerMessage{Topic: topic, Key: sarama.StringEncoder(`"1"`),
		Value:   sarama.StringEncoder(`{"id":1,"customer":"a","items":[{"sku":"mug","qty":1}]}`),
		Headers: []sarama.RecordHeader{{Key: []byte("id"), Value: []byte("e1")}, {Key: []byte("eventType"), Value: []byte("OrderCreated")}}}); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-got:
		if n != "a: order 1 confirmed: 1 x mug" {
			t.Errorf("notification %q", n)
		}
	case err := <-errc:
		t.Fatalf("Consume ended: %v", err)
	case <-ctx.Done():
		t.Fatal("no notification in 60s")
	}
	cancel()
	<-errc
}
