package clickhousecmd

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/internal/cli"
	"github.com/sluicecdc/sluice/sink/clickhouse"
	kafkasrc "github.com/sluicecdc/sluice/source/kafka"
)

// checkTimeout bounds each check's network round trips, so that an unreachable broker or
// server fails its line instead of hanging the command.
const checkTimeout = 15 * time.Second

// check is `sluice clickhouse check`: with the flags of a run, the preflight of the Kafka input
// (brokers, matching topics, the group's committed offsets) and of ClickHouse (connection,
// version, database), creating nothing, printed as the table `sluice check` prints.
func check(ctx context.Context, prog string, args []string) error {
	o, err := parseOptions(prog, args)
	if err != nil {
		return err
	}
	checks := checkKafka(ctx, o.kafka)
	checks = append(checks, checkClickHouse(ctx, o.sink)...)
	if !cli.PrintChecks(cli.Stdout, checks) {
		return cli.ErrChecksFailed
	}
	return nil
}

// checkKafka checks the brokers answer, which topics --topics matches now and where the group
// resumes.
func checkKafka(ctx context.Context, cfg kafkasrc.Config) []capture.Check {
	brokers := strings.Join(cfg.Client.Brokers, ",")
	const secFix = "check --kafka-brokers, that the brokers run, and the Kafka security settings (--kafka-security-protocol, --kafka-sasl-*, --kafka-tls-*)"
	fail := func(name, detail, fix string) []capture.Check {
		return []capture.Check{{Name: name, Status: capture.CheckFail, Detail: detail, Fix: fix}}
	}
	opts, err := cfg.Client.Kgo("sluice-clickhouse-check", cfg.Logger)
	if err != nil {
		return fail("kafka brokers", err.Error(), "fix the Kafka security settings")
	}
	// No retries past the timeout: a check reports, a run waits.
	cl, err := kgo.NewClient(append(opts, kgo.RetryTimeout(checkTimeout))...)
	if err != nil {
		return fail("kafka brokers", err.Error(), secFix)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	meta, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl)
	if err != nil {
		return fail("kafka brokers", "brokers "+brokers+": "+err.Error(), secFix)
	}
	checks := []capture.Check{{Name: "kafka brokers", Status: capture.CheckOK,
		Detail: fmt.Sprintf("brokers %s answer (%d in the cluster)", brokers, len(meta.Brokers))}}

	re := regexp.MustCompile("^(?:" + cfg.Topics + ")$") // (Validate compiled it)
	var matched []string
	for _, t := range meta.Topics {
		if t.Topic != nil && re.MatchString(*t.Topic) {
			matched = append(matched, *t.Topic)
		}
	}
	slices.Sort(matched)
	tc := capture.Check{Name: "kafka topics", Status: capture.CheckOK}
	switch {
	case len(matched) == 0:
		tc.Status = capture.CheckWarn
		tc.Detail = fmt.Sprintf("no topic matches --topics %q yet; a run consumes them as they appear (--topic-refresh)", cfg.Topics)
		tc.Fix = "check --topics against the topic names (<topic.prefix>.<db>.<table>), or start the capture first"
	case len(matched) <= 5:
		tc.Detail = fmt.Sprintf("%d match --topics: %s", len(matched), strings.Join(matched, ", "))
	default:
		tc.Detail = fmt.Sprintf("%d match --topics: %s, …", len(matched), strings.Join(matched[:5], ", "))
	}
	checks = append(checks, tc)

	group := cfg.Group
	if group == "" {
		group = "sluice-clickhouse"
	}
	initial := cfg.Initial
	if initial == "" {
		initial = "oldest"
	}
	req := kmsg.NewPtrOffsetFetchRequest()
	req.Group = group // no topics: every committed offset of the group
	resp, err := req.RequestWith(ctx, cl)
	var committed []int // partitions per topic
	offsets := map[string]map[int32]int64{}
	if err == nil {
		code := resp.ErrorCode
		for _, t := range resp.Topics {
			committed = append(committed, len(t.Partitions))
			for _, p := range t.Partitions {
				addOffset(offsets, t.Topic, p.Partition, p.Offset)
			}
		}
		if len(resp.Groups) == 1 { // the response of OffsetFetch v8+
			code, committed = resp.Groups[0].ErrorCode, nil
			for _, t := range resp.Groups[0].Topics {
				committed = append(committed, len(t.Partitions))
				for _, p := range t.Partitions {
					addOffset(offsets, t.Topic, p.Partition, p.Offset)
				}
			}
		}
		err = kerr.ErrorForCode(code)
	}
	if errors.Is(err, kerr.GroupIDNotFound) { // a group that never committed
		err, committed = nil, nil
	}
	gc := capture.Check{Name: "kafka group", Status: capture.CheckOK}
	if err != nil {
		gc.Status, gc.Detail = capture.CheckFail, "group "+group+": "+err.Error()
		gc.Fix = "the user needs Describe and Read on the group (Kafka ACLs), or change --group"
		return append(checks, gc)
	}
	n := 0
	for _, p := range committed {
		n += p
	}
	if n == 0 {
		gc.Detail = fmt.Sprintf("group %s has no committed offsets: a run starts each partition at its %s record (--initial-offset)", group, initial)
	} else {
		gc.Detail = fmt.Sprintf("group %s has committed offsets on %d partitions of %d topics: a run resumes from them", group, n, len(committed))
		if gone := offsetsGone(ctx, cl, offsets); gone != "" {
			gc.Status = capture.CheckFail
			gc.Detail = fmt.Sprintf("group %s: committed offsets no longer in their partition's log (%s): the records after them were deleted "+
				"(retention) or the topic was created again; a run stops there", group, gone)
			gc.Fix = "rebuild the tables from a new snapshot, or, accepting the gap: kafka-consumer-groups.sh --group " + group +
				" --topic <topic>:<partition> --reset-offsets --to-earliest --execute"
		}
	}
	return append(checks, gc)
}

