package lint

import (
	"errors"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/sluicecdc/sluice"

// forbidden lists, per package prefix (relative to the module), module packages it must not
// import. Imports point one way: capture → schema; capture/* → capture; envelope → capture,
// schema; sink/* → envelope; source/* (encoded-record sources) → envelope, capture, never a sink;
// internal/kafka → no component; only internal/pipeline, internal/cli (the command line the cmd/*
// mains share) and cmd see everything. The packages under internal/cli are one per subcommand,
// so that a one-source binary links no other source: they must not import each other.
var forbidden = map[string][]string{
	"schema":                     {"capture", "envelope", "sink", "internal/pipeline", "internal/offsets", "internal/cli", "cmd"},
	"capture":                    {"envelope", "sink", "internal/pipeline", "internal/offsets", "internal/cli", "cmd"},
	"envelope":                   {"sink", "internal/pipeline", "internal/offsets", "internal/cli", "cmd"},
	"sink":                       {"capture/mysql", "capture/postgres", "internal/pipeline", "internal/cli", "cmd"},
	"source":                     {"capture/mysql", "capture/postgres", "sink", "internal/pipeline", "internal/offsets", "internal/cli", "cmd"},
	"internal/kafka":             {"capture", "schema", "envelope", "sink", "source", "internal/pipeline", "internal/offsets", "internal/cli", "cmd"},
	"internal/pipeline":          {"internal/cli", "cmd"},
	"signal":                     {"capture/mysql", "capture/postgres", "envelope", "sink", "source", "internal/pipeline", "internal/offsets", "internal/cli", "cmd"},
	"transform":                  {"sink", "source", "internal/pipeline", "internal/offsets", "internal/cli", "cmd"},
	"internal/cli":               {"cmd"},
	"internal/cli/postgrescmd":   {"capture/mysql", "sink/clickhouse", "internal/cli/mysqlcmd", "internal/cli/clickhousecmd", "internal/cli/verifycmd", "verify"},
	"internal/cli/mysqlcmd":      {"capture/postgres", "sink/clickhouse", "internal/cli/postgrescmd", "internal/cli/clickhousecmd", "internal/cli/verifycmd", "verify"},
	"internal/cli/clickhousecmd": {"capture/mysql", "capture/postgres", "internal/cli/postgrescmd", "internal/cli/mysqlcmd", "internal/cli/verifycmd", "verify"},
	"internal/cli/verifycmd":     {"internal/cli/postgrescmd", "internal/cli/mysqlcmd", "internal/cli/clickhousecmd", "internal/pipeline"},
	// verify reads databases and never runs a pipeline; its sides reuse the components'
	// connection settings (capture/mysql's DSN and TLS, capture/postgres's TLS, sink/clickhouse's
	// options), nothing else.
	"verify": {"envelope", "source", "sink/kafka", "sink/stdout", "internal/pipeline", "internal/offsets", "internal/cli", "cmd"},
}

type pkgInfo struct {
	ImportPath string
	Dir        string
	Imports    []string
	GoFiles    []string
}

func listPackages(t *testing.T) []pkgInfo {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}\t{{.Dir}}\t{{join .Imports \",\"}}\t{{join .GoFiles \",\"}}", module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr(err))
	}
	var pkgs []pkgInfo
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 4 {
			continue
		}
		p := pkgInfo{ImportPath: f[0], Dir: f[1]}
		if f[2] != "" {
			p.Imports = strings.Split(f[2], ",")
		}
		if f[3] != "" {
			p.GoFiles = strings.Split(f[3], ",")
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

func rel(importPath string) string {
	return strings.TrimPrefix(strings.TrimPrefix(importPath, module), "/")
}

func under(p, prefix string) bool { return p == prefix || strings.HasPrefix(p, prefix+"/") }

// stderr returns what a failed command printed: go list says there why a package does not load.
func stderr(err error) []byte {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.Stderr
	}
	return nil
}

// sinkImportBan reports why from must not import to, or "" if it may: a sink must not import
// another sink (sinks share code through internal packages), and an offsets store must not
// import a sink (it runs beside every sink).
func sinkImportBan(from, to string) string {
	sink := func(p string) string { // "sink/kafka" for sink/kafka/...
		if f := strings.SplitN(p, "/", 3); len(f) >= 2 && f[0] == "sink" {
			return f[0] + "/" + f[1]
		}
		return ""
	}
	switch dst := sink(to); {
	case dst == "":
		return ""
	case sink(from) != "" && sink(from) != dst:
		return "a sink must not import another sink"
	case under(from, "internal/offsets"):
		return "internal/offsets must not import a sink"
	}
	return ""
}

func TestForbiddenImports(t *testing.T) {
	for _, p := range listPackages(t) {
		from := rel(p.ImportPath)
		for _, imp := range p.Imports {
			if !strings.HasPrefix(imp, module) {
				continue
			}
			to := rel(imp)
			if why := sinkImportBan(from, to); why != "" {
				t.Errorf("%s imports %s (%s)", from, to, why)
			}
		}
		for prefix, bans := range forbidden {
			if !under(from, prefix) {
				continue
			}
			for _, imp := range p.Imports {
				if !strings.HasPrefix(imp, module) {
					continue
				}
				to := rel(imp)
				for _, ban := range bans {
					// a capture source may import capture's own subpackages
					if under(to, ban) && !(prefix == "capture" && under(to, "capture")) {
						t.Errorf("%s imports %s (packages under %s must not import %s)", from, to, prefix, ban)
					}
				}
			}
		}
	}
}

func TestSinkImportBan(t *testing.T) {
	for _, c := range []struct {
		from, to string
		banned   bool
	}{
		{"sink/stdout", "sink/kafka", true},
		{"sink/clickhouse/internal/x", "sink/kafka", true},
		{"internal/offsets", "sink/kafka", true},
		{"sink/kafka", "sink/kafka/internal/x", false},
		{"sink/kafka", "internal/kafka", false},
		{"internal/pipeline", "sink/kafka", false},
		{"internal/offsets", "internal/kafka", false},
	} {
		if got := sinkImportBan(c.from, c.to) != ""; got != c.banned {
			t.Errorf("%s -> %s: banned %v, want %v", c.from, c.to, got, c.banned)
		}
	}
}

func TestOnePackageComment(t *testing.T) {
	for _, p := range listPackages(t) {
		n := 0
		for _, f := range p.GoFiles {
			af, err := parser.ParseFile(token.NewFileSet(), filepath.Join(p.Dir, f), nil, parser.PackageClauseOnly|parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			if af.Doc != nil && strings.TrimSpace(af.Doc.Text()) != "" {
				n++
			}
		}
		if n != 1 && len(p.GoFiles) > 0 {
			t.Errorf("%s has %d package comments, want 1", rel(p.ImportPath), n)
		}
	}
}

// TestOneSourceBinaries: sluice-postgres and sluice-mysql link only their own source, and
// sluice-clickhouse no source at all (their
// point is a smaller binary and idle RSS: vitess alone adds ~12 MB of touched pages).
func TestOneSourceBinaries(t *testing.T) {
	banned := map[string][]string{
		"cmd/sluice-postgres": {"vitess.io/", "github.com/go-sql-driver/mysql", module + "/capture/mysql", "clickhouse"},
		"cmd/sluice-mysql":    {"github.com/jackc/", module + "/capture/postgres", "clickhouse"},
		"cmd/sluice-clickhouse": {"vitess.io/", "github.com/go-sql-driver/mysql", "github.com/jackc/",
			module + "/capture/mysql", module + "/capture/postgres"},
	}
	for cmd, bans := range banned {
		out, err := exec.Command("go", "list", "-deps", module+"/"+cmd).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", cmd, err, stderr(err))
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, ban := range bans {
				if strings.Contains(dep, ban) {
					t.Errorf("%s links %s (it must not link %s)", cmd, dep, ban)
				}
			}
		}
	}
}
