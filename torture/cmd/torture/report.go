package main

import (
	"fmt"
	"strings"
	"time"
)

// report is torture/results/latest.json.
type report struct {
	Seed      uint64        `json:"seed"`
	Quick     bool          `json:"quick"`
	Commit    string        `json:"commit"`
	Started   time.Time     `json:"started"`
	DurationS float64       `json:"duration_s"`
	Paths     []*pathResult `json:"paths"`
}

func (r *report) OK() bool {
	for _, p := range r.Paths {
		if p == nil || !p.ok() {
			return false
		}
	}
	return true
}

func (r *report) write(path string) error { return writeJSON(path, r) }

// faultLabels are the fault columns' headers.
var faultLabels = map[string]string{"kill9": "kill -9", "sigstop": "SIGSTOP", "db_restart_fast": "db restart fast",
	"db_restart_immediate": "db restart immediate", "kafka_restart": "kafka restart", "db_link_cut": "db link cut",
	"db_link_stall": "db link stall", "kafka_link_cut": "kafka link cut", "kafka_link_stall": "kafka link stall",
	"clickhouse_restart": "clickhouse restart", "ch_link_cut": "ch link cut", "ch_link_stall": "ch link stall",
	"disk_full": "disk full", "offsets_broker_down": "offsets broker down 30 s"}

// Markdown is what is printed at the end: the faults injected per path, then one row per
// path and sink with the checker's verdict.
func (r *report) Markdown() string {
	var b strings.Builder
	mode := "full"
	if r.Quick {
		mode = "quick"
	}
	fmt.Fprintf(&b, "\n## torture (%s), seed %d, sluice %s, %s, %.0f s\n\n", mode, r.Seed, r.Commit, r.Started.Format(time.RFC3339), r.DurationS)
	b.WriteString("| path | source |")
	for _, k := range faultKinds {
		fmt.Fprintf(&b, " %s |", faultLabels[k])
	}
	b.WriteString(" rows written | transactions |\n|---|---|")
	for range faultKinds {
		b.WriteString("--:|")
	}
	b.WriteString("--:|--:|\n")
	for _, p := range r.Paths {
		if p == nil {
			continue
		}
		fmt.Fprintf(&b, "| %s | %s |", p.Path, p.Source)
		for _, k := range faultKinds {
			if n, ok := p.Faults[k]; ok {
				fmt.Fprintf(&b, " %d |", n)
			} else {
				b.WriteString(" – |")
			}
		}
		fmt.Fprintf(&b, " %d | %d |\n", p.RowsWritten, p.Txns)
	}
	b.WriteString("\n| path | sink | records | lost | differing | undeleted | duplicated | parked | longest stall | drained | sluice exits | result |\n")
	b.WriteString("|---|---|--:|--:|--:|--:|--:|--:|--:|---|--:|---|\n")
	for _, p := range r.Paths {
		if p == nil {
			continue
		}
		for _, s := range p.Sinks {
			res := "ok"
			if !s.ok() || !p.ok() {
				res = "**FAIL**"
			}
			fmt.Fprintf(&b, "| %s | %s | %d | %d | %d | %d | %d | %d | %.1f s | %v | %d | %s |\n", p.Path, s.Sink, s.Records, s.Lost,
				s.Differing, s.Undeleted, s.Duplicated, s.Parked, s.LongestStallS, s.Drained, s.SluiceExits, res)
		}
		if len(p.Sinks) == 0 {
			fmt.Fprintf(&b, "| %s | – | | | | | | | | | | **FAIL** |\n", p.Path)
		}
	}
	for _, p := range r.Paths {
		if p == nil {
			continue
		}
		if p.Error != "" {
			fmt.Fprintf(&b, "\n%s: error: %s\n", p.Path, p.Error)
		}
		if p.TruthMismatch > 0 {
			fmt.Fprintf(&b, "\n%s: %d rows of the source differ from what the workload believes it committed (the harness's account; the sinks are checked against the source)", p.Path, p.TruthMismatch)
			for _, ex := range p.TruthExamples {
				fmt.Fprintf(&b, "\n%s: %s", p.Path, ex)
			}
		}
		for _, s := range p.Sinks {
			if s.DrainError != "" {
				fmt.Fprintf(&b, "\n%s → %s: not drained: %s", p.Path, s.Sink, s.DrainError)
			}
			for _, t := range s.Tables {
				for _, ex := range t.Examples {
					fmt.Fprintf(&b, "\n%s → %s: %s", p.Path, s.Sink, ex)
				}
			}
			for _, ex := range s.ExitExamples {
				fmt.Fprintf(&b, "\n%s → %s: sluice exited: %s", p.Path, s.Sink, ex)
			}
		}
		if p.FaultsFailed > 0 {
			fmt.Fprintf(&b, "\n%s: %d faults could not be injected (see the log)", p.Path, p.FaultsFailed)
		}
		if p.DBFastStopHangs > 0 {
			fmt.Fprintf(&b, "\n%s: %d fast database shutdowns did not finish in 20 s while sluice was connected", p.Path, p.DBFastStopHangs)
		}
	}
	b.WriteString("\n")
	return b.String()
}
