package clickhouse

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPasswordFileSettings: a password given twice is refused, and an unreadable password file
// is named in the error, before any connection.
func TestPasswordFileSettings(t *testing.T) {
	p := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(p, []byte("ch-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	both := Config{Password: "ch-secret", PasswordFile: p}
	if err := both.Validate(); err == nil || !strings.Contains(err.Error(), "not both") || strings.Contains(err.Error(), "ch-secret") {
		t.Fatalf("Validate = %v, want a refusal without the password", err)
	}
	_, err := New(t.Context(), Config{PasswordFile: p + ".missing"}, nil)
	if err == nil || !strings.Contains(err.Error(), "--clickhouse-password-file") {
		t.Fatalf("New = %v, want the missing file named", err)
	}
}
