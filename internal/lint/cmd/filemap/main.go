// Command filemap prints or rewrites the file map of DESIGN.md: one row per package directory
// with the first sentence of its package comment, followed by the rows of important files the
// map already names that still exist. Run it from the module root:
//
//	go run ./internal/lint/cmd/filemap      # print the rebuilt DESIGN.md table rows
//	go run ./internal/lint/cmd/filemap -w   # rewrite DESIGN.md in place
//
// TestFileMap in internal/lint fails when the map names a path that does not exist or misses a
// package, so run it after adding, moving or removing one.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/sluicecdc/sluice/internal/lint"
)

func main() {
	write := flag.Bool("w", false, "rewrite the file map of DESIGN.md in place instead of printing it")
	design := flag.String("design", "DESIGN.md", "the design document, at the module root")
	flag.Parse()
	if err := run(*design, *write); err != nil {
		fmt.Fprintln(os.Stderr, "filemap:", err)
		os.Exit(1)
	}
}

func run(design string, write bool) error {
	pkgs, err := lint.Packages(".")
	if err != nil {
		return err
	}
	old, err := os.ReadFile(design)
	if err != nil {
		return err
	}
	updated, dropped, err := lint.UpdateFileMap(old, ".", pkgs)
	if err != nil {
		return fmt.Errorf("%s: %w", design, err)
	}
	for _, p := range dropped {
		fmt.Fprintf(os.Stderr, "filemap: dropped %s (no longer exists)\n", p)
	}
	if !write {
		rows, _, _, err := lint.FileMap(updated)
		if err != nil {
			return err
		}
		for _, r := range rows {
			fmt.Println(r)
		}
		return nil
	}
	return os.WriteFile(design, updated, 0o644)
}
