// Package metrics is the process's one Prometheus registry and the collectors that read the
// pipeline's and the source's figures (pipeline.Stats, capture.Stats) at scrape time: the
// Debezium connector metrics as the Debezium JMX exporter names them (debezium_metrics_<Attribute>
// with context, plugin and name labels), sluice's own sluice_* series, and the Go runtime's.
//
// Collectors only read atomics and summaries the pipeline and the sources keep anyway, so the
// hot path pays nothing for a metric; and as those figures live as long as the process (a
// command keeps one pipeline.Stats and one capture.Stats across reopens), counters never go
// back when the pipeline restarts itself. The package serves nothing itself: internal/cli
// mounts Registry.Handler on /metrics. docs/metrics.md lists every series.
package metrics
