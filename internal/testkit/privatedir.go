package testkit

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// KeepEnv names the variable that keeps the directories of PrivateDir after a failed test,
// for a look at a private server's data and logs.
const KeepEnv = "SLUICE_TEST_KEEP"

// PrivateDir makes a directory under the system temp dir for a test's private server or
// processes (prefix names it: "sluice-private-mysql-") and removes it when the test ends,
// passed or failed: failed runs left hundreds of MB each in /tmp, and CI fails often while a
// change is worked on. After a failure it first logs the tail of each file named in logs
// (paths relative to the directory, e.g. run/error.log); with SLUICE_TEST_KEEP=1 it keeps the
// directory instead and says where. Register it before the server's own cleanup (cleanups run
// last-first), so the server is stopped before its directory goes.
func PrivateDir(t testing.TB, prefix string, logs ...string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, l := range logs {
				if b, err := os.ReadFile(filepath.Join(dir, l)); err == nil {
					if len(b) > 4096 {
						b = b[len(b)-4096:]
						if i := bytes.IndexByte(b, '\n'); i >= 0 {
							b = b[i+1:]
						}
					}
					t.Logf("%s (tail):\n%s", l, b)
				}
			}
			if os.Getenv(KeepEnv) == "1" {
				t.Logf("%s kept (%s=1)", dir, KeepEnv)
				return
			}
		}
		os.RemoveAll(dir)
	})
	return dir
}
