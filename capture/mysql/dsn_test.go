package mysql

import (
	"strings"
	"testing"
)

// TestDSNErrorHidesPassword: a malformed DSN, in either form, is reported without its
// password; url.Parse's error used to quote the whole mysql:// URL.
func TestDSNErrorHidesPassword(t *testing.T) {
	const secret = "Sup3rS3cret"
	for _, dsn := range []string{
		"mysql://root:" + secret + "@db:port/",
		"mysql://root:" + secret + "/x@db:3306/",
		"mariadb://root:" + secret + "%zz@db:3306/",
		"root:" + secret + "@tcp(db:3306",
	} {
		err := (&Config{DSN: dsn, ServerID: 1}).Validate()
		if err == nil {
			t.Errorf("%s: accepted", dsn)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error shows the password: %v", err)
		}
	}
}
