//go:build integration

package replication

import "testing"

func TestSmoke(t *testing.T) {
	for _, s := range []*testServer{mariaDB(t), mySQL(t)} {
		c := s.admin(t)
		r := mustQuery(t, c, "SELECT @@version AS v, @@server_id AS id, NULL AS n, '' AS e")
		t.Logf("%s: %+v tls=%v auth=%+v flavor=%s", s.name, r, c.TLS(), c.Auth(), c.Flavor())
	}
}
