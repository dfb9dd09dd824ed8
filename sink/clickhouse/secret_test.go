package clickhouse

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluicecdc/sluice/internal/tlsconf"
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

// TestTLSSettings: nothing set is plain text; any TLS setting without a mode is verify-full;
// prefer is refused (ClickHouse's TLS has a port of its own, so there is nothing to prefer).
func TestTLSSettings(t *testing.T) {
	if tc, err := (Config{}).tlsConfig(); tc != nil || err != nil {
		t.Errorf("no settings: %v %v, want plain text", tc, err)
	}
	if m := (Config{TLS: tlsconf.Config{ServerName: "ch"}}).tlsMode(); m != tlsconf.VerifyFull {
		t.Errorf("a server name alone: mode %s, want verify-full", m)
	}
	tc, err := (Config{TLS: tlsconf.Config{Mode: tlsconf.Require}}).tlsConfig()
	if err != nil || tc == nil || !tc.InsecureSkipVerify {
		t.Errorf("require: %+v %v", tc, err)
	}
	err = (&Config{TLS: tlsconf.Config{Mode: tlsconf.Prefer}}).Validate()
	if err == nil || !strings.Contains(err.Error(), "9440") {
		t.Errorf("prefer: %v, want an error naming the TLS port", err)
	}
}
