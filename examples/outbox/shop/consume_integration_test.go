//go:build integration

package shop

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

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

	// Created as sluice's sink creates its topics, then one event.
	adm := testkit.KafkaAdmin(t, brokers)
	if res, err := adm.CreateTopic(ctx, 1, 1, nil, topic); err != nil || res.Err != nil {
		t.Fatal(err, res.Err)
	}
	testkit.KafkaProduce(t, testkit.KafkaClient(t, brokers), &kgo.Record{Topic: topic, Key: []byte(`"1"`),
		Value:   []byte(`{"id":1,"customer":"a","items":[{"sku":"mug","qty":1}]}`),
		Headers: []kgo.RecordHeader{{Key: "id", Value: []byte("e1")}, {Key: "eventType", Value: []byte("OrderCreated")}}})
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