func addOffset(m map[string]map[int32]int64, topic string, p int32, o int64) {
	if o < 0 {
		return // no commit
	}
	if m[topic] == nil {
		m[topic] = map[int32]int64{}
	}
	m[topic][p] = o
}

// offsetsGone lists (up to 5) committed offsets outside their partition's log, "" when none
// is or the logs cannot be listed (the run then finds out).
func offsetsGone(ctx context.Context, cl *kgo.Client, offsets map[string]map[int32]int64) string {
	if len(offsets) == 0 {
		return ""
	}
	adm := kadm.NewClient(cl)
	topics := slices.Sorted(maps.Keys(offsets))
	starts, err1 := adm.ListStartOffsets(ctx, topics...)
	ends, err2 := adm.ListEndOffsets(ctx, topics...)
	if err1 != nil || err2 != nil {
		return ""
	}
	var gone []string
	for _, t := range topics {
		for _, p := range slices.Sorted(maps.Keys(offsets[t])) {
			o := offsets[t][p]
			st, ok1 := starts.Lookup(t, p)
			en, ok2 := ends.Lookup(t, p)
			switch {
			case !ok1 || !ok2 || st.Err != nil || en.Err != nil:
			case o < st.Offset:
				gone = append(gone, fmt.Sprintf("%s:%d at %d, log starts at %d", t, p, o, st.Offset))
			case o > en.Offset:
				gone = append(gone, fmt.Sprintf("%s:%d at %d, log ends at %d", t, p, o, en.Offset))
			}
		}
	}
	if len(gone) > 5 {
		gone = append(gone[:5], fmt.Sprintf("%d more", len(gone)-5))
	}
	return strings.Join(gone, "; ")
}

// checkClickHouse connects as a run does and checks the server version and the database,
// creating nothing (a run creates the database and its tables).
func checkClickHouse(ctx context.Context, cfg clickhouse.Config) []capture.Check {
	addr := strings.Join(cfg.Addr, ",")
	if addr == "" {
		addr = "127.0.0.1:9000"
	}
	db := cfg.Database
	if db == "" {
		db = "default"
	}
	opts, err := cfg.Options()
	if err != nil {
		return []capture.Check{{Name: "clickhouse", Status: capture.CheckFail, Detail: err.Error(), Fix: "fix the --clickhouse-* settings"}}
	}
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	conn, err := ch.Open(opts)
	var version string
	if err == nil {
		defer conn.Close()
		err = conn.QueryRow(ctx, "SELECT version()").Scan(&version)
	}
	if err != nil {
		return []capture.Check{{Name: "clickhouse", Status: capture.CheckFail, Detail: addr + ": " + err.Error(),
			Fix: "check --clickhouse-addr (the native protocol port, 9000; 9440 with TLS), that the server runs, --clickhouse-user/--clickhouse-password(-file) and --clickhouse-tls-*"}}
	}
	checks := []capture.Check{{Name: "clickhouse", Status: capture.CheckOK, Detail: addr + ": ClickHouse " + version}}
	var exists uint64
	dc := capture.Check{Name: "clickhouse database", Status: capture.CheckOK}
	if err := conn.QueryRow(ctx, "SELECT count() FROM system.databases WHERE name = ?", db).Scan(&exists); err != nil {
		dc.Status, dc.Detail, dc.Fix = capture.CheckFail, err.Error(), "the user needs to read system.databases"
	} else if exists == 0 {
		dc.Detail = "database " + db + " does not exist yet; a run creates it (the user needs CREATE DATABASE)"
	} else {
		dc.Detail = "database " + db + " exists"
	}
	return append(checks, dc)
}
