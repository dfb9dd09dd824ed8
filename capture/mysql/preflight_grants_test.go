package mysql

import (
	"slices"
	"testing"
)

// TestParseGrants reads SHOW GRANTS lines as MySQL 9.7 and MariaDB 10.11 print them.
func TestParseGrants(t *testing.T) {
	// MySQL 9.7, a user with a default role (its privileges expanded into the user's lines),
	// a wildcard database grant and a column grant.
	mysqlLines := []string{
		"GRANT RELOAD, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO `mg_u1`@`%`",
		"GRANT BACKUP_ADMIN,REPLICATION_SLAVE_ADMIN ON *.* TO `mg_u1`@`%`",
		"GRANT SELECT ON `mg_probe`.* TO `mg_u1`@`%`",
		"GRANT SELECT ON `mg\\_pro%`.* TO `mg_u1`@`%`",
		"GRANT ALL PRIVILEGES ON `shop`.* TO `mg_u1`@`%`",
		"GRANT SELECT (`id`, `v`), INSERT ON `mg_probe`.`u` TO `mg_u1`@`%`",
		"GRANT SELECT ON `odd``name`.`t.1` TO `mg_u1`@`%`",
		"GRANT EXECUTE ON PROCEDURE `shop`.`p` TO `mg_u1`@`%`",
		"GRANT PROXY ON ``@`` TO `root`@`localhost` WITH GRANT OPTION",
		"GRANT `mg_r1`@`%`,`mg_r2`@`%` TO `mg_u1`@`%`",
		"REVOKE SELECT ON `mysql`.* FROM `mg_u1`@`%`",
	}
	g := parseGrants(mysqlLines)
	g.wildcards = true
	for _, p := range []string{"RELOAD", "REPLICATION SLAVE", "REPLICATION CLIENT", "BACKUP_ADMIN", "REPLICATION_SLAVE_ADMIN"} {
		if !g.hasGlobal(p) {
			t.Errorf("mysql: no global %s in %v", p, g.global)
		}
	}
	if g.hasGlobal("SELECT") || g.selectAll() {
		t.Error("mysql: global SELECT")
	}
	for _, c := range []struct {
		db, table string
		want      bool
	}{
		{"mg_probe", "t", true},
		{"mgXproXYZ", "t", false}, // \_ is a literal underscore (and mg_probe, a pattern, needs 8 characters)
		{"mg_pro_b", "t", true},
		{"shop", "orders", true}, // ALL PRIVILEGES
		{"other", "t", false},
		{"odd`name", "t.1", true},
		{"odd`name", "t", false},
	} {
		if got := g.onTable(c.db, c.table, "SELECT"); got != c.want {
			t.Errorf("mysql: SELECT on %s.%s: %v, want %v", c.db, c.table, got, c.want)
		}
	}
	if !g.onTable("mg_probe", "u", "SELECT") || g.onTable("mg_probe", "u", "DELETE") || !g.onTable("mg_probe", "u", "INSERT") {
		t.Error("mysql: table privileges of mg_probe.u")
	}
	if !g.someColumns("mg_probe", "u") || g.someColumns("mg_probe", "t") {
		t.Error("mysql: column grants")
	}
	if !slices.Equal(g.roles, []string{"mg_r1", "mg_r2"}) {
		t.Errorf("mysql: roles %v", g.roles)
	}
	if g.onDB("mysql", "SELECT") {
		t.Error("mysql: revoked database readable")
	}

	// Partial revokes of a global SELECT.
	g = parseGrants([]string{"GRANT SELECT, RELOAD ON *.* TO `u`@`%`", "REVOKE SELECT ON `secret`.* FROM `u`@`%`"})
	if g.selectAll() || !g.onDB("shop", "SELECT") || g.onDB("secret", "SELECT") || !g.hasGlobal("RELOAD") {
		t.Error("partial revoke")
	}

	// MariaDB 10.11: the active role's lines follow the user's; REPLICATION CLIENT shows as
	// BINLOG MONITOR; REPLICATION SLAVE ADMIN is not REPLICATION SLAVE.
	g = parseGrants([]string{
		"GRANT `mg_r1` TO `mg_u1`@`%`",
		"GRANT USAGE ON *.* TO `mg_u1`@`%` IDENTIFIED BY PASSWORD '*D821809F681A40A6E379B50D0463EFAE20BDD122'",
		"GRANT SELECT (`id`) ON `mg_probe`.`u` TO `mg_u1`@`%`",
		"GRANT RELOAD, BINLOG MONITOR, REPLICATION SLAVE ADMIN ON *.* TO `mg_r1`",
		"GRANT SELECT ON `mg_probe`.* TO `mg_r1`",
		"SET DEFAULT ROLE `mg_r1` FOR `mg_u1`@`%`",
	})
	if !g.hasGlobal("BINLOG MONITOR") || !g.hasGlobal("RELOAD") || g.hasGlobal("REPLICATION SLAVE") || !g.hasGlobal("REPLICATION SLAVE ADMIN") {
		t.Errorf("mariadb: global %v", g.global)
	}
	if !g.onTable("mg_probe", "t", "SELECT") || !slices.Equal(g.roles, []string{"mg_r1"}) {
		t.Errorf("mariadb: %+v", g)
	}
	g = parseGrants([]string{"GRANT ALL PRIVILEGES ON *.* TO `root`@`localhost` WITH GRANT OPTION"})
	if !g.selectAll() || !g.hasGlobal("REPLICATION SLAVE") {
		t.Error("mariadb: ALL PRIVILEGES ON *.*")
	}
}

