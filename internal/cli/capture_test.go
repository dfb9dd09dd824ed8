package cli

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/sluicecdc/sluice/internal/offsets"
	"github.com/sluicecdc/sluice/internal/pipeline"
)

type transientErr struct{}

func (transientErr) Error() string   { return "server went away" }
func (transientErr) Retryable() bool { return true }

// TestRunRetryBounds: retryable failures in a row are retried with backoff until
// --errors-max-retries or --errors-retry-timeout, and a failed run that saved a new offset
// starts the count again.
func TestRunRetryBounds(t *testing.T) {
	cases := []struct {
		name     string
		args     []string
		progress int // attempts (from the first) that save a new offset before failing
		attempts int // opens before Run gives up
		elapsed  time.Duration
	}{
		// waits 1+2+4+8+10+10 s: the 7th failure comes 35 s into the streak.
		{"timeout", []string{"--errors-retry-timeout", "30s"}, 0, 7, 35 * time.Second},
		{"max retries", []string{"--errors-max-retries", "3"}, 0, 4, 7 * time.Second},
		{"no retries", []string{"--errors-max-retries", "0"}, 0, 1, 0},
		{"short wait", []string{"--errors-max-retries", "3", "--retriable-restart-wait", "500ms"}, 0, 4, 1500 * time.Millisecond},
		// five failures with progress (each waits 1 s), then two without (1 s, 2 s), then out.
		{"progress restarts the count", []string{"--errors-max-retries", "2"}, 5, 7, 5*time.Second + 2*time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fs, cp := newTestFlags(t)
				file := filepath.Join(t.TempDir(), "offsets.json")
				args := append([]string{"--topic-prefix", "p", "--offsets-file", file}, c.args...)
				if err := fs.Parse(args); err != nil {
					t.Fatal(err)
				}
				if err := cp.resolve(func(string) (string, bool) { return "", false }); err != nil {
					t.Fatal(err)
				}
				attempts := 0
				start := time.Now()
				err := cp.Run(context.Background(), "test", func(ctx context.Context, offset []byte) (pipeline.Source, error) {
					attempts++
					if attempts <= c.progress {
						st := offsets.NewFile(file, cp.Offsets.Name, cp.Envelope.TopicPrefix)
						if err := st.Save(ctx, []byte(`{"n":`+string(rune('0'+attempts))+`}`)); err != nil {
							t.Fatal(err)
						}
					}
					return nil, transientErr{}
				}, nil)
				if err == nil || !strings.Contains(err.Error(), "giving up") || !errors.Is(err, transientErr{}) {
					t.Fatalf("Run: %v, want giving up on the transient error", err)
				}
				if attempts != c.attempts {
					t.Errorf("%d attempts, want %d", attempts, c.attempts)
				}
				if el := time.Since(start); el != c.elapsed {
					t.Errorf("gave up after %v, want %v", el, c.elapsed)
				}
			})
		})
	}
}
