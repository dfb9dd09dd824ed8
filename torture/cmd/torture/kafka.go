package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sluicecdc/sluice/internal/testkit"
)

// broker is one path's kfake process (integration/kfakebroker) with a persisted log, behind
// the harness's proxy: it listens on port and advertises the proxy's port, so every client
// connection (bootstrap and after metadata) goes through the proxy and can be cut or stalled.
type broker struct {
	bin   string
	dir   string
	port  int
	proxy *testkit.Proxy
	cmd   *exec.Cmd
	done  chan struct{}
}

func newBroker(bin, dir string, port int) (*broker, error) {
	p, err := testkit.ListenProxy("127.0.0.1:" + strconv.Itoa(port))
	if err != nil {
		return nil, err
	}
	return &broker{bin: bin, dir: dir, port: port, proxy: p}, nil
}

// addr is what clients bootstrap from: the proxy.
func (b *broker) addr() string { return b.proxy.Addr() }

func (b *broker) Start(ctx context.Context) error {
	if err := os.MkdirAll(filepath.Join(b.dir, "data"), 0o755); err != nil {
		return err
	}
	_, pp, _ := strings.Cut(b.proxy.Addr(), ":")
	logf, err := os.OpenFile(filepath.Join(b.dir, "kfakebroker.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(b.bin, "-port", strconv.Itoa(b.port), "-advertise-port", pp, "-data-dir", filepath.Join(b.dir, "data"))
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		logf.Close()
		return err
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		ok := false
		for sc.Scan() {
			fmt.Fprintln(logf, sc.Text())
			if !ok && strings.HasPrefix(sc.Text(), "ready") {
				ok = true
				ready <- nil
			}
		}
		if !ok {
			ready <- fmt.Errorf("kfakebroker ended before it was ready (log %s)", logf.Name())
		}
	}()
	b.cmd, b.done = cmd, make(chan struct{})
	go func(done chan struct{}) { cmd.Wait(); logf.Close(); close(done) }(b.done)
	select {
	case err := <-ready:
		return err
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		return fmt.Errorf("kfakebroker not ready in 60 s")
	case <-ctx.Done():
		cmd.Process.Kill()
		return ctx.Err()
	}
}

// Stop ends the broker with SIGTERM (kfake closes its log), SIGKILL after 30 s.
func (b *broker) Stop(ctx context.Context) error {
	if b.cmd == nil {
		return nil
	}
	b.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-b.done:
	case <-time.After(30 * time.Second):
		b.cmd.Process.Kill()
		<-b.done
	}
	b.cmd = nil
	return nil
}

// Restart stops the broker, waits down, and starts it on the same log.
func (b *broker) Restart(ctx context.Context, down time.Duration) error {
	if err := b.Stop(ctx); err != nil {
		return err
	}
	select {
	case <-time.After(down):
	case <-ctx.Done():
	}
	return b.Start(context.WithoutCancel(ctx))
}

func (b *broker) Close() {
	b.Stop(context.Background())
	b.proxy.Close()
}
