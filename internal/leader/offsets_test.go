package leader

import (
	"errors"
	"testing"

	"github.com/sluicecdc/sluice/capture"
)

// TestOffsetWriterFenced: an at-least-once leader that was paused resumes after its successor
// fenced it, read the offset and stored a newer one; the old leader's next save (an older
// offset) must fail, not win. The control run writes the old leader's offset with the plain
// store, as a process without --ha would: the stored offset moves backwards.
func TestOffsetWriterFenced(t *testing.T) {
	fencedAndControl(t, func(t *testing.T, fenced bool) {
		env := newFenceEnv(t, 5, "offsets")
		ctx, client, store, key := env.ctx, env.client, env.store, env.key
		txn, group := "sluice-n-p", Group("n", "p")
		old, err := NewOffsetWriter(client, txn, group, "offsets", key, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer old.Close()
		if err := old.Save(ctx, []byte(`{"lsn":10}`)); err != nil {
			t.Fatal(err)
		}
		// The old leader pauses; its successor fences, reads and saves.
		if err := Fence(ctx, client, txn, nil); err != nil {
			t.Fatal(err)
		}
		if v, err := store.Load(ctx); err != nil || string(v) != `{"lsn":10}` {
			t.Fatalf("successor loads %s, %v", v, err)
		}
		succ, err := NewOffsetWriter(client, txn, group, "offsets", key, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer succ.Close()
		if err := succ.Save(ctx, []byte(`{"lsn":20}`)); err != nil {
			t.Fatal(err)
		}
		// The old leader resumes and saves what it had acknowledged before the pause.
		if fenced {
			err = old.Save(ctx, []byte(`{"lsn":15}`))
			var lost *LostError
			if !errors.As(err, &lost) || capture.Retryable(err) {
				t.Fatalf("old leader's save: %v, want a not retryable *LostError", err)
			}
		} else if err := store.Save(ctx, []byte(`{"lsn":15}`)); err != nil {
			t.Fatal(err)
		}
		v, err := store.Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("stored offset after the old leader resumed: %s", v)
		if want := `{"lsn":20}`; fenced && string(v) != want {
			t.Fatalf("stored offset %s, want the successor's %s", v, want)
		}
		if !fenced && string(v) != `{"lsn":15}` {
			t.Fatalf("control: stored %s; the plain store was expected to move backwards", v)
		}
	})
}

// TestOffsetWriterFencedBeforeFirstSave: the old leader passed its lease check and paused
// before its first save ever reached the broker; its successor fenced, read and saved. The
// old writer took its producer epoch at Start (while it led), so its save after the resume is
// refused. Before, the writer took its epoch at its first save: after the resume it got the
// newest epoch, fenced the successor, and stored its older offset over the successor's.
func TestOffsetWriterFencedBeforeFirstSave(t *testing.T) {
	env := newFenceEnv(t, 5, "offsets")
	ctx, client, store, key := env.ctx, env.client, env.store, env.key
	txn, group := "sluice-n-p", Group("n", "p")
	if err := Fence(ctx, client, txn, nil); err != nil { // the old leader takes over
		t.Fatal(err)
	}
	old, err := NewOffsetWriter(client, txn, group, "offsets", key, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if err := old.Start(ctx, func() error { return nil }); err != nil {
		t.Fatal(err)
	}
	// The old leader pauses; its successor fences, reads and saves.
	if err := Fence(ctx, client, txn, nil); err != nil {
		t.Fatal(err)
	}
	succ, err := NewOffsetWriter(client, txn, group, "offsets", key, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer succ.Close()
	if err := succ.Start(ctx, func() error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := succ.Save(ctx, []byte(`{"lsn":20}`)); err != nil {
		t.Fatal(err)
	}
	err = old.Save(ctx, []byte(`{"lsn":15}`))
	var lost *LostError
	if !errors.As(err, &lost) || capture.Retryable(err) {
		t.Fatalf("old leader's first save after the takeover: %v, want a not retryable *LostError", err)
	}
	if v, err := store.Load(ctx); err != nil || string(v) != `{"lsn":20}` {
		t.Fatalf("stored offset %s (%v), want the successor's {\"lsn\":20}", v, err)
	}
	// The successor still writes: the old writer did not fence it.
	if err := succ.Save(ctx, []byte(`{"lsn":30}`)); err != nil {
		t.Fatalf("successor's save after the old leader's attempt: %v", err)
	}
}
