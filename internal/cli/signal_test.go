package cli

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestStopSignals: SIGTERM, SIGINT and SIGHUP end the run's context, so the pipeline flushes,
// saves its offsets and exits 0; a process started with SIGHUP ignored (nohup) keeps ignoring
// it. Before, SIGHUP killed the process at once (exit 129), mid-flush. The test runs itself as
// the child process.
func TestStopSignals(t *testing.T) {
	if os.Getenv("SLUICE_TEST_SIGNAL_CHILD") == "1" {
		exit(func(ctx context.Context) int {
			os.Stdout.WriteString("running\n")
			select {
			case <-ctx.Done():
				os.Stdout.WriteString("stopped cleanly\n")
				return 0
			case <-time.After(10 * time.Second):
				return 3
			}
		})
	}
	for _, c := range []struct {
		name    string
		sig     syscall.Signal
		nohup   bool
		stopped bool
	}{
		{"SIGTERM", syscall.SIGTERM, false, true},
		{"SIGINT", syscall.SIGINT, false, true},
		{"SIGHUP", syscall.SIGHUP, false, true},
		{"SIGHUP under nohup", syscall.SIGHUP, true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := []string{"-test.run=^TestStopSignals$"}
			name := os.Args[0]
			if c.nohup {
				args = append([]string{name}, args...)
				name = "nohup"
				if _, err := exec.LookPath("nohup"); err != nil {
					t.Skip("no nohup")
				}
			}
			cmd := exec.Command(name, args...)
			cmd.Env = append(os.Environ(), "SLUICE_TEST_SIGNAL_CHILD=1")
			var out strings.Builder
			pr, pw, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stdout = pw
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			pw.Close()
			buf := make([]byte, 64)
			n, _ := pr.Read(buf) // "running": the handlers are installed
			out.Write(buf[:n])
			cmd.Process.Signal(c.sig)
			done := make(chan struct{})
			go func() {
				for {
					n, err := pr.Read(buf)
					out.Write(buf[:n])
					if err != nil {
						close(done)
						return
					}
				}
			}()
			if !c.stopped {
				// Still running a while after the signal; then stop it as an operator would.
				select {
				case <-done:
					cmd.Wait()
					t.Fatalf("exited on an ignored SIGHUP: %q", out.String())
				case <-time.After(300 * time.Millisecond):
				}
				cmd.Process.Signal(syscall.SIGTERM)
			}
			err = cmd.Wait()
			<-done
			if err != nil || !strings.Contains(out.String(), "stopped cleanly") {
				t.Errorf("after %s: %v, output %q; want exit 0 after a clean stop", c.sig, err, out.String())
			}
		})
	}
}
