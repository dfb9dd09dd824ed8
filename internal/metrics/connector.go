package metrics

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/internal/pipeline"
)

// Connector is the collector of one pipeline: the Debezium streaming, snapshot and schema
// history metrics, sluice's own series, and the sluice_* series of earlier releases.
type Connector struct {
	series []series
	rows   *prometheus.Desc // RowsScanned{table}
	est    *prometheus.Desc // sluice_snapshot_rows_estimate{table}
	done   *prometheus.Desc // sluice_snapshot_table_completed{table}
	failed *prometheus.Desc // sluice_snapshot_table_failed{table}
	deliv  *prometheus.Desc // sluice_sink_delivery_latency_seconds
	cfg    ConnectorConfig
	// mariadb is the same collector labelled plugin="mariadb", which Collect uses instead once
	// a mysql source has seen a MariaDB server (capture.Stats.MariaDB).
	mariadb *Connector
}

// ConnectorConfig says what a Connector reads and how its series are labelled.
type ConnectorConfig struct {
	// Plugin is the Debezium connector's plugin label: postgres, mysql (mariadb once
	// Source.MariaDB is set, as Debezium's MariaDB connector); sluice clickhouse uses kafka
	// (its source).
	Plugin string
	// Name is Debezium's name label, the connector's logical name (topic.prefix); sluice
	// clickhouse uses its consumer group.
	Name string
	// Sink labels the delivery latency: kafka, clickhouse, stdout.
	Sink string
	// Pipeline are the pipeline's counters; required.
	Pipeline *pipeline.Stats
	// Source are the source's own figures; nil: no snapshot, schema history or log figures
	// (sluice clickhouse).
	Source *capture.Stats
	// Connected reports whether a pipeline runs on an open source (Debezium's Connected).
	Connected func() bool
	// Reconnects counts the times the source was reopened after a retryable failure.
	Reconnects func() uint64
	// Now defaults to time.Now.
	Now func() time.Time
}

type series struct {
	desc  *prometheus.Desc
	typ   prometheus.ValueType
	value func(v *view) (float64, bool) // false: not exposed now
}