func TestDBMatch(t *testing.T) {
	g := &grants{wildcards: true}
	for _, c := range []struct {
		pattern, db string
		want        bool
	}{
		{"shop", "shop", true},
		{"shop", "Shop", false},
		{"shop%", "shop_eu", true},
		{"shop\\_%", "shop_eu", true},
		{"shop\\_%", "shopXeu", false},
		{"sh_p", "shop", true},
		{"a.b", "aXb", false},
	} {
		if got := g.dbMatch(c.pattern, c.db); got != c.want {
			t.Errorf("%q ~ %q: %v", c.pattern, c.db, got)
		}
	}
	g.wildcards = false // partial_revokes ON: literal
	if g.dbMatch("shop%", "shop_eu") || !g.dbMatch("shop%", "shop%") {
		t.Error("literal pattern")
	}
	g.foldCase = true
	if !g.dbMatch("shop", "SHOP") {
		t.Error("fold case")
	}
}

// FuzzParseGrants: no SHOW GRANTS line, however odd, panics the parser.
func FuzzParseGrants(f *testing.F) {
	for _, l := range []string{
		"GRANT RELOAD, REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO `mg_u1`@`%`",
		"GRANT SELECT (`id`, `v`), INSERT ON `mg_probe`.`u` TO `mg_u1`@`%`",
		"GRANT `mg_r1`@`%`,`mg_r2`@`%` TO `mg_u1`@`%` WITH ADMIN OPTION",
		"REVOKE SELECT ON `mysql`.* FROM `mg_u1`@`%`",
		"GRANT PROXY ON ''@'' TO 'root'@'localhost' WITH GRANT OPTION",
		"GRANT USAGE ON *.* TO `u`@`%` IDENTIFIED BY PASSWORD '*D8'",
		"GRANT EXECUTE ON PROCEDURE `shop`.`p` TO `u`@`%`",
		"SET DEFAULT ROLE `r` FOR `u`@`%`",
		"GRANT SELECT ON \"a\"\"b\".\"t\" TO \"u\"@\"%\"",
	} {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, l string) {
		g := parseGrants([]string{l})
		g.wildcards = true
		g.onTable("a", "b", "SELECT")
		g.dbMatch(l, "x")
	})
}
