//go:build integration

package clickhouse

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluicecdc/sluice/internal/testkit"
)

// TestWrongPasswordNotShown: a password from --clickhouse-password-file reaches the server
// (which refuses a wrong one); the refusal fails New at once instead of being retried for ever,
// and the error does not show the password.
func TestWrongPasswordNotShown(t *testing.T) {
	addr := testkit.Server(t, "SLUICE_TEST_CLICKHOUSE_ADDR")
	const secret = "wrong-ClickHouse-S3cret"
	p := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(p, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	s, err := New(ctx, Config{Addr: []string{addr}, Username: "default", PasswordFile: p}, nil)
	if err == nil {
		s.Close()
		t.Fatal("a wrong password was accepted: was the file read?")
	}
	if ctx.Err() != nil || !strings.Contains(err.Error(), "not retried") {
		t.Fatalf("a refused login must fail at once, not be retried: %v", err)
	}
	if strings.Contains(err.Error(), secret) {
		t.Fatalf("error shows the password: %v", err)
	}
	t.Log(err)
}
