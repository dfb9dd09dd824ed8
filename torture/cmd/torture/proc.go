package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// supervisor keeps one sluice process running, as systemd's Restart=always would: when the
// process ends for any reason it is started again after a second. Exits the harness did not
// cause (kill -9) are counted and their last log lines kept, since an exit under a fault the
// connector should ride out is a finding in itself.
type supervisor struct {
	bin  string
	args []string
	log  *os.File

	mu        sync.Mutex
	cmd       *exec.Cmd
	killed    bool // the current process was killed by the harness
	stopped   bool // SIGSTOPped
	exits     int  // exits the harness did not cause
	lastExits []string
	done      chan struct{}
}

func newSupervisor(bin string, args []string, logPath string) (*supervisor, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	return &supervisor{bin: bin, args: args, log: f, done: make(chan struct{})}, nil
}

// Run starts the process and restarts it until ctx ends; then it stops the process (SIGTERM,
// then SIGKILL after 30 s) and returns.
func (s *supervisor) Run(ctx context.Context) {
	defer close(s.done)
	for {
		cmd := exec.Command(s.bin, s.args...)
		cmd.Stdout, cmd.Stderr = s.log, s.log
		tail := &tailWriter{n: 8}
		cmd.Stderr = multi{s.log, tail}
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		fmt.Fprintf(s.log, "=== torture: start %s at %s\n", s.bin, time.Now().UTC().Format(time.RFC3339Nano))
		if err := cmd.Start(); err != nil {
			fmt.Fprintf(s.log, "=== torture: start failed: %v\n", err)
		} else {
			s.mu.Lock()
			s.cmd, s.killed, s.stopped = cmd, false, false
			s.mu.Unlock()
			waited := make(chan error, 1)
			go func() { waited <- cmd.Wait() }()
			var err error
			select {
			case err = <-waited:
			case <-ctx.Done():
				s.mu.Lock()
				if s.stopped {
					cmd.Process.Signal(syscall.SIGCONT)
				}
				s.mu.Unlock()
				cmd.Process.Signal(syscall.SIGTERM)
				select {
				case err = <-waited:
				case <-time.After(30 * time.Second):
					cmd.Process.Kill()
					err = <-waited
				}
				fmt.Fprintf(s.log, "=== torture: stopped: %v\n", err)
				return
			}
			s.mu.Lock()
			killed := s.killed
			s.cmd = nil
			if !killed {
				s.exits++
				s.lastExits = append(s.lastExits, fmt.Sprintf("%s: %v: %s", time.Now().UTC().Format(time.TimeOnly), err, tail.String()))
			}
			s.mu.Unlock()
			fmt.Fprintf(s.log, "=== torture: exited: %v (killed by harness: %v)\n", err, killed)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

// Wait waits for Run to return.
func (s *supervisor) Wait() { <-s.done }

// Running reports whether a process is running.
func (s *supervisor) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd != nil
}

// Kill9 sends SIGKILL to the running process; Run restarts it.
func (s *supervisor) Kill9() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return false
	}
	s.killed = true
	s.cmd.Process.Kill()
	return true
}

// Pause sends SIGSTOP, and SIGCONT after d.
func (s *supervisor) Pause(ctx context.Context, d time.Duration) bool {
	s.mu.Lock()
	cmd := s.cmd
	if cmd == nil {
		s.mu.Unlock()
		return false
	}
	s.stopped = true
	cmd.Process.Signal(syscall.SIGSTOP)
	s.mu.Unlock()
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
	s.mu.Lock()
	cmd.Process.Signal(syscall.SIGCONT)
	s.stopped = false
	s.mu.Unlock()
	return true
}

func (s *supervisor) Exits() (int, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.exits, append([]string(nil), s.lastExits...)
}

type multi []interface{ Write([]byte) (int, error) }

func (m multi) Write(p []byte) (int, error) {
	for _, w := range m {
		w.Write(p)
	}
	return len(p), nil
}

// tailWriter keeps the last n lines written to it.
type tailWriter struct {
	mu    sync.Mutex
	n     int
	lines []string
	part  string
}

func (t *tailWriter) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	sc := bufio.NewScanner(strings.NewReader(t.part + string(p)))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	t.part = ""
	complete := strings.HasSuffix(string(p), "\n")
	var ls []string
	for sc.Scan() {
		ls = append(ls, sc.Text())
	}
	if !complete && len(ls) > 0 {
		t.part = ls[len(ls)-1]
		ls = ls[:len(ls)-1]
	}
	t.lines = append(t.lines, ls...)
	if len(t.lines) > t.n {
		t.lines = t.lines[len(t.lines)-t.n:]
	}
	return len(p), nil
}

func (t *tailWriter) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	// The last error-level line says most; fall back to the last line.
	for i := len(t.lines) - 1; i >= 0; i-- {
		if strings.Contains(t.lines[i], `"level":"ERROR"`) || strings.Contains(t.lines[i], "level=ERROR") {
			return t.lines[i]
		}
	}
	if len(t.lines) > 0 {
		return t.lines[len(t.lines)-1]
	}
	return ""
}
