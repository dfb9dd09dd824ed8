package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	chsink "github.com/sluicecdc/sluice/sink/clickhouse"
)

// chServer is one path's private ClickHouse (18.16 here), started through
// scripts/clickhouse.sh on the path's own ports and directory.
type chServer struct {
	script string
	env    []string
	dir    string
	port   int
}

func newCHServer(repo, infra, name string, tcp, http int) *chServer {
	dir := filepath.Join(infra, "clickhouse-"+name)
	return &chServer{
		script: filepath.Join(repo, "scripts", "clickhouse.sh"),
		env: []string{"SLUICE_INFRA_DIR=" + infra, "CH_DIR=" + dir,
			"CH_TCP_PORT=" + strconv.Itoa(tcp), "CH_HTTP_PORT=" + strconv.Itoa(http)},
		dir: dir, port: tcp,
	}
}

func (s *chServer) addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

func (s *chServer) run(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, s.script, args...)
	cmd.Env = append(os.Environ(), s.env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("clickhouse.sh %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}

// Start starts the server from an empty data dir when clean is set.
func (s *chServer) Start(ctx context.Context, clean bool) error {
	if clean {
		if err := s.run(ctx, "clean"); err != nil {
			return err
		}
	}
	return s.run(ctx, "start")
}

func (s *chServer) Stop(ctx context.Context) error { return s.run(ctx, "stop") }

// Restart kills the server (SIGKILL: an insert in flight is lost, never acknowledged), keeps it
// down for down and starts it again.
func (s *chServer) Restart(ctx context.Context, down time.Duration) error {
	b, err := os.ReadFile(filepath.Join(s.dir, "run/clickhouse-server.pid"))
	if err != nil {
		return fmt.Errorf("clickhouse pid: %w", err)
	}
	p, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return fmt.Errorf("clickhouse pid: %w", err)
	}
	if err := syscall.Kill(p, syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill -9 clickhouse (%d): %w", p, err)
	}
	for i := 0; i < 200 && syscall.Kill(p, 0) == nil; i++ {
		time.Sleep(50 * time.Millisecond)
	}
	select {
	case <-time.After(down):
	case <-ctx.Done():
	}
	return s.Start(context.WithoutCancel(ctx), false)
}

// open connects the harness to the server directly (never through the proxy).
func (s *chServer) open() (driver.Conn, error) {
	return ch.Open(&ch.Options{Addr: []string{s.addr()}, Auth: ch.Auth{Database: "default", Username: "default"},
		DialTimeout: 5 * time.Second, MaxOpenConns: 2})
}

// chTableExists reports whether db.table exists.
func chTableExists(ctx context.Context, conn driver.Conn, db, table string) (bool, error) {
	var n uint64
	err := conn.QueryRow(ctx, "SELECT count() FROM system.tables WHERE database = '"+db+"' AND name = '"+table+"'").Scan(&n)
	return n > 0, err
}

// chMarkerSeen reports whether the marker row is in db.t_marker.
func chMarkerSeen(ctx context.Context, conn driver.Conn, db string) bool {
	if ok, err := chTableExists(ctx, conn, db, tMarker); err != nil || !ok {
		return false
	}
	var n uint64
	err := conn.QueryRow(ctx, "SELECT count() FROM "+db+"."+tMarker+" FINAL WHERE _is_deleted = 0").Scan(&n)
	return err == nil && n > 0
}

// chVersions is the progress sample of a ClickHouse database: the newest _version of each
// workload table (0 while a table does not exist). Any of them growing is progress.
func chVersions(ctx context.Context, conn driver.Conn, db string) ([]uint64, error) {
	out := make([]uint64, len(tables))
	for i, t := range tables {
		ok, err := chTableExists(ctx, conn, db, t)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if err := conn.QueryRow(ctx, "SELECT max(_version) FROM "+db+"."+t).Scan(&out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// readCH reads the workload tables of one ClickHouse database as sluice left them (FINAL) and
// folds them into the same latest-state-per-key the Kafka checker builds, plus the count of
// records parked in _sluice_parked (changes the sink could not apply).
//
// Keyed tables (ORDER BY the key) have one row per key after FINAL: a row with _is_deleted = 1
// is a deleted key. The keyless table is a log of changes (ORDER BY (_version, _row_id)): the
// state of a uid is its row with the newest _version, and a (uid, ver, deleted) seen twice is a
// replay that did not collapse: a duplicate. Deleted rows are filtered in Go, not in SQL, so no
// PREWHERE can drop them before FINAL has chosen the newest version.
func readCH(ctx context.Context, conn driver.Conn, db string) (map[string]*topicState, int, error) {
	out := map[string]*topicState{}
	for _, t := range tables {
		st := newTopicState(t)
		out[t] = st
		ok, err := chTableExists(ctx, conn, db, t)
		if err != nil {
			return nil, 0, err
		}
		if !ok {
			continue // no table: every source row is missing
		}
		// The rows themselves, not the view sluice puts over them under the table's name (it
		// hides deletes, which the keyless log needs to see).
		data := t
		if ok, err := chTableExists(ctx, conn, db, t+chsink.DataSuffix); err != nil {
			return nil, 0, err
		} else if ok {
			data = t + chsink.DataSuffix
		}
		kc, tc := keyCol(t), textCol(t)
		rows, err := conn.Query(ctx, "SELECT toInt64("+kc+"), toInt64(ver), toString("+tc+"), toUInt8(_is_deleted), _version FROM "+db+"."+data+" FINAL")
		if err != nil {
			return nil, 0, fmt.Errorf("read %s.%s: %w", db, t, err)
		}
		newest := map[int64]uint64{}
		seen := map[string]bool{}
		for rows.Next() {
			var (
				id, ver int64
				text    string
				del     uint8
				version uint64
			)
			if err := rows.Scan(&id, &ver, &text, &del, &version); err != nil {
				rows.Close()
				return nil, 0, fmt.Errorf("read %s.%s: %w", db, t, err)
			}
			st.records++
			if t == tNoKey {
				ident := fmt.Sprintf("%d|%d|%d", id, ver, del)
				if seen[ident] {
					st.duplicates++
					if len(st.dupExample) < 3 {
						st.dupExample = append(st.dupExample, fmt.Sprintf("%s %s=%d ver %d deleted %d: stored twice (_version %d); the view shows the row twice", t, kc, id, ver, del, version))
					}
				}
				seen[ident] = true
				if v, ok := newest[id]; ok && v > version {
					continue
				}
				newest[id] = version
			}
			s := &kstate{ver: ver, deleted: del == 1, op: "clickhouse", offset: int64(version)}
			if text == "" && t == tToast {
				s.sum = "unavailable" // the sink had no earlier value to carry (ToastMissing)
			} else {
				h := sha256.Sum256([]byte(text))
				s.sum = hex.EncodeToString(h[:])
			}
			st.keys[id] = s
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, 0, fmt.Errorf("read %s.%s: %w", db, t, err)
		}
	}
	var parked uint64
	if ok, err := chTableExists(ctx, conn, db, "_sluice_parked"); err != nil {
		return nil, 0, err
	} else if ok {
		if err := conn.QueryRow(ctx, "SELECT count() FROM "+db+"._sluice_parked").Scan(&parked); err != nil {
			return nil, 0, err
		}
	}
	return out, int(parked), nil
}
