package lint

import (
	"bytes"
	"errors"
	"fmt"
	"go/doc"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// FileMapHeading is the heading of DESIGN.md's section whose first table is the file map.
const FileMapHeading = "## File map"

// Package is one package directory of the module.
type Package struct {
	Dir string // relative to the module root, slash-separated, with a trailing slash: "sink/kafka/"
	Doc string // what its package comment says it holds (see Summary); "" without one
}

// Packages returns every directory under root that holds .go files, whatever their build tags
// and including directories of tests only (integration/), sorted by path. testdata and hidden
// directories are not packages.
func Packages(root string) ([]Package, error) {
	var out []Package
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		name := d.Name()
		if p != root && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
			return filepath.SkipDir
		}
		pkgDoc, isPkg, err := dirDoc(p)
		if err != nil || !isPkg {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		if rel == "." {
			rel = ""
		} else {
			rel = filepath.ToSlash(rel) + "/"
		}
		out = append(out, Package{Dir: rel, Doc: Summary(pkgDoc)})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list packages under %s: %w", root, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Dir < out[j].Dir })
	return out, nil
}

// dirDoc returns the package comment of the .go files in dir (a non-test file's first) and
// whether dir holds any.
func dirDoc(dir string) (string, bool, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		return "", false, err
	}
	sort.Slice(files, func(i, j int) bool { // non-test files first: their comment is the package's
		ti, tj := strings.HasSuffix(files[i], "_test.go"), strings.HasSuffix(files[j], "_test.go")
		return !ti && tj || ti == tj && files[i] < files[j]
	})
	for _, f := range files {
		af, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.PackageClauseOnly|parser.ParseComments)
		if err != nil {
			return "", true, err
		}
		if af.Doc != nil && strings.TrimSpace(af.Doc.Text()) != "" {
			return af.Doc.Text(), true, nil
		}
	}
	return "", true, nil
}

// Summary shortens a package comment to a table cell: its first sentence without the leading
// "Package x" or "Command x" (and "is"), up to the first colon (what follows a colon is detail).
func Summary(comment string) string {
	s := new(doc.Package).Synopsis(comment)
	for _, lead := range []string{"Package ", "Command "} {
		if rest, ok := strings.CutPrefix(s, lead); ok {
			if _, after, ok := strings.Cut(rest, " "); ok {
				s = after
			}
			break
		}
	}
	s = strings.TrimPrefix(s, "is ")
	if before, _, ok := strings.Cut(s, ": "); ok {
		s = before
	}
	return strings.TrimRight(s, ".:")
}

// A FileMapRow is one row of the file map: a repository path in backticks and what it holds.
type FileMapRow struct {
	Path string // a directory ends in "/"
	What string // Markdown, with "|" unescaped
}

// FileMap finds the file map in a DESIGN.md: the first table after FileMapHeading. It returns
// its rows and the byte range of the table's rows (after the header and separator lines).
func FileMap(design []byte) (rows []FileMapRow, start, end int, err error) {
	i := bytes.Index(design, []byte("\n"+FileMapHeading+"\n"))
	if i < 0 {
		return nil, 0, 0, fmt.Errorf("no %q section", FileMapHeading)
	}
	off := i + 1
	inTable, header := false, 0
	for off < len(design) {
		n := bytes.IndexByte(design[off:], '\n')
		if n < 0 {
			n = len(design) - off
		}
		line := string(design[off : off+n])
		next := off + n + 1
		switch {
		case strings.HasPrefix(line, "|") && header < 2:
			inTable, header = true, header+1 // the header row and the |---| line
			start = next
		case strings.HasPrefix(line, "|"):
			row, err := parseRow(line)
			if err != nil {
				return nil, 0, 0, err
			}
			rows = append(rows, row)
		case inTable:
			return rows, start, off, nil
		case strings.HasPrefix(line, "## ") && off > i+1:
			return nil, 0, 0, fmt.Errorf("no table in %q", FileMapHeading)
		}
		off = next
	}
	if !inTable {
		return nil, 0, 0, fmt.Errorf("no table in %q", FileMapHeading)
	}
	return rows, start, len(design), nil
}

func parseRow(line string) (FileMapRow, error) {
	rest, ok := strings.CutPrefix(line, "| `")
	path, what, ok2 := strings.Cut(rest, "` |")
	if !ok || !ok2 || path == "" {
		return FileMapRow{}, fmt.Errorf("file map row %q: want | `path` | what |", line)
	}
	what = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(what), "|"))
	return FileMapRow{Path: path, What: strings.ReplaceAll(what, `\|`, "|")}, nil
}

// String returns r as a Markdown table row.
func (r FileMapRow) String() string {
	return fmt.Sprintf("| `%s` | %s |", r.Path, strings.ReplaceAll(r.What, "|", `\|`))
}

// UpdateFileMap returns design with its file map rebuilt from pkgs: one row per package with
// its summary, then, after the row of the package (or directory) holding it, every other row
// of the old map whose path still exists under root, with its text. It also returns the paths
// of the rows it dropped.
func UpdateFileMap(design []byte, root string, pkgs []Package) ([]byte, []string, error) {
	old, start, end, err := FileMap(design)
	if err != nil {
		return nil, nil, err
	}
	isPkg := map[string]bool{}
	rows := make([]FileMapRow, 0, len(pkgs)+len(old))
	for _, p := range pkgs {
		isPkg[p.Dir] = true
		what := p.Doc
		if what == "" {
			what = "(no package comment)"
		}
		rows = append(rows, FileMapRow{Path: p.Dir, What: what})
	}
	var dropped []string
	for _, r := range old {
		if isPkg[r.Path] {
			continue
		}
		if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(r.Path))); err != nil {
			if !errors.Is(err, fs.ErrNotExist) {
				return nil, nil, err
			}
			dropped = append(dropped, r.Path)
			continue
		}
		rows = append(rows, r)
	}
	sort.SliceStable(rows, func(i, j int) bool { return sortKey(rows[i].Path) < sortKey(rows[j].Path) })
	var b bytes.Buffer
	b.Write(design[:start])
	for _, r := range rows {
		b.WriteString(r.String() + "\n")
	}
	b.Write(design[end:])
	return b.Bytes(), dropped, nil
}

// sortKey orders map paths as a tree: a directory, then the files in it, then its
// subdirectories ("internal/cli/", "internal/cli/flags.go", "internal/cli/mysqlcmd/").
func sortKey(p string) string {
	var b strings.Builder
	segs := strings.Split(strings.TrimSuffix(p, "/"), "/")
	for i, s := range segs {
		if i == len(segs)-1 && !strings.HasSuffix(p, "/") {
			b.WriteByte(0) // a file
		} else {
			b.WriteByte(1)
		}
		b.WriteString(s)
		b.WriteByte('/')
	}
	return b.String()
}
