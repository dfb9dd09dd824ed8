package tlsconf

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestParseMode(t *testing.T) {
	for in, want := range map[string]Mode{"": Default, "disable": Disable, "DISABLED": Disable, "preferred": Prefer, "prefer": Prefer,
		"REQUIRED": Require, "require": Require, "verify_ca": VerifyCA, "VERIFY-CA": VerifyCA, "verify-full": VerifyFull, "VERIFY_IDENTITY": VerifyFull} {
		if got, err := ParseMode(in); err != nil || got != want {
			t.Errorf("ParseMode(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"allow", "sometimes"} {
		if _, err := ParseMode(bad); err == nil {
			t.Errorf("ParseMode(%q) accepted", bad)
		}
	}
}

func TestEffective(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want Mode
	}{
		{Config{}, Prefer},
		{Config{CAFile: "ca.pem"}, VerifyFull},
		{Config{Mode: Require}, Require},
		{Config{Mode: Require, CAFile: "ca.pem"}, VerifyCA},
		{Config{Mode: VerifyCA}, VerifyCA},
	} {
		if got := c.cfg.Effective(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.cfg, got, c.want)
		}
	}
}

func TestValidate(t *testing.T) {
	errs := Config{Mode: Disable, CAFile: "x", KeyFile: "k"}.Validate("tls")
	if len(errs) != 2 || !strings.Contains(errs[0].Error(), "--tls-mode disable") || !strings.Contains(errs[1].Error(), "--tls-cert-file") {
		t.Errorf("errors: %v", errs)
	}
	if _, err := (Config{Mode: VerifyFull, CAFile: "/does/not/exist"}).Client("h", "tls"); err == nil || !strings.Contains(err.Error(), "--tls-ca-file") {
		t.Errorf("missing CA file: %v", err)
	}
}

func TestWarnOnce(t *testing.T) {
	ResetWarnings()
	var b bytes.Buffer
	log := slog.New(slog.NewTextHandler(&b, nil))
	WarnUnverified(log, "x", "tls", Prefer, true)
	WarnUnverified(log, "x", "tls", Prefer, true)
	WarnUnverified(log, "y", "tls", Prefer, false)
	if n := strings.Count(b.String(), "level=WARN"); n != 2 {
		t.Errorf("%d warnings, want one per connection kind:\n%s", n, b.String())
	}
}
