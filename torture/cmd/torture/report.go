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

// Markdown is the table printed at the end: one row per path.
func (r *report) Markdown() string {
	var b strings.Builder
	mode := "full"
	if r.Quick {
		mode = "quick"
	}
	fmt.Fprintf(&b, "\n## torture (%s), seed %d, sluice %s, %s, %.0f s\n\n", mode, r.Seed, r.Commit, r.Started.Format(time.RFC3339), r.DurationS)
	b.WriteString("| path | source | kill -9 | SIGSTOP | db restart fast | db restart immediate | kafka restart | db link cut | db link stall | kafka link cut | kafka link stall | rows written | records | lost | differing | undeleted | duplicated | longest stall | drained | sluice exits | result |\n")
	b.WriteString("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|---|\n")
	for _, p := range r.Paths {
		if p == nil {
			continue
		}
		res := "ok"
		if !p.ok() {
			res = "**FAIL**"
		}
		fmt.Fprintf(&b, "| %s | %s |", p.Path, p.Source)
		for _, k := range faultKinds {
			fmt.Fprintf(&b, " %d |", p.Faults[k])
		}
		fmt.Fprintf(&b, " %d | %d | %d | %d | %d | %d | %.1f s | %v | %d | %s |\n", p.RowsWritten, p.Records, p.Lost, p.Differing,
			p.Undeleted, p.Duplicated, p.LongestStallS, p.Drained, p.SluiceExits, res)
	}
	for _, p := range r.Paths {
		if p == nil {
			continue
		}
		if p.Error != "" {
			fmt.Fprintf(&b, "\n%s: error: %s\n", p.Path, p.Error)
		}
		if p.TruthMismatch > 0 {
			fmt.Fprintf(&b, "\n%s: %d rows of the source differ from what the workload committed\n", p.Path, p.TruthMismatch)
		}
		for _, t := range p.Tables {
			for _, ex := range t.Examples {
				fmt.Fprintf(&b, "\n%s: %s", p.Path, ex)
			}
		}
		if p.FaultsFailed > 0 {
			fmt.Fprintf(&b, "\n%s: %d faults could not be injected (see the log)", p.Path, p.FaultsFailed)
		}
		if p.DBFastStopHangs > 0 {
			fmt.Fprintf(&b, "\n%s: %d fast database shutdowns did not finish in 20 s while sluice was connected", p.Path, p.DBFastStopHangs)
		}
		for _, ex := range p.ExitExamples {
			fmt.Fprintf(&b, "\n%s: sluice exited: %s", p.Path, ex)
		}
	}
	b.WriteString("\n")
	return b.String()
}
