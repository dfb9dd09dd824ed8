package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/internal/offsets"
)

// CheckStore checks the offsets store (and loads the stored offset, which the source's checks
// then test) without creating anything: an offsets file's directory must take a file, an
// offsets topic's brokers must answer.
func (c *Capture) CheckStore(ctx context.Context) (offset []byte, checks []capture.Check) {
	switch {
	case c.Offsets.File != "":
		f := offsets.NewFile(c.Offsets.File, c.Offsets.Name, c.Envelope.TopicPrefix)
		if err := f.Ping(ctx); err != nil {
			return nil, []capture.Check{{Name: "offsets store", Status: capture.CheckFail, Detail: err.Error(),
				Fix: "create the directory or make it writable for this user, or change --offsets-file (offset.storage.file.filename)"}}
		}
		off, err := f.Load(ctx)
		if err != nil {
			return nil, []capture.Check{{Name: "offsets store", Status: capture.CheckFail, Detail: err.Error(), Fix: "see the error"}}
		}
		detail := "file " + c.Offsets.File + ": no offset stored, the first run starts per --snapshot-mode"
		if off != nil {
			detail = "file " + c.Offsets.File + ": an offset is stored, a run resumes from it"
		}
		return off, []capture.Check{{Name: "offsets store", Status: capture.CheckOK, Detail: detail}}
	case c.Offsets.Topic != "":
		ok, detail := c.topicExists(c.Offsets.Topic)
		st := capture.CheckOK
		if !ok {
			st = capture.CheckFail
		}
		// Reading the stored offset needs a consumer of the whole topic: a run does it; the
		// check only says whether the topic is there.
		return nil, []capture.Check{{Name: "offsets store", Status: st, Detail: "topic " + c.Offsets.Topic + ": " + detail,
			Fix: fixIf(!ok, "check --kafka-brokers and the Kafka security settings (--kafka-security-protocol, --kafka-sasl-*)")}}
	}
	return nil, []capture.Check{{Name: "offsets store", Status: capture.CheckWarn, Detail: "memory: a restart starts over",
		Fix: "--offsets-file PATH or --offsets-topic NAME (offset.storage.file.filename, offset.storage.topic)"}}
}

// CheckSink checks the chosen sink can take writes (Pinger), creating nothing.
func (c *Capture) CheckSink(ctx context.Context) capture.Check {
	ch := capture.Check{Name: "sink " + c.Sink, Status: capture.CheckOK}
	p, ok := c.sinks[c.Sink].(Pinger)
	if !ok {
		ch.Detail = "nothing to check"
		return ch
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := p.Ping(ctx); err != nil {
		ch.Status, ch.Detail = capture.CheckFail, err.Error()
		ch.Fix = "check --kafka-brokers, that the brokers run, and the Kafka security settings (--kafka-security-protocol, --kafka-sasl-*, --kafka-tls-*)"
		return ch
	}
	ch.Detail = "brokers " + strings.Join(c.Kafka.Client.Brokers, ",") + " answer"
	return ch
}

// CheckTopic reports whether a topic sluice reads or writes (schema history, offsets) exists,
// creating nothing; a missing one is created by a run.
func (c *Capture) CheckTopic(name, topic string) capture.Check {
	ok, detail := c.topicExists(topic)
	ch := capture.Check{Name: name, Status: capture.CheckOK, Detail: "topic " + topic + ": " + detail}
	if !ok {
		ch.Status, ch.Fix = capture.CheckFail, "check --kafka-brokers and the Kafka security settings"
	}
	return ch
}

// topicExists connects to the brokers and looks the topic up.
func (c *Capture) topicExists(topic string) (reachable bool, detail string) {
	md, err := c.Kafka.Client.Probe(context.Background(), "sluice-check", topic, 15*time.Second)
	if err != nil {
		return false, "brokers " + strings.Join(c.Kafka.Client.Brokers, ",") + ": " + err.Error()
	}
	if md.Exists {
		return true, "exists"
	}
	return true, "does not exist yet; a run creates it"
}

func fixIf(cond bool, fix string) string {
	if cond {
		return fix
	}
	return ""
}

// Stdout is where commands print their reports (the check table); tests replace it.
var Stdout io.Writer = os.Stdout

// PrintChecks writes checks as a table (check, status, detail, fix) and reports whether all
// passed (no FAIL; warnings pass).
func PrintChecks(w io.Writer, checks []capture.Check) bool {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tSTATUS\tDETAIL\tFIX")
	ok := true
	for _, c := range checks {
		if c.Status == capture.CheckFail {
			ok = false
		}
		fix := c.Fix
		if fix == "" {
			fix = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Name, c.Status, oneLine(c.Detail), oneLine(fix))
	}
	tw.Flush()
	if ok {
		fmt.Fprintln(w, "\nall checks passed")
	} else {
		fmt.Fprintln(w, "\nsome checks failed: apply the fixes above and run the check again")
	}
	return ok
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// ErrChecksFailed is returned by a check command when a check failed (exit status 1; the
// table says which).
var ErrChecksFailed = errorString("checks failed")

type errorString string

func (e errorString) Error() string { return string(e) }
