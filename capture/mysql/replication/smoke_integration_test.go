//go:build integration

package replication

import "testing"

// TestSmoke: text queries (NULL vs empty string), the default database and the flavour.
func TestSmoke(t *testing.T) {
	for _, s := range []*testServer{mariaDB(t), mySQL(t)} {
		t.Run(s.name, func(t *testing.T) {
			cfg := s.config(s.user, s.pass)
			cfg.Database = "mysql"
			c := s.dial(t, cfg)
			if c.Flavor() != s.flavor {
				t.Errorf("flavor %s, want %s", c.Flavor(), s.flavor)
			}
			r := mustQuery(t, c, "SELECT DATABASE() AS db, NULL AS n, '' AS e, 42 AS i UNION ALL SELECT 'x', NULL, 'y', 7")
			if len(r.Rows) != 2 || len(r.Columns) != 4 {
				t.Fatalf("result %+v", r)
			}
			if db, _ := r.Get(0, "db"); db != "mysql" {
				t.Errorf("DATABASE() = %q, want mysql", db)
			}
			if _, ok := r.Get(0, "n"); ok {
				t.Error("NULL came back valid")
			}
			if e, ok := r.Get(0, "e"); !ok || e != "" {
				t.Errorf("empty string came back as %q valid=%v", e, ok)
			}
			if i, _ := r.Get(1, "i"); i != "7" {
				t.Errorf("row 2 i = %q", i)
			}
			if err := c.Ping(testCtx(t)); err != nil {
				t.Error(err)
			}
			t.Logf("%s %s tls=%v auth=%+v", s.name, c.ServerVersion(), c.TLS(), c.Auth())
		})
	}
}
