package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// server is one private database, started and restarted through the project's own
// scripts (scripts/*.sh) under the harness's state dir and ports, never the shared test servers.
type server struct {
	name   string   // postgres17, postgres15, mariadb, mysql9
	script string   // scripts/<x>.sh
	env    []string // PG_VERSION=…, *_PORT=…, SLUICE_INFRA_DIR=…
	port   int
	infra  string
	pgBin  string // PostgreSQL only: the directory of pg_ctl
}

func newServer(repo, infra, name string, port int) *server {
	s := &server{name: name, port: port, infra: infra}
	base := []string{"SLUICE_INFRA_DIR=" + infra}
	switch name {
	case "postgres15", "postgres17":
		v := strings.TrimPrefix(name, "postgres")
		s.script = "postgres.sh"
		s.env = append(base, "PG_VERSION="+v, "PG_PORT="+strconv.Itoa(port))
		s.pgBin = "/usr/lib/postgresql/15/bin"
		if v == "17" {
			s.pgBin = filepath.Join(infra, "pg17-root/usr/lib/postgresql/17/bin")
		}
	case "mariadb":
		s.script = "mariadb.sh"
		s.env = append(base, "MARIADB_PORT="+strconv.Itoa(port), "MARIADB_BUFFER_POOL=256M")
	case "mysql9":
		s.script = "mysql9.sh"
		s.env = append(base, "MYSQL9_PORT="+strconv.Itoa(port), "MYSQL9_BUFFER_POOL=256M")
	default:
		panic("unknown server " + name)
	}
	s.script = filepath.Join(repo, "scripts", s.script)
	return s
}

func (s *server) addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

func (s *server) run(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, s.script, args...)
	cmd.Env = append(os.Environ(), s.env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w\n%s", filepath.Base(s.script), strings.Join(args, " "), err, out)
	}
	return nil
}

func (s *server) Start(ctx context.Context) error { return s.run(ctx, "start") }
func (s *server) Stop(ctx context.Context) error  { return s.run(ctx, "stop") }

// Clean removes the server's state (data dir, logs) so a run starts from nothing.
func (s *server) Clean(ctx context.Context) error { return s.run(ctx, "clean") }

// pidFile is where the script keeps the server's pid (MySQL/MariaDB).
func (s *server) pidFile() string {
	switch s.name {
	case "mariadb":
		return filepath.Join(s.infra, "mariadb/run/mariadbd.pid")
	case "mysql9":
		return filepath.Join(s.infra, "mysql9/run/mysqld.pid")
	}
	return filepath.Join(s.infra, s.name, "data/postmaster.pid")
}

func (s *server) pid() (int, error) {
	b, err := os.ReadFile(s.pidFile())
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strconv.Atoi(strings.TrimSpace(line))
}

// Restart stops the server, cleanly (fast) or as a crash (immediate: PostgreSQL's
// immediate shutdown, SIGKILL for the others), stays down for down, and starts it again.
//
// hung reports that a PostgreSQL fast shutdown did not finish in 20 s (a walsender waiting for
// its client to confirm the end of WAL holds it); the harness then shuts down immediately, so
// the fault stays the length it was meant to be, and the report counts the hang.
func (s *server) Restart(ctx context.Context, immediate bool, down time.Duration) (hung bool, err error) {
	if !immediate && s.pgBin != "" {
		if err := s.pgctl(ctx, "stop", "-m", "fast", "-w", "-t", "20"); err != nil {
			hung, immediate = true, true
		}
	}
	switch {
	case !immediate:
		if s.pgBin == "" {
			if err := s.Stop(ctx); err != nil {
				return hung, err
			}
		}
	case s.pgBin != "":
		if err := s.pgctl(ctx, "stop", "-m", "immediate", "-w"); err != nil {
			return hung, err
		}
	default:
		p, err := s.pid()
		if err != nil {
			return hung, fmt.Errorf("%s pid: %w", s.name, err)
		}
		if err := syscall.Kill(p, syscall.SIGKILL); err != nil {
			return hung, fmt.Errorf("kill -9 %s (%d): %w", s.name, p, err)
		}
		for i := 0; i < 100 && syscall.Kill(p, 0) == nil; i++ {
			time.Sleep(50 * time.Millisecond)
		}
	}
	select {
	case <-time.After(down):
	case <-ctx.Done():
	}
	return hung, s.Start(context.WithoutCancel(ctx))
}

func (s *server) pgctl(ctx context.Context, args ...string) error {
	args = append([]string{"-u", "postgres", "--", filepath.Join(s.pgBin, "pg_ctl"), "-D", filepath.Join(s.infra, s.name, "data")}, args...)
	out, err := exec.CommandContext(ctx, "runuser", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl %s: %w\n%s", strings.Join(args[5:], " "), err, out)
	}
	return nil
}
