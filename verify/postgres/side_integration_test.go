//go:build integration

package postgres

import (
	"context"
	"os"
	"slices"
	"strconv"
	"testing"

	"github.com/sluicecdc/sluice/internal/testkit"
	"github.com/sluicecdc/sluice/internal/tlsconf"
)

// TestDescribeReplicaIdentityIndexKey: verify keys a table without a primary key under
// REPLICA IDENTITY USING INDEX by the index's columns, as the capture keys its records (and the
// ClickHouse sink its table). Before, verify read only the primary key and skipped the table
// as keyless, so a loss in it went unreported.
func TestDescribeReplicaIdentityIndexKey(t *testing.T) {
	dsn := testkit.Server(t, "SLUICE_TEST_PG_DSN")
	ctx := context.Background()
	// (Its cleanup used adm after this function had closed it: every run left the database.)
	dbDSN, db := testkit.FreshPGDatabase(t, dsn, "sl_verify_ri_"+strconv.Itoa(os.Getpid()))
	for _, q := range []string{
		"CREATE TABLE ri (v text, b text NOT NULL, a int NOT NULL)",
		"CREATE UNIQUE INDEX ri_ab ON ri (a, b)",
		"ALTER TABLE ri REPLICA IDENTITY USING INDEX ri_ab",
		"CREATE TABLE pk (id int PRIMARY KEY, c int NOT NULL UNIQUE)",
		"CREATE TABLE nokey (a int NOT NULL UNIQUE)",
	} {
		if _, err := db.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	s, err := Open(ctx, dbDSN, "", tlsconf.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	for table, want := range map[string][]string{"ri": {"a", "b"}, "pk": {"id"}, "nokey": nil} {
		st, err := s.Describe(ctx, "public", table)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(st.Key, want) {
			t.Errorf("%s: key %v, want %v", table, st.Key, want)
		}
	}
}