// view is what one scrape reads, once.
type view struct {
	now time.Time
	p   *pipeline.Stats
	w   pipeline.Watched
	lag pipeline.Summary
	src *capture.Stats
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func b01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// eventsSeenHelp is the help of both contexts' TotalNumberOfEventsSeen: one name has one help.
const eventsSeenHelp = "Change events read: snapshot reads in the snapshot context, the rest in the streaming context."

// NewConnector returns the collector of cfg's pipeline.
func NewConnector(cfg ConnectorConfig) *Connector {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Connected == nil {
		cfg.Connected = func() bool { return false }
	}
	if cfg.Reconnects == nil {
		cfg.Reconnects = func() uint64 { return 0 }
	}
	c := &Connector{cfg: cfg}
	if cfg.Plugin == "mysql" && cfg.Source != nil {
		alt := cfg
		alt.Plugin = "mariadb"
		c.mariadb = NewConnector(alt)
	}
	dbz := func(context, attr, help string) *prometheus.Desc {
		return prometheus.NewDesc("debezium_metrics_"+attr, help, nil,
			prometheus.Labels{"context": context, "plugin": cfg.Plugin, "name": cfg.Name})
	}
	own := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, nil, prometheus.Labels{"plugin": cfg.Plugin, "name": cfg.Name})
	}
	legacy := func(name, help string) *prometheus.Desc { return prometheus.NewDesc(name, help, nil, nil) }
	add := func(d *prometheus.Desc, t prometheus.ValueType, f func(v *view) (float64, bool)) {
		c.series = append(c.series, series{d, t, f})
	}
	always := func(f func(v *view) float64) func(v *view) (float64, bool) {
		return func(v *view) (float64, bool) { return f(v), true }
	}
	counter := func(d *prometheus.Desc, f func(v *view) uint64) {
		add(d, prometheus.CounterValue, always(func(v *view) float64 { return float64(f(v)) }))
	}
	gauge := func(d *prometheus.Desc, f func(v *view) float64) { add(d, prometheus.GaugeValue, always(f)) }
	lagQ := func(f func(s pipeline.Summary) time.Duration) func(v *view) float64 {
		return func(v *view) float64 {
			if v.lag.Count == 0 {
				return -1
			}
			return ms(f(v.lag))
		}
	}
	const st = "streaming"

	// Streaming: Debezium's StreamingChangeEventSourceMetrics attributes.
	gauge(dbz(st, "MilliSecondsBehindSource", "Milliseconds between the last change event's source timestamp and its processing; grows while read events wait for a stalled sink; -1: unknown."),
		func(v *view) float64 { return max(-1, ms(v.w.BehindSource)) })
	gauge(dbz(st, "MilliSecondsBehindSourceP50", "Median of MilliSecondsBehindSource over the last ~5 minutes (one sample a second); -1: none."), lagQ(func(s pipeline.Summary) time.Duration { return s.P50 }))
	gauge(dbz(st, "MilliSecondsBehindSourceP95", "95th percentile of MilliSecondsBehindSource over the last ~5 minutes; -1: none."), lagQ(func(s pipeline.Summary) time.Duration { return s.P95 }))
	gauge(dbz(st, "MilliSecondsBehindSourceP99", "99th percentile of MilliSecondsBehindSource over the last ~5 minutes; -1: none."), lagQ(func(s pipeline.Summary) time.Duration { return s.P99 }))
	gauge(dbz(st, "MilliSecondsBehindSourceMaxValue", "Largest MilliSecondsBehindSource sampled since the process started; -1: none."), lagQ(func(s pipeline.Summary) time.Duration { return s.Max }))
	gauge(dbz(st, "MilliSecondsBehindSourceAverageValue", "Mean of the MilliSecondsBehindSource samples since the process started; -1: none."), lagQ(func(s pipeline.Summary) time.Duration { return s.Mean }))
	gauge(dbz(st, "MilliSecondsSinceLastEvent", "Milliseconds since the last event was read from the source, to within a second; -1: none yet."),
		func(v *view) float64 {
			if v.w.LastEvent.IsZero() {
				return -1
			}
			return max(0, ms(v.now.Sub(v.w.LastEvent)))
		})
	counter(dbz(st, "TotalNumberOfEventsSeen", eventsSeenHelp),
		func(v *view) uint64 { return v.p.Changes.Load() - v.p.Reads.Load() })
	counter(dbz(st, "TotalNumberOfCreateEventsSeen", "Create events read from the log."),
		func(v *view) uint64 { return v.p.Creates.Load() - v.p.Reads.Load() })
	counter(dbz(st, "TotalNumberOfUpdateEventsSeen", "Update events read from the log."), func(v *view) uint64 { return v.p.Updates.Load() })
	counter(dbz(st, "TotalNumberOfDeleteEventsSeen", "Delete events read from the log."), func(v *view) uint64 { return v.p.Deletes.Load() })
	counter(dbz(st, "NumberOfCommittedTransactions", "Transaction commits read from the log."), func(v *view) uint64 { return v.p.Commits.Load() })
	counter(dbz(st, "NumberOfErroneousEvents", "Events and records skipped under event.processing.failure.handling.mode warn or skip."),
		func(v *view) uint64 { return v.p.ErroneousEvents.Load() })
	gauge(dbz(st, "Connected", "1 while a pipeline runs on an open source, 0 while it is opened or reopened or reconnects to its database log."),
		func(*view) float64 { return b01(cfg.Connected()) })
	buffered := func(f func(w pipeline.Watched) int64) func(v *view) (float64, bool) {
		return func(v *view) (float64, bool) { return float64(f(v.w)), v.w.HasBuffer }
	}
	// sluice bounds its queue (the sink's buffer) in bytes only: the Queue*Capacity series are
	// in bytes too, so that Debezium dashboards' remaining/total ratio still reads right.
	add(dbz(st, "QueueTotalCapacity", "The bound of the sink's buffer, in bytes (Debezium: in records)."), prometheus.GaugeValue,
		buffered(func(w pipeline.Watched) int64 { return w.MaxBufferedBytes }))
	add(dbz(st, "QueueRemainingCapacity", "Free bytes in the sink's buffer (Debezium: in records)."), prometheus.GaugeValue,
		buffered(func(w pipeline.Watched) int64 { return max(0, w.MaxBufferedBytes-w.BufferedBytes) }))
	add(dbz(st, "MaxQueueSizeInBytes", "The bound of the sink's buffer in bytes."), prometheus.GaugeValue,
		buffered(func(w pipeline.Watched) int64 { return w.MaxBufferedBytes }))
	add(dbz(st, "CurrentQueueSizeInBytes", "Bytes of records the sink holds."), prometheus.GaugeValue,
		buffered(func(w pipeline.Watched) int64 { return w.BufferedBytes }))

	if cfg.Source != nil {
		const sn = "snapshot"
		ss := &cfg.Source.Snapshot
		gauge(dbz(sn, "SnapshotRunning", "1 while a snapshot runs."), func(*view) float64 { return b01(ss.Running.Load()) })
		gauge(dbz(sn, "SnapshotCompleted", "1 once a snapshot completed."), func(*view) float64 { return b01(ss.Completed.Load()) })
		gauge(dbz(sn, "SnapshotPaused", "1 while a snapshot is paused."), func(*view) float64 { return b01(ss.Paused.Load()) })
		gauge(dbz(sn, "SnapshotAborted", "1 once a snapshot was aborted."), func(*view) float64 { return b01(ss.Aborted.Load()) })
		gauge(dbz(sn, "TotalTableCount", "Tables the snapshot reads."), func(*view) float64 { return float64(ss.TotalTables.Load()) })
		gauge(dbz(sn, "RemainingTableCount", "Tables the snapshot has not finished."), func(*view) float64 { return float64(ss.RemainingTables.Load()) })
		gauge(dbz(sn, "SnapshotDurationInSeconds", "Seconds the snapshot has run (until it ended), pauses included; 0: none yet."),
			func(v *view) float64 {
				start := ss.StartedUnixNano.Load()
				if start == 0 {
					return 0
				}
				end := ss.EndedUnixNano.Load()
				if end == 0 {
					end = v.now.UnixNano()
				}
				return float64(max(0, end-start)) / 1e9
			})
		counter(dbz(sn, "TotalNumberOfEventsSeen", eventsSeenHelp), func(v *view) uint64 { return v.p.Reads.Load() })
		gauge(own("sluice_snapshot_writes_blocked_seconds", "Seconds the snapshots of this process blocked writes on the source (MySQL/MariaDB global read or backup lock)."),
			func(*view) float64 { return float64(ss.WritesBlockedNanos.Load()) / 1e9 })
		c.rows = prometheus.NewDesc("debezium_metrics_RowsScanned", "Rows the snapshot read, per table.", []string{"table"},
			prometheus.Labels{"context": sn, "plugin": cfg.Plugin, "name": cfg.Name})
		c.est = prometheus.NewDesc("sluice_snapshot_rows_estimate", "Rows the catalog expects in a snapshotted table; 0: unknown.", []string{"table"},
			prometheus.Labels{"plugin": cfg.Plugin, "name": cfg.Name})
		c.done = prometheus.NewDesc("sluice_snapshot_table_completed", "1 once the snapshot finished the table.", []string{"table"},
			prometheus.Labels{"plugin": cfg.Plugin, "name": cfg.Name})
		c.failed = prometheus.NewDesc("sluice_snapshot_table_failed",
			"1 when the table's snapshot ended before its last row (the log names the fix); the rows read went out, the rest did not.", []string{"table"},
			prometheus.Labels{"plugin": cfg.Plugin, "name": cfg.Name})

		sh := &cfg.Source.Stream
		switch cfg.Plugin {
		case "postgres":
			gauge(own("sluice_postgres_retained_wal_bytes", "WAL the replication slot retains (pg_current_wal_lsn() - restart_lsn); -1 or 0: not measured yet."),
				func(*view) float64 { return float64(sh.RetainedWALBytes.Load()) })
			gauge(own("sluice_postgres_confirmed_flush_lag_bytes", "Bytes between the slot's confirmed_flush_lsn and pg_current_wal_lsn(); -1 or 0: not measured yet."),
				func(*view) float64 { return float64(sh.ConfirmedFlushLagBytes.Load()) })
		case "mysql", "mariadb":
			gauge(own("sluice_mysql_binlog_bytes_behind", "Bytes between the position read and the end of the source's binlog; -1 or 0: not measured yet."),
				func(*view) float64 { return float64(sh.BinlogBytesBehind.Load()) })
			const hc = "schema-history"
			hs := &cfg.Source.SchemaHistory
			since := func(at *atomic.Int64) func(v *view) float64 {
				return func(v *view) float64 {
					ms := at.Load()
					if ms == 0 {
						return -1
					}
					return float64(max(0, v.now.UnixMilli()-ms))
				}
			}
			counter(dbz(hc, "ChangesRecovered", "Schema history records read back when the source opened (over the opens of this process)."),
				func(*view) uint64 { return uint64(hs.ChangesRecovered.Load()) })
			counter(dbz(hc, "ChangesApplied", "Schema history records appended (schema changes captured)."),
				func(*view) uint64 { return uint64(hs.ChangesApplied.Load()) })
			gauge(dbz(hc, "MilliSecondsSinceLastRecoveredChange", "Milliseconds since a schema history record was last read back; -1: never."), since(&hs.LastRecoveredUnixMilli))
			gauge(dbz(hc, "MilliSecondsSinceLastAppliedChange", "Milliseconds since a schema history record was last appended; -1: never."), since(&hs.LastAppliedUnixMilli))
			gauge(dbz(hc, "RecoveryStartTime", "When the schema history was last read back, in epoch milliseconds; 0: never."),
				func(*view) float64 { return float64(hs.RecoveryStartUnixMilli.Load()) })
		}
		gauge(own("sluice_source_last_event_timestamp_seconds", "Database time of the last change read (Debezium's LastEvent, which its JMX exporter drops as a string); 0: none yet."),
			func(*view) float64 { return float64(sh.LastEventUnixMilli.Load()) / 1e3 })
	}
	c.deliv = prometheus.NewDesc("sluice_sink_delivery_latency_seconds",
		"From a record's send to the sink until it is durable (Kafka acknowledged, ClickHouse inserted); one record timed a second; quantiles over the last ~5 minutes.",
		nil, prometheus.Labels{"plugin": cfg.Plugin, "name": cfg.Name, "sink": cfg.Sink})

	// The sluice_* series of earlier releases, unchanged (docs/metrics.md maps them).
	counter(legacy("sluice_events_total", "Events read from the source (see debezium_metrics_TotalNumberOfEventsSeen)."), func(v *view) uint64 { return v.p.Events.Load() })
	counter(legacy("sluice_create_events_total", "Create and snapshot read events."), func(v *view) uint64 { return v.p.Creates.Load() })
	counter(legacy("sluice_update_events_total", "Update events."), func(v *view) uint64 { return v.p.Updates.Load() })
	counter(legacy("sluice_delete_events_total", "Delete events."), func(v *view) uint64 { return v.p.Deletes.Load() })
	counter(legacy("sluice_committed_transactions_total", "Transaction commits read from the source."), func(v *view) uint64 { return v.p.Commits.Load() })
	counter(legacy("sluice_records_total", "Records sent to the sink."), func(v *view) uint64 { return v.p.Records.Load() })
	counter(legacy("sluice_events_acknowledged_total", "Events whose positions were released after their records were durable."), func(v *view) uint64 { return v.p.Released.Load() })
	counter(legacy("sluice_offset_saves_total", "Successful offsets saves."), func(v *view) uint64 { return v.p.Saves.Load() })
	counter(legacy("sluice_erroneous_events_total", "Events and records skipped by --event-processing-failure-handling-mode warn or skip."), func(v *view) uint64 { return v.p.ErroneousEvents.Load() })
	counter(legacy("sluice_source_reconnects_total", "Times the pipeline failed with a retryable error and the source was reopened."), func(*view) uint64 { return cfg.Reconnects() })
	gauge(legacy("sluice_connected", "1 while a pipeline runs on an open source, 0 while it is opened or reopened."), func(*view) float64 { return b01(cfg.Connected()) })
	gauge(legacy("sluice_milliseconds_since_last_event", "Milliseconds since the last event was read from the source; -1 before the first."),
		func(v *view) float64 {
			if v.w.LastEvent.IsZero() {
				return -1
			}
			return max(0, float64(v.now.Sub(v.w.LastEvent).Milliseconds()))
		})
	gauge(legacy("sluice_milliseconds_behind_source", "Milliseconds between the last change event's source timestamp and its processing; -1 when unknown."),
		func(v *view) float64 { return float64(max(-1, v.w.BehindSource.Milliseconds())) })
	gauge(legacy("sluice_records_in_flight", "Records sent to the sink and not yet durable."), func(v *view) float64 { return float64(v.w.InFlight) })
	gauge(legacy("sluice_events_pending", "Events whose positions wait for their records to be durable."), func(v *view) float64 { return float64(v.w.Pending) })
	add(legacy("sluice_queue_size_bytes", "Bytes of records the sink holds."), prometheus.GaugeValue, buffered(func(w pipeline.Watched) int64 { return w.BufferedBytes }))
	add(legacy("sluice_queue_max_size_bytes", "The bound of the sink's buffer in bytes."), prometheus.GaugeValue, buffered(func(w pipeline.Watched) int64 { return w.MaxBufferedBytes }))
	gauge(legacy("sluice_stalled", "1 while work is pending and nothing moved for --stall-timeout."), func(v *view) float64 { return b01(v.p.Stall() != nil) })
	return c
}

