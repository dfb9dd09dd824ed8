package mysql

import "testing"

// TestRowImageOK: FULL and NOBLOB start, as Debezium's BinlogSourceTask allows (NOBLOB with a
// note on the placeholder); MINIMAL is refused with the statement that fixes it.
func TestRowImageOK(t *testing.T) {
	for _, c := range []struct {
		img      string
		ok, note bool
	}{{"FULL", true, false}, {"full", true, false}, {"NOBLOB", true, true}, {"MINIMAL", false, true}} {
		ok, note := rowImageOK(c.img)
		if ok != c.ok || (note != "") != c.note {
			t.Errorf("%s: ok %v note %q", c.img, ok, note)
		}
	}
	if _, note := rowImageOK("MINIMAL"); note != "binlog_row_image is MINIMAL: run SET GLOBAL binlog_row_image='FULL' and set binlog_row_image=FULL in my.cnf" {
		t.Errorf("MINIMAL: %q", note)
	}
}
