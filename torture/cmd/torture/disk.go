package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// stateDisk is a small tmpfs the harness mounts for sluice's offsets file and schema history,
// so that the disk_full fault can fill it (with a filler file) and free it again without
// touching any other file system.
type stateDisk struct {
	dir string
}

// mountStateDisk mounts a tmpfs of size bytes on dir (root only). A mount left over by an
// interrupted run is unmounted first.
func mountStateDisk(dir string, size int64) (*stateDisk, error) {
	syscall.Unmount(dir, syscall.MNT_DETACH)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d,mode=0755", size)); err != nil {
		return nil, fmt.Errorf("mount a %d-byte tmpfs on %s for the disk_full fault (needs root): %w", size, dir, err)
	}
	return &stateDisk{dir: dir}, nil
}

func (d *stateDisk) Close() error { return syscall.Unmount(d.dir, syscall.MNT_DETACH) }

// Fill writes a filler file until the file system is full (ENOSPC), gives back slack bytes,
// keeps it so for dur, then removes it. during runs once the disk is full (the harness asks
// the workload for an ALTER TABLE then, so that MySQL's schema history has to grow on the
// full disk). With no slack the next offsets save fails at once and sluice stops before the
// ALTER reaches it; one page of slack lets the small offsets file be rewritten while a
// history record that needs a new page may not fit.
func (d *stateDisk) Fill(ctx context.Context, dur time.Duration, slack int64, during func()) error {
	p := filepath.Join(d.dir, "filler")
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer os.Remove(p)
	buf := make([]byte, 64<<10)
	for {
		_, err := f.Write(buf)
		if errors.Is(err, syscall.ENOSPC) {
			break
		}
		if err != nil {
			f.Close()
			return fmt.Errorf("fill %s: %w", p, err)
		}
	}
	// The last partial page: single bytes until nothing fits.
	for {
		if _, err := f.Write(buf[:1]); err != nil {
			break
		}
	}
	if slack > 0 {
		if st, err := f.Stat(); err == nil && st.Size() > slack {
			f.Truncate(st.Size() - slack)
		}
	}
	f.Close()
	if during != nil {
		during()
	}
	select {
	case <-time.After(dur):
	case <-ctx.Done():
	}
	return os.Remove(p)
}
