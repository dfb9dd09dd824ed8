package history

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func ddlRecord(i int) *Record {
	return &Record{Server: "x", DDL: "CREATE DATABASE d", DatabaseName: "d", TsMs: int64(i)}
}

func appendN(t *testing.T, s *File, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		if err := s.Append(context.Background(), ddlRecord(i)); err != nil {
			t.Fatal(err)
		}
	}
}

func loadTs(t *testing.T, s *File) []int64 {
	t.Helper()
	recs, err := s.Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ts []int64
	for _, r := range recs {
		ts = append(ts, r.TsMs)
	}
	return ts
}

func equalTs(a []int64, b ...int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestFileTornTail: a last line cut short (kill -9 or a full disk in the middle of a write) is
// dropped with a warning, and records appended afterwards load at every later start. Before,
// the torn line stayed in the file and the next record went behind it, so every start after
// that failed with a parse error in the middle of the file.
func TestFileTornTail(t *testing.T) {
	for _, cut := range []int{1, 5, 40} {
		p := filepath.Join(t.TempDir(), "h.jsonl")
		s := NewFile(p, nil)
		appendN(t, s, 0, 3)
		s.Close()
		st, _ := os.Stat(p)
		if err := os.Truncate(p, st.Size()-int64(cut)); err != nil {
			t.Fatal(err)
		}
		var logs bytes.Buffer
		s = NewFile(p, slog.New(slog.NewTextHandler(&logs, nil)))
		if ts := loadTs(t, s); !equalTs(ts, 0, 1) && !(cut == 1 && equalTs(ts, 0, 1, 2)) {
			t.Fatalf("cut %d: loaded %v", cut, ts)
		}
		appendN(t, s, 10, 1)
		s.Close()
		s = NewFile(p, nil)
		ts := loadTs(t, s) // the restart after the restart
		if cut == 1 {
			// only the newline was lost: the record is whole and kept
			if !equalTs(ts, 0, 1, 2, 10) {
				t.Fatalf("cut %d: after append %v", cut, ts)
			}
			continue
		}
		if !equalTs(ts, 0, 1, 10) {
			t.Fatalf("cut %d: after append %v", cut, ts)
		}
		if !strings.Contains(logs.String(), "torn") || !strings.Contains(logs.String(), "bytes_dropped=") {
			t.Fatalf("cut %d: no warning: %s", cut, logs.String())
		}
	}
}

// TestFileTornTailWithoutLoad: Append alone (no Load first) also repairs a torn tail.
func TestFileTornTailWithoutLoad(t *testing.T) {
	p := filepath.Join(t.TempDir(), "h.jsonl")
	s := NewFile(p, nil)
	appendN(t, s, 0, 2)
	s.Close()
	st, _ := os.Stat(p)
	os.Truncate(p, st.Size()-7)
	s = NewFile(p, nil)
	appendN(t, s, 5, 1)
	s.Close()
	if ts := loadTs(t, NewFile(p, nil)); !equalTs(ts, 0, 5) {
		t.Fatalf("loaded %v", ts)
	}
}

// TestFileDamagedMiddle: a bad line that is not the last one is an error naming the line, not
// a silent skip.
func TestFileDamagedMiddle(t *testing.T) {
	p := filepath.Join(t.TempDir(), "h.jsonl")
	s := NewFile(p, nil)
	appendN(t, s, 0, 1)
	s.Close()
	f, _ := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString("{\"source\":\n")
	f.Close()
	s = NewFile(p, nil)
	appendN(t, s, 1, 1)
	_, err := s.Load(context.Background())
	if err == nil || !strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), "--snapshot-mode recovery") {
		t.Fatalf("err = %v", err)
	}
}

// TestFileDiskFull: a write cut short by a full disk (RLIMIT_FSIZE gives the same short write
// and EFBIG) fails the Append and leaves no half record behind it: later Appends and every
// later Load work.
func TestFileDiskFull(t *testing.T) {
	p := filepath.Join(t.TempDir(), "h.jsonl")
	s := NewFile(p, nil)
	appendN(t, s, 0, 2)
	st, _ := os.Stat(p)
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Skip(err)
	}
	// The process-wide limit is lifted again before anything else writes a file.
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: uint64(st.Size()) + 20, Max: old.Max}); err != nil {
		t.Skip(err)
	}
	err := s.Append(context.Background(), ddlRecord(2))
	syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old)
	if err == nil {
		t.Fatal("Append past the size limit succeeded")
	}
	appendN(t, s, 3, 1) // the disk has room again
	s.Close()
	if ts := loadTs(t, NewFile(p, nil)); !equalTs(ts, 0, 1, 3) {
		t.Fatalf("loaded %v", ts)
	}
}

// TestFileSyncsNewDirectoryEntry: the first Append makes the new file's directory entry durable
// too, or a crash could lose the whole file after its records were acknowledged.
func TestFileSyncsNewDirectoryEntry(t *testing.T) {
	dir := t.TempDir()
	var synced []string
	old := syncDir
	syncDir = func(d string) error { synced = append(synced, d); return old(d) }
	defer func() { syncDir = old }()
	s := NewFile(filepath.Join(dir, "h.jsonl"), nil)
	appendN(t, s, 0, 2)
	s.Close()
	if len(synced) != 1 || synced[0] != dir {
		t.Fatalf("directory syncs: %v", synced)
	}
}

// TestFileAppendBatch: a batch lands after the records before it, in order, and a new File
// reads it back.
func TestFileAppendBatch(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.jsonl")
	s := NewFile(path, nil)
	appendN(t, s, 1, 1)
	if err := s.AppendBatch(context.Background(), []*Record{ddlRecord(2), ddlRecord(3), ddlRecord(4)}); err != nil {
		t.Fatal(err)
	}
	appendN(t, s, 5, 1)
	// more than one write's worth
	var big []*Record
	want := []int64{1, 2, 3, 4, 5}
	for i := 6; i < 6+5000; i++ {
		big = append(big, ddlRecord(i))
		want = append(want, int64(i))
	}
	if err := s.AppendBatch(context.Background(), big); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if got := loadTs(t, NewFile(path, nil)); !equalTs(got, want...) {
		t.Fatalf("%d records, want %d in order", len(got), len(want))
	}
}
