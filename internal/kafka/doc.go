// Package kafka is sluice's one Kafka layer below the components that talk to Kafka (the Kafka
// sink, the Kafka offsets store, the MySQL schema history, the Kafka record source): the client
// settings every client shares (brokers, client id, TLS and SASL, applied by ClientConfig.Kgo
// to the franz-go clients, with their flags in RegisterSecurityFlags), Kafka's default key partitioner (murmur2), topic creation
// that tolerates an existing topic (EnsureTopicKgo), and reading one partition from its start
// to its last stable offset (ReadCommittedToEnd: how compacted offsets topics and the schema
// history are loaded).
//
// It also holds the one retry bound every client shares (ClientConfig.Retry: transient errors
// are retried with backoff for DeliveryTimeout, Kafka's delivery.timeout.ms; authentication
// and authorization errors are not) and the request timeouts (ClientConfig.Kgo), so the data
// producer, the offsets store and the schema history ride out the same broker outage, at start
// too, and no request waits for ever.
//
// It knows nothing of records, events or positions: it must not import envelope, capture or any
// sink, so that every component can use it without importing another component.
package kafka
