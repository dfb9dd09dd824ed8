// Package transform applies Kafka Connect single message transforms to encoded records, by
// Debezium's class and property names: io.debezium.transforms.ExtractNewRecordState (unwrap),
// io.debezium.transforms.outbox.EventRouter (outbox), io.debezium.transforms.ByLogicalTableRouter
// and ToLogicalTopicRouter, org.apache.kafka.connect.transforms.RegexRouter and
// io.debezium.transforms.Filter (with expr-lang conditions in place of Groovy/JavaScript).
//
// A transform is a small function over one record (topic, key, value, headers as the
// JsonConverter wrote them, with or without schemas): a record in, zero or more records out.
// A Chain wraps the encoder, so the pipeline runs transforms between the encoder and the sink
// without knowing about them. Records are never decoded into a tree: a scanner finds the
// members a transform needs and the output is put together from slices of the input; schemas,
// which repeat record after record, are rewritten once per distinct schema and cached. The
// package is pure: no I/O.
//
// ParseProperties reads transforms=a,b and transforms.<name>.<option> (also Debezium
// Server's debezium.transforms.…); Build turns them into transforms and reports every unknown
// type, unknown option and bad value, naming its property.
package transform
