package properties

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExpand(t *testing.T) {
	dir := t.TempDir()
	secrets := filepath.Join(dir, "secrets.properties")
	os.WriteFile(secrets, []byte("db.password=S3cr3t-file\n# comment\nother: x\n"), 0o600)
	whole := filepath.Join(dir, "pw")
	os.WriteFile(whole, []byte("S3cr3t-whole\n"), 0o600)
	env := map[string]string{"PG_PW": "S3cr3t-env", "DB_PASSWORD": "S3cr3t-quarkus", "EMPTY": ""}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	props := map[string]string{"shared.host": "db.example", "loop": "${loop}"}
	for _, c := range []struct{ in, want, err string }{
		{in: "plain", want: "plain"},
		{in: "${env:PG_PW}", want: "S3cr3t-env"},
		{in: "${env:EMPTY}", want: ""},
		{in: "pre-${env:PG_PW}-post", want: "pre-S3cr3t-env-post"},
		{in: "${file:" + secrets + ":db.password}", want: "S3cr3t-file"},
		{in: "${file:" + whole + "}", want: "S3cr3t-whole"},
		{in: "${directory:" + dir + ":pw}", want: "S3cr3t-whole"},
		{in: "${DB_PASSWORD}", want: "S3cr3t-quarkus"},
		{in: "${db.password}", want: "S3cr3t-quarkus"}, // Quarkus: db.password reads DB_PASSWORD
		{in: "${shared.host}", want: "db.example"},
		{in: "${NOPE:fallback}", want: "fallback"},
		{in: "DO $$BEGIN NULL; END$$", want: "DO $$BEGIN NULL; END$$"},
		{in: "${unclosed", want: "${unclosed"},
		{in: "${env:NOPE}", err: "environment variable NOPE is not set"},
		{in: "${file:" + secrets + ":missing}", err: "has no property missing"},
		{in: "${file:" + dir + "/nofile}", err: "no such file"},
		{in: "${directory:" + dir + ":../x}", err: "want ${directory:DIR:FILE}"},
		{in: "${NOPE}", err: "neither the environment variable NOPE nor the property NOPE"},
		{in: "${loop}", err: "nest too deep"},
	} {
		got, err := Expand(c.in, lookup, props)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: err %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

// TestExpandErrorsHideValues: an error names the placeholder and the file, never what a
// placeholder resolved to (a secret) nor the content of a file.
func TestExpandErrorsHideValues(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "s.properties")
	os.WriteFile(f, []byte("a=S3cr3t-a\nbroken=\\u12zz S3cr3t-b\n"), 0o600)
	lookup := func(k string) (string, bool) { return "S3cr3t-env", k == "SET" }
	for _, in := range []string{"${env:SET}${env:UNSET}", "${file:" + f + ":a}${file:" + f + ":nokey}", "${SET}${UNSET}"} {
		_, err := Expand(in, lookup, nil)
		if err == nil {
			t.Fatalf("%s: no error", in)
		}
		if strings.Contains(err.Error(), "S3cr3t") {
			t.Errorf("%s: error shows a secret: %v", in, err)
		}
	}
}

func TestParseJSON(t *testing.T) {
	got, err := ParseJSON([]byte(`{"name": "inv", "config": {"connector.class": "x", "database.port": 3306, "include.schema.changes": true, "n": null}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"name": "inv", "connector.class": "x", "database.port": "3306", "include.schema.changes": "true", "n": ""}
	if len(got) != len(want) {
		t.Errorf("got %q", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if got, err := ParseJSON([]byte(`{"topic.prefix": "p"}`)); err != nil || got["topic.prefix"] != "p" || len(got) != 1 {
		t.Errorf("bare config: %q, %v", got, err)
	}
	for _, bad := range []string{`[1]`, `{"config": 1}`, `{"a": {"b": 1}}`, `{"name": 1, "config": {}}`} {
		if _, err := ParseJSON([]byte(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func FuzzExpand(f *testing.F) {
	f.Add("${env:A}${file:/nonexistent:k}${X:d}${directory:/:x}")
	f.Add("${${}}$${a:b:c}")
	f.Fuzz(func(t *testing.T, s string) {
		if strings.Contains(s, "file:") || strings.Contains(s, "directory:") {
			t.Skip("reads files the fuzzer names (/dev/zero never ends)")
		}
		_, _ = Expand(s, func(string) (string, bool) { return "", false }, map[string]string{"a": "${a}"}) // must not panic
	})
}

func FuzzParseJSON(f *testing.F) {
	f.Add([]byte(`{"name": "n", "config": {"a": 1, "b": true, "c": "x"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseJSON(b) // must not panic
	})
}
