package verify

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteReport prints one line per table (table, sink table, rows in the source and in the
// sink, missing, differing, extra, status) and then, per table, the keys found and the
// columns that were not compared, with the reason. Keys are canonical key texts: the key
// columns' values joined by ',', text as <bytes>:<text>.
func WriteReport(w io.Writer, rs []*Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tSINK TABLE\tROWS SOURCE\tROWS SINK\tMISSING\tDIFFERING\tEXTRA\tSTATUS")
	for _, r := range rs {
		num := func(n int64) string { return strconv.FormatInt(n, 10) }
		switch {
		case r.Skip != "":
			fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\t-\t-\tnot compared\n", r.Table, r.SinkTable)
		case r.SinkMissing:
			fmt.Fprintf(tw, "%s\t%s\t%s\t-\t%s\t-\t-\tDIFFERENT: no such table in the sink\n", r.Table, r.SinkTable, num(r.SourceRows), num(r.Missing))
		default:
			st := "ok"
			if !r.Clean() {
				st = "DIFFERENT"
			}
			if len(r.Excluded) > 0 {
				st += fmt.Sprintf(" (%d of %d columns not compared)", len(r.Excluded), r.Compared+len(r.Excluded))
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Table, r.SinkTable, num(r.SourceRows), num(r.SinkRows),
				num(r.Missing), num(r.Differing), num(r.Extra), st)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range rs {
		if r.Skip != "" {
			fmt.Fprintf(w, "%s: not compared: %s\n", r.Table, r.Skip)
		}
		keys := func(kind string, n int64, ks []string) {
			if n == 0 {
				return
			}
			more := ""
			if int64(len(ks)) < n {
				more = fmt.Sprintf(" … (%d more)", n-int64(len(ks)))
			}
			fmt.Fprintf(w, "%s: %s keys: %s%s\n", r.Table, kind, strings.Join(ks, " "), more)
		}
		keys("missing", r.Missing, r.MissingKeys)
		keys("differing", r.Differing, r.DifferingKeys)
		keys("extra", r.Extra, r.ExtraKeys)
		if r.Parked > 0 {
			fmt.Fprintf(w, "%s: %d records parked for %s in _sluice_parked (see the reason there; fix it, then: sluice clickhouse replay-parked --table %s)\n",
				r.Table, r.Parked, r.SinkTable, r.SinkTable[strings.IndexByte(r.SinkTable, '.')+1:])
		}
		for _, e := range r.Excluded {
			fmt.Fprintf(w, "%s: column %s not compared: %s\n", r.Table, e.Column, e.Reason)
		}
	}
	return nil
}
