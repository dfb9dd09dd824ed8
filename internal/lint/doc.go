// Package lint holds repository-wide checks run as tests: the import direction between
// packages (STYLE.md §1), one package comment per package (§11), and DESIGN.md's file map
// against the tree. Packages and the file-map functions are shared with cmd/filemap, which
// rewrites that map.
package lint
