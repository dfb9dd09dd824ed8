package lint

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const root = "../.."

// TestFileMap: every path DESIGN.md's file map names exists (a directory where it ends in "/"),
// and every package directory of the module has a row.
func TestFileMap(t *testing.T) {
	design, err := os.ReadFile(filepath.Join(root, "DESIGN.md"))
	if err != nil {
		t.Fatal(err)
	}
	rows, _, _, err := FileMap(design)
	if err != nil {
		t.Fatalf("DESIGN.md: %v", err)
	}
	const fix = "update it with `go run ./internal/lint/cmd/filemap -w`"
	named := map[string]bool{}
	for _, r := range rows {
		named[r.Path] = true
		fi, err := os.Stat(filepath.Join(root, filepath.FromSlash(r.Path)))
		switch {
		case err != nil:
			t.Errorf("DESIGN.md's file map names %s, which does not exist (%s)", r.Path, fix)
		case strings.HasSuffix(r.Path, "/") != fi.IsDir():
			t.Errorf("DESIGN.md's file map: %s: a directory's path ends in /, a file's does not", r.Path)
		}
	}
	pkgs, err := Packages(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pkgs {
		if !named[p.Dir] {
			t.Errorf("DESIGN.md's file map has no row for package %s (%s)", p.Dir, fix)
		}
	}
}

func TestSummary(t *testing.T) {
	for _, c := range []struct{ comment, want string }{
		{"Package capture holds the change model every stage shares: the Event a source emits.\n", "holds the change model every stage shares"},
		{"Package stdout writes records as JSON lines, one object per record:\n\n\t{\"topic\": …}\n", "writes records as JSON lines, one object per record"},
		{"Command sluice-mysql is `sluice mysql` as a binary of its own: no PostgreSQL.", "`sluice mysql` as a binary of its own"},
		{"Package x decodes events. More text.", "decodes events"},
		{"", ""},
	} {
		if got := Summary(c.comment); got != c.want {
			t.Errorf("Summary(%q) = %q, want %q", c.comment, got, c.want)
		}
	}
}

func TestUpdateFileMap(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"a/doc.go", "a/b/doc.go", "a/keep.go", "c/x_test.go", "a/testdata/t.go"} {
		p := filepath.Join(dir, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		src := "package " + filepath.Base(filepath.Dir(p)) + "\n"
		if strings.HasSuffix(f, "doc.go") {
			src = "// Package " + filepath.Base(filepath.Dir(p)) + " holds " + f + ".\n" + src
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	design := "# d\n\n## File map\n\nHow to update.\n\n| path | what |\n|---|---|\n" +
		"| `a/` | old text |\n| `gone/x.go` | dropped |\n| `a/keep.go` | kept, a \\| b |\n\n## Next\n"
	got, dropped, err := UpdateFileMap([]byte(design), dir, mustPackages(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	want := "# d\n\n## File map\n\nHow to update.\n\n| path | what |\n|---|---|\n" +
		"| `a/` | holds a/doc.go |\n| `a/keep.go` | kept, a \\| b |\n| `a/b/` | holds a/b/doc.go |\n" +
		"| `c/` | (no package comment) |\n\n## Next\n"
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if len(dropped) != 1 || dropped[0] != "gone/x.go" {
		t.Errorf("dropped %q, want [gone/x.go]", dropped)
	}
	if _, _, _, err := FileMap([]byte("# d\n\n## File map\n\nno table\n\n## Next\n")); err == nil {
		t.Error("a file map section without a table was accepted")
	}
}

func mustPackages(t *testing.T, dir string) []Package {
	t.Helper()
	pkgs, err := Packages(dir)
	if err != nil {
		t.Fatal(err)
	}
	return pkgs
}
