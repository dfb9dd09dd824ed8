//go:build integration

package replication

import (
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// BenchmarkDump reads the server's whole binlog (from its first file to the end, NonBlocking)
// over loopback, one full dump per iteration, and reports MB/s and events/s. With
// SLUICE_BENCH_MARIADB_BINLOG=1 on MariaDB it also times `mariadb-binlog --raw` over the same
// binlog in the same run, as the yardstick.
//
//	go test -tags integration -run '^$' -bench BenchmarkDump ./capture/mysql/replication
func BenchmarkDump(b *testing.B) {
	for _, s := range []*testServer{benchServer(b, "SLUICE_TEST_MARIADB_DSN", FlavorMariaDB), benchServer(b, "SLUICE_TEST_MYSQL_DSN", FlavorMySQL)} {
		if s == nil {
			continue
		}
		b.Run(s.name, func(b *testing.B) {
			ctx := b.Context()
			admin, err := Dial(ctx, s.config(s.user, s.pass))
			if err != nil {
				b.Fatal(err)
			}
			r, err := admin.Query(ctx, "SHOW BINARY LOGS")
			_ = admin.Close()
			if err != nil {
				b.Fatal(err)
			}
			first, _ := r.Get(0, "Log_name")
			var bytes, events int64
			cpu0 := cpuTime()
			for b.Loop() {
				bytes, events = 0, 0
				cfg := s.config(s.user, s.pass)
				cfg.NonBlocking = true
				c, err := Dial(ctx, cfg)
				if err != nil {
					b.Fatal(err)
				}
				if err := c.StartDump(ctx, StartPosition{File: first, Pos: 4}); err != nil {
					b.Fatal(err)
				}
				for {
					ev, err := c.Next(ctx)
					if errors.Is(err, io.EOF) {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					bytes += int64(len(ev))
					events++
				}
				_ = c.Close()
			}
			cpu := cpuTime() - cpu0
			b.SetBytes(bytes)
			// CPU of this process (client) per MB: independent of how busy the machine is.
			b.ReportMetric(cpu.Seconds()*1e9/(float64(bytes)*float64(b.N)/1e6), "client-cpu-ns/MB")
			b.ReportMetric(float64(events*int64(b.N))/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(bytes), "binlog-bytes")

			if s.flavor == FlavorMariaDB && os.Getenv("SLUICE_BENCH_MARIADB_BINLOG") == "1" {
				tool, err := exec.LookPath("mariadb-binlog")
				if err != nil {
					b.Logf("no mariadb-binlog: %v", err)
					return
				}
				host, port, _ := net.SplitHostPort(s.addr)
				dir := b.TempDir()
				t0 := time.Now()
				cmd := exec.Command(tool, "--no-defaults", "--read-from-remote-server", "-h", host, "-P", port,
					"-u", s.user, "--password="+s.pass, "--to-last-log", "--raw", "--result-file="+dir+string(filepath.Separator), first)
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("mariadb-binlog: %v: %s", err, out)
				}
				sec := time.Since(t0).Seconds()
				b.Logf("mariadb-binlog --raw: %.0f MB/s (%.2f s for %d bytes)", float64(bytes)/sec/1e6, sec, bytes)
			}
		})
	}
}

// cpuTime is the user+system CPU time of this process.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchServer(b *testing.B, env string, flavor Flavor) *testServer {
	if os.Getenv(env) == "" {
		return nil
	}
	return server(b, env, flavor)
}
