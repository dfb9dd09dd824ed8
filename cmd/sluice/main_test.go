package main

import (
	"context"
	"testing"

	"github.com/sluicecdc/sluice/internal/cli"
)

// TestEveryFlagHasAHelpGroup: every flag of every command (and of its check) is in a help
// group; one nobody placed would otherwise land in Operations, wherever it belongs.
func TestEveryFlagHasAHelpGroup(t *testing.T) {
	for _, c := range commands() {
		if c.Name == "check" { // sluice check <postgres|mysql>: their flags, audited below
			continue
		}
		variants := [][]string{nil}
		if c.Check != nil {
			variants = append(variants, []string{"check"})
		}
		for _, args := range variants {
			prog := "sluice " + c.Name
			u, err := cli.AuditHelp(context.Background(), c, prog, args...)
			if err != nil {
				t.Errorf("%s %v: %v", prog, args, err)
				continue
			}
			for _, f := range u {
				t.Errorf("%s %v: --%s has no help group (SetGroup or Register it)", prog, args, f)
			}
		}
	}
}
