package testkit

import (
	"fmt"
	"net"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

func TestAddrsOf(t *testing.T) {
	for _, c := range []struct {
		name, setting string
		want          []string
	}{
		{"postgres url", "postgres://u:p@127.0.0.1:15432/postgres?sslmode=disable", []string{"127.0.0.1:15432"}},
		{"postgres default port", "postgresql://db.example/x", []string{"db.example:5432"}},
		{"postgres hosts", "postgres://a:1,b:2/x", []string{"a:1", "b:2"}},
		{"mysql dsn", "root@tcp(127.0.0.1:13306)/", []string{"127.0.0.1:13306"}},
		{"mysql default port", "u:p@tcp(db)/x?parseTime=true", []string{"db:3306"}},
		{"host port", "127.0.0.1:19000", []string{"127.0.0.1:19000"}},
		{"brokers", "a:9092, b:9092", []string{"a:9092", "b:9092"}},
		{"socket", "root@unix(/run/mysqld.sock)/", nil},
		{"keyword dsn", "host=localhost port=5432", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := addrsOf(c.setting); !reflect.DeepEqual(got, c.want) {
				t.Fatalf("addrsOf(%q) = %q, want %q", c.setting, got, c.want)
			}
		})
	}
}

// fakeTB records how a helper ended the test. Skipf and Fatalf end the goroutine as
// testing.T does, so run the helper with run.
type fakeTB struct {
	testing.TB
	ended string // "skip", "fail" or ""
	msg   string
}

func (f *fakeTB) Helper()                        {}
func (f *fakeTB) Logf(string, ...any)            {}
func (f *fakeTB) Skipf(format string, a ...any)  { f.end("skip", format, a) }
func (f *fakeTB) Fatalf(format string, a ...any) { f.end("fail", format, a) }

func (f *fakeTB) end(how, format string, a []any) {
	f.ended, f.msg = how, fmt.Sprintf(format, a...)
	runtime.Goexit()
}

func run(f func(tb testing.TB)) *fakeTB {
	tb := &fakeTB{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(tb)
	}()
	<-done
	return tb
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestServer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	up, down := l.Addr().String(), closedPort(t)
	for _, c := range []struct {
		name, setting, require, want string
	}{
		{"reachable", up, "", ""},
		{"reachable required", up, "1", ""},
		{"unset", "", "", "skip"},
		{"unset required", "", "1", "fail"},
		{"unreachable", down, "", "skip"},
		{"unreachable required", down, "1", "fail"},
		{"unreachable postgres required", "postgres://u@" + down + "/x", "1", "fail"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("SLUICE_TEST_X", c.setting)
			t.Setenv(RequireEnv, c.require)
			var got string
			tb := run(func(tb testing.TB) { got = Server(tb, "SLUICE_TEST_X") })
			if tb.ended != c.want {
				t.Fatalf("ended %q (%s), want %q", tb.ended, tb.msg, c.want)
			}
			if c.want == "" && got != c.setting {
				t.Fatalf("got %q, want %q", got, c.setting)
			}
			if c.want != "" && !strings.Contains(tb.msg, "SLUICE_TEST_X") {
				t.Fatalf("message %q does not name the variable", tb.msg)
			}
		})
	}
}

func TestServers(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	up, down := l.Addr().String(), closedPort(t)
	for _, c := range []struct {
		name, a, b, require, want string
		got                       []string
	}{
		{"both", up, up, "", "", []string{up, up}},
		{"one unset", up, "", "", "", []string{up, ""}},
		{"one unreachable", down, up, "", "", []string{"", up}},
		{"one unset required", up, "", "1", "fail", nil},
		{"none", "", down, "", "skip", nil},
		{"none required", "", "", "1", "fail", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("SLUICE_TEST_A", c.a)
			t.Setenv("SLUICE_TEST_B", c.b)
			t.Setenv(RequireEnv, c.require)
			var got []string
			tb := run(func(tb testing.TB) { got = Servers(tb, "SLUICE_TEST_A", "SLUICE_TEST_B") })
			if tb.ended != c.want {
				t.Fatalf("ended %q (%s), want %q", tb.ended, tb.msg, c.want)
			}
			if c.want == "" && !reflect.DeepEqual(got, c.got) {
				t.Fatalf("got %q, want %q", got, c.got)
			}
		})
	}
}

func TestRequire(t *testing.T) {
	t.Setenv(RequireEnv, "")
	if tb := run(func(tb testing.TB) { Require(tb, "x", nil) }); tb.ended != "" {
		t.Fatalf("nil error ended the test: %s", tb.msg)
	}
	if tb := run(func(tb testing.TB) { Require(tb, "binlog file", fmt.Errorf("gone")) }); tb.ended != "skip" || !strings.Contains(tb.msg, "binlog file: gone") {
		t.Fatalf("ended %q (%s), want skip", tb.ended, tb.msg)
	}
	t.Setenv(RequireEnv, "1")
	if tb := run(func(tb testing.TB) { Require(tb, "binlog file", fmt.Errorf("gone")) }); tb.ended != "fail" {
		t.Fatalf("ended %q (%s), want fail", tb.ended, tb.msg)
	}
}
