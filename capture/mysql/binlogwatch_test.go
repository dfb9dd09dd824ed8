package mysql

import (
	"strings"
	"testing"
	"time"
)

func TestBinlogBytesBehind(t *testing.T) {
	w := binlogWatch{files: []binlogFile{{"bin.000001", 1000}, {"bin.000002", 500}, {"bin.000003", 200}}}
	for _, c := range []struct {
		name string
		pos  Position
		want int64
	}{
		{"newest file", Position{File: "bin.000003", Pos: 150}, 50},
		{"at the end", Position{File: "bin.000003", Pos: 200}, 0},
		{"older file", Position{File: "bin.000001", Pos: 400}, 600 + 500 + 200},
		{"purged", Position{File: "bin.000000", Pos: 4}, -1},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := w.bytesBehind(&c.pos); got != c.want {
				t.Errorf("bytesBehind = %d, want %d", got, c.want)
			}
		})
	}
}

func TestPurgeRisk(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	files := []binlogFile{{"bin.000007", 1000}, {"bin.000008", 500}, {"bin.000009", 200}}
	day := 24 * time.Hour
	at := func(file string, age time.Duration) *Position {
		return &Position{File: file, Pos: 4, TsSec: now.Add(-age).Unix()}
	}
	for _, c := range []struct {
		name   string
		expiry time.Duration
		pos    *Position
		want   string // a part of the warning; "" for none
	}{
		{"young", 7 * day, at("bin.000007", day), ""},
		{"near expiry", 7 * day, at("bin.000007", 6*day), "purges binlogs after"},
		{"newest file is never purged", 7 * day, at("bin.000009", 30*day), ""},
		{"no expiry", 0, at("bin.000007", 300*day), ""},
		{"already purged", 7 * day, at("bin.000003", day), "already purged"},
		{"another server's file", 7 * day, at("other.000001", day), ""},
		{"no position", 7 * day, nil, ""},
		{"no event time", 7 * day, &Position{File: "bin.000007", Pos: 4}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := binlogWatch{files: files, expiry: c.expiry}.purgeRisk(c.pos, now)
			if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
				t.Errorf("purgeRisk = %q, want %q", got, c.want)
			}
			if c.want == "purges binlogs after" && !strings.Contains(got, "binlog_expire_logs_seconds = 1209600") {
				t.Errorf("the warning does not say how to keep binlogs longer: %q", got)
			}
		})
	}
}
