//go:build integration

package replication

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/sluicecdc/sluice/internal/testkit"
)

// testServer is a server from SLUICE_TEST_MARIADB_DSN or SLUICE_TEST_MYSQL_DSN with its admin
// (root) connection settings.
type testServer struct {
	name   string // "mariadb" or "mysql"
	flavor Flavor
	addr   string
	user   string
	pass   string
}

func server(t testing.TB, env string, flavor Flavor) *testServer {
	t.Helper()
	dsn := testkit.Server(t, env)
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatalf("%s: %v", env, err)
	}
	s := &testServer{name: map[Flavor]string{FlavorMySQL: "mysql", FlavorMariaDB: "mariadb"}[flavor],
		flavor: flavor, addr: cfg.Addr, user: cfg.User, pass: cfg.Passwd}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, s.config(s.user, s.pass))
	if err != nil {
		t.Fatalf("connect to %s as admin: %v", env, err)
	}
	_ = c.Close()
	return s
}

func mariaDB(t *testing.T) *testServer { return server(t, "SLUICE_TEST_MARIADB_DSN", FlavorMariaDB) }
func mySQL(t *testing.T) *testServer   { return server(t, "SLUICE_TEST_MYSQL_DSN", FlavorMySQL) }

// serverID returns a replica server id unlikely to collide with other tests on the server.
func serverID() uint32 {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return 1_000_000 + binary.LittleEndian.Uint32(b[:])%1_000_000_000
}

func (s *testServer) config(user, pass string) Config {
	// New users authenticate in full on their first connection; these tests are about other
	// things than the channel (TestFullAuthRefusedUnverified is about that).
	return Config{Addr: s.addr, User: user, Password: pass, ServerID: serverID(), TLS: TLSDisable,
		DialTimeout: 10 * time.Second, AllowPublicKeyRetrieval: true}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// admin opens a root connection closed at cleanup.
func (s *testServer) admin(t *testing.T) *Conn {
	t.Helper()
	cfg := s.config(s.user, s.pass)
	c, err := Dial(testCtx(t), cfg)
	if err != nil {
		t.Fatalf("admin connect: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func mustExec(t *testing.T, c *Conn, queries ...string) {
	t.Helper()
	for _, q := range queries {
		if err := c.Exec(testCtx(t), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func mustQuery(t *testing.T, c *Conn, q string) *Result {
	t.Helper()
	r, err := c.Query(testCtx(t), q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return r
}

// user creates (or recreates) a test user with the given auth clause and grants, dropped at
// cleanup. auth is e.g. "IDENTIFIED WITH caching_sha2_password BY 'pw'".
func (s *testServer) createUser(t *testing.T, name, auth, grants string) {
	t.Helper()
	a := s.admin(t)
	mustExec(t, a, "DROP USER IF EXISTS '"+name+"'@'%'", "CREATE USER '"+name+"'@'%' "+auth)
	if grants != "" {
		mustExec(t, a, "GRANT "+grants+" ON *.* TO '"+name+"'@'%'")
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if c, err := Dial(ctx, s.config(s.user, s.pass)); err == nil {
			_ = c.Exec(ctx, "DROP USER IF EXISTS '"+name+"'@'%'")
			_ = c.Close()
		}
	})
}

func (s *testServer) replGrants() string {
	if s.flavor == FlavorMariaDB {
		return "REPLICATION SLAVE, BINLOG MONITOR, SELECT, RELOAD"
	}
	return "REPLICATION SLAVE, REPLICATION CLIENT, SELECT, RELOAD"
}

func (s *testServer) dial(t *testing.T, cfg Config) *Conn {
	t.Helper()
	c, err := Dial(testCtx(t), cfg)
	if err != nil {
		t.Fatalf("connect as %s (TLS %s): %v", cfg.User, cfg.TLS, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Event header fields (binlog v4 header: timestamp 4, type 1, server id 4, size 4, log pos 4, flags 2).
func evType(ev []byte) byte     { return ev[4] }
func evSize(ev []byte) uint32   { return binary.LittleEndian.Uint32(ev[9:]) }
func evLogPos(ev []byte) uint32 { return binary.LittleEndian.Uint32(ev[13:]) }

const (
	typeRotate       = 4
	typeFormatDesc   = 15
	typeXID          = 16
	typeHeartbeat    = 27
	typeGTID         = 33
	typeHeartbeatV2  = 41
	typeMariaGTID    = 162
	typeMariaGTIDLst = 163
)

// encodeGTIDSet encodes a MySQL GTID set text ("uuid:1-5:7,uuid2:1-3:tag:1-2") into the
// COM_BINLOG_DUMP_GTID form: untagged (n_sids, then uuid, n_intervals, [start, end+1) pairs),
// or with any tag the tagged form MySQL 8.3+ uses (format byte 1 in the top and bottom bytes of
// the count, n_sids in bits 8-55, a length-prefixed tag after each uuid, the length as the
// serialization library's one-byte varint len<<1). Test-only: the GTID set type lives in
// capture/mysql/binlog.
func encodeGTIDSet(t *testing.T, text string) []byte {
	t.Helper()
	type entry struct {
		uuid []byte
		tag  string
		ivs  [][2]uint64
	}
	var entries []*entry
	tagged := false
	text = strings.ReplaceAll(strings.ReplaceAll(text, "\n", ""), " ", "")
	for _, part := range strings.Split(text, ",") {
		if part == "" {
			continue
		}
		fields := strings.Split(part, ":")
		u, err := hex.DecodeString(strings.ReplaceAll(fields[0], "-", ""))
		if err != nil || len(u) != 16 {
			t.Fatalf("bad uuid in %q", part)
		}
		cur := &entry{uuid: u}
		entries = append(entries, cur)
		for _, f := range fields[1:] {
			if f == "" || f[0] < '0' || f[0] > '9' {
				cur = &entry{uuid: u, tag: f}
				entries = append(entries, cur)
				tagged = true
				continue
			}
			lo, hi, ok := strings.Cut(f, "-")
			if !ok {
				hi = lo
			}
			l, err1 := strconv.ParseUint(lo, 10, 63)
			h, err2 := strconv.ParseUint(hi, 10, 63)
			if err1 != nil || err2 != nil {
				t.Fatalf("bad interval %q", f)
			}
			cur.ivs = append(cur.ivs, [2]uint64{l, h + 1})
		}
	}
	var n uint64
	for _, e := range entries {
		if len(e.ivs) > 0 {
			n++
		}
	}
	head := n
	if tagged {
		head = 1<<56 | n<<8 | 1
	}
	b := binary.LittleEndian.AppendUint64(nil, head)
	for _, e := range entries {
		if len(e.ivs) == 0 {
			continue
		}
		b = append(b, e.uuid...)
		if tagged {
			b = append(append(b, byte(len(e.tag)<<1)), e.tag...)
		}
		b = binary.LittleEndian.AppendUint64(b, uint64(len(e.ivs)))
		for _, iv := range e.ivs {
			b = binary.LittleEndian.AppendUint64(b, iv[0])
			b = binary.LittleEndian.AppendUint64(b, iv[1])
		}
	}
	return b
}

func mustValue(t *testing.T, r *Result, col string) string {
	t.Helper()
	v, ok := r.Get(0, col)
	if !ok {
		t.Fatalf("no value for %s in %v / %v", col, r.Columns, r.Rows)
	}
	return v
}

var _ = fmt.Sprint
