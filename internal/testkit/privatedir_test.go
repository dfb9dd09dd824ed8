package testkit

import (
	"os"
	"testing"
)

// TestPrivateDirRemoved: the directory is gone after the test, passed or failed.
func TestPrivateDirRemoved(t *testing.T) {
	var dirs []string
	for _, fail := range []bool{false, true} {
		ft := &failingT{T: t}
		dirs = append(dirs, func() string {
			defer ft.runCleanups()
			d := PrivateDir(ft, "sluice-testkit-")
			if err := os.WriteFile(d+"/x", []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			ft.failed = fail
			return d
		}())
	}
	for _, d := range dirs {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s still there: %v", d, err)
		}
	}
}

// failingT is a testing.TB whose Failed is set by the test and whose cleanups run on demand.
type failingT struct {
	*testing.T
	failed   bool
	cleanups []func()
}

func (f *failingT) Failed() bool        { return f.failed }
func (f *failingT) Cleanup(fn func())   { f.cleanups = append(f.cleanups, fn) }
func (f *failingT) Logf(string, ...any) {}
func (f *failingT) runCleanups() {
	for i := len(f.cleanups) - 1; i >= 0; i-- {
		f.cleanups[i]()
	}
}
