//go:build integration

package mysql

import (
	"context"
	"testing"
	"time"
)

// TestCompressedTransactions (MySQL binlog_transaction_compression=ON): rows inside
// TRANSACTION_PAYLOAD events are emitted, and a restart inside such a transaction skips exactly
// what was delivered.
func TestCompressedTransactions(t *testing.T) {
	for _, srv := range servers(t) {
		if srv.name != "mysql" {
			continue
		}
		t.Run(srv.name, func(t *testing.T) {
			db := openDB(t, srv.dsn)
			freshDB(t, db, dbZstd)
			mustExec(t, db, "CREATE TABLE "+dbZstd+".t (id INT PRIMARY KEY, v VARCHAR(20))")
			ts := newTestSource(t, srv, dbZstd)
			s := ts.open(t)
			ts.collect(t, s, 30*time.Second, untilSnapshotDone)
			conn, err := db.Conn(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for _, q := range []string{"SET SESSION binlog_transaction_compression=ON", "BEGIN",
				"INSERT INTO " + dbZstd + ".t VALUES (1,'a'),(2,'b'),(3,'c')", "UPDATE " + dbZstd + ".t SET v='z' WHERE id<3", "COMMIT",
				"SET SESSION binlog_transaction_compression=OFF"} {
				if _, err := conn.ExecContext(context.Background(), q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			conn.Close()
			ch := changes(ts.collect(t, s, 20*time.Second, func(r []rec) bool { return len(changes(r)) == 2 }))
			s.Close()
			if ch[0].text != `-(1,"a")` || ch[1].text != `-(2,"b")` {
				t.Fatalf("%s %s", ch[0].text, ch[1].text)
			}
			s = ts.open(t)
			defer s.Close()
			ch = changes(ts.collect(t, s, 20*time.Second, func(r []rec) bool { return len(changes(r)) == 3 }))
			want := []string{`-(3,"c")`, `(1,"a")(1,"z")`, `(2,"b")(2,"z")`}
			for i := range want {
				if ch[i].text != want[i] {
					t.Fatalf("after restart %d: %s want %s", i, ch[i].text, want[i])
				}
			}
		})
	}
}