// Describe implements prometheus.Collector.
func (c *Connector) Describe(ch chan<- *prometheus.Desc) {
	if c.mariadb != nil { // (the unlabelled sluice_* series come twice: the registry allows it)
		c.mariadb.Describe(ch)
	}
	for _, s := range c.series {
		ch <- s.desc
	}
	for _, d := range []*prometheus.Desc{c.rows, c.est, c.done, c.failed, c.deliv} {
		if d != nil {
			ch <- d
		}
	}
}

// Collect implements prometheus.Collector.
func (c *Connector) Collect(ch chan<- prometheus.Metric) {
	if c.mariadb != nil && c.cfg.Source.MariaDB.Load() {
		c.mariadb.Collect(ch)
		return
	}
	v := &view{now: c.cfg.Now(), p: c.cfg.Pipeline, src: c.cfg.Source}
	v.w, v.lag = v.p.Watched(), v.p.Lag()
	for _, s := range c.series {
		if f, ok := s.value(v); ok {
			ch <- prometheus.MustNewConstMetric(s.desc, s.typ, f)
		}
	}
	if v.src != nil {
		for _, t := range v.src.Snapshot.Tables() {
			ch <- prometheus.MustNewConstMetric(c.rows, prometheus.CounterValue, float64(t.Rows.Load()), t.Name)
			ch <- prometheus.MustNewConstMetric(c.est, prometheus.GaugeValue, float64(t.Estimate.Load()), t.Name)
			ch <- prometheus.MustNewConstMetric(c.done, prometheus.GaugeValue, b01(t.Done.Load()), t.Name)
			ch <- prometheus.MustNewConstMetric(c.failed, prometheus.GaugeValue, b01(t.Failed.Load()), t.Name)
		}
	}
	d := v.p.Delivery()
	ch <- prometheus.MustNewConstSummary(c.deliv, d.Count, d.Mean.Seconds()*float64(d.Count), map[float64]float64{
		0.5: d.P50.Seconds(), 0.95: d.P95.Seconds(), 0.99: d.P99.Seconds(),
	})
}
