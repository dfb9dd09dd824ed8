package properties

import (
	"errors"
	"flag"
	"io"
	"slices"
	"testing"
)

func TestFuncKeepsError(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var got string
	v := Func("a", func(s string) error {
		if s == "bad" {
			return errors.New("no")
		}
		got = s
		return nil
	})
	if got != "a" {
		t.Fatalf("default not applied: %q", got)
	}
	fs.Var(v, "x", "")
	if err := fs.Parse([]string{"--x", "bad"}); err != nil {
		t.Fatalf("Parse returned %v; the error belongs to Err", err)
	}
	if err := v.(interface{ Err() error }).Err(); err == nil || v.String() != "bad" {
		t.Errorf("Err %v, String %q", err, v.String())
	}
	if err := fs.Set("x", "b"); err != nil || got != "b" || v.(interface{ Err() error }).Err() != nil {
		t.Errorf("a good value after a bad one: got %q, err %v", got, err)
	}
}

func TestListVar(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	l := []string{"def:1"}
	ListVar(fs, &l, "l", "")
	if d := fs.Lookup("l").DefValue; d != "def:1" {
		t.Errorf("default shown %q", d)
	}
	if err := fs.Parse([]string{"--l", " a, ,b ,"}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(l, []string{"a", "b"}) {
		t.Errorf("list %q", l)
	}
}
