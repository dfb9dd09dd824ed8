//go:build integration

package conformance

// Update and delete cases: before images, deletes and tombstones, primary-key changes (a delete
// with header __debezium.newkey, its tombstone, a create with __debezium.oldkey), REPLICA
// IDENTITY DEFAULT/FULL, unchanged TOAST and MySQL's binlog_row_image=NOBLOB placeholders.

const (
	rspit       = "debezium-connector-postgres/src/test/java/io/debezium/connector/postgresql/RecordsStreamProducerIT.java"
	binlogCIT   = "debezium-connector-binlog/src/test/java/io/debezium/connector/binlog/BinlogConnectorIT.java"
	unavailable = `"__debezium_unavailable_value"`
	newKey      = "__debezium.newkey"
	oldKey      = "__debezium.oldkey"
)

// Debezium's test_table (postgres_create_tables.ddl) with its row (pk 1, 'insert'); each case
// has a table of its own.
func pgTestTable(name string) (ddl, insert string) {
	return "CREATE TABLE " + name + " (pk SERIAL, text TEXT, PRIMARY KEY(pk))", "INSERT INTO " + name + " (text) VALUES ('insert')"
}

var (
	pgUpdDDL, pgUpdIns       = pgTestTable("upd_table")
	pgPKDDL, pgPKIns         = pgTestTable("pk_change_table")
	pgPKNoTDDL, pgPKNoTIns   = pgTestTable("pk_change_nt_table")
	pgDelDDL, pgDelIns       = pgTestTable("del_table")
	pgDelNoTDDL, pgDelNoTIns = pgTestTable("del_nt_table")
	pgRIDDL, pgRIIns         = pgTestTable("ri_table")
	toast1, toast2           = toasted(1, 10000), toasted(2, 10000)
)

var pgChangeCases = []*Case{
	{
		Name: "pg updates, REPLICA IDENTITY DEFAULT then FULL, then without a key", Cite: rspit + " shouldReceiveChangesForUpdates",
		DDL: pgUpdDDL, Insert: pgUpdIns,
		Changes: []string{"UPDATE upd_table SET text = 'update' WHERE pk = 1", wait(1), "ALTER TABLE upd_table REPLICA IDENTITY FULL",
			"UPDATE upd_table SET text = 'update2' WHERE pk = 1", wait(2), "ALTER TABLE upd_table DROP CONSTRAINT upd_table_pkey CASCADE",
			"UPDATE upd_table SET text = 'update3' WHERE pk = 1"},
		Want: []Want{
			// DEFAULT: no before image unless the key changes.
			{Op: "u", Key: `{"pk":1}`, NoBefore: true, After: map[string]string{"pk": "1", "text": `"update"`}},
			{Op: "u", Key: `{"pk":1}`, Before: map[string]string{"pk": "1", "text": `"update"`}, After: map[string]string{"text": `"update2"`}},
			{Op: "u", Key: "null", Before: map[string]string{"text": `"update2"`}, After: map[string]string{"text": `"update3"`}},
		},
	},
	{
		Name: "pg primary key change", Cite: rspit + " shouldReceiveChangesForUpdatesWithPKChanges",
		DDL: pgPKDDL, Insert: pgPKIns,
		Changes: []string{"UPDATE pk_change_table SET text = 'update', pk = 2"},
		Want: []Want{
			{Op: "d", Key: `{"pk":1}`, Before: map[string]string{"pk": "1"}, NoAfter: true, Headers: map[string]string{newKey: `{"pk":2}`, oldKey: ""}},
			{Op: "tombstone", Key: `{"pk":1}`},
			{Op: "c", Key: `{"pk":2}`, NoBefore: true, After: map[string]string{"pk": "2", "text": `"update"`}, Headers: map[string]string{oldKey: `{"pk":1}`, newKey: ""}},
		},
	},
	{
		Name: "pg primary key change without tombstones", Cite: rspit + " shouldReceiveChangesForUpdatesWithPKChangesWithoutTombstone (DBZ-582)",
		DDL: pgPKNoTDDL, Insert: pgPKNoTIns, Mode: "tombstones.on.delete=false",
		Changes: []string{"UPDATE pk_change_nt_table SET text = 'update', pk = 2"},
		Want: []Want{
			{Op: "d", Key: `{"pk":1}`, Before: map[string]string{"pk": "1"}, NoAfter: true, Headers: map[string]string{newKey: `{"pk":2}`}},
			{Op: "c", Key: `{"pk":2}`, After: map[string]string{"pk": "2"}, Headers: map[string]string{oldKey: `{"pk":1}`}},
		},
	},
	{
		Name: "pg deletes and tombstones", Cite: rspit + " shouldReceiveChangesForDeletes",
		DDL: pgDelDDL, Insert: pgDelIns,
		Changes: []string{"INSERT INTO del_table (text) VALUES ('insert2')", "DELETE FROM del_table WHERE pk > 0"},
		Want: []Want{
			{Op: "c", Key: `{"pk":2}`, NoBefore: true, After: map[string]string{"pk": "2", "text": `"insert2"`}},
			// REPLICA IDENTITY DEFAULT: the before image holds the key, the rest null.
			{Op: "d", Key: `{"pk":1}`, Before: map[string]string{"pk": "1", "text": "null"}, NoAfter: true},
			{Op: "tombstone", Key: `{"pk":1}`},
			{Op: "d", Key: `{"pk":2}`, Before: map[string]string{"pk": "2", "text": "null"}, NoAfter: true},
			{Op: "tombstone", Key: `{"pk":2}`},
		},
	},
	{
		Name: "pg deletes without tombstones", Cite: rspit + " shouldReceiveChangesForDeletesWithoutTombstone (DBZ-582)",
		DDL: pgDelNoTDDL, Insert: pgDelNoTIns, Mode: "tombstones.on.delete=false",
		Changes: []string{"INSERT INTO del_nt_table (text) VALUES ('insert2')", "DELETE FROM del_nt_table WHERE pk > 0"},
		Want: []Want{
			{Op: "c", Key: `{"pk":2}`},
			{Op: "d", Key: `{"pk":1}`, Before: map[string]string{"pk": "1"}},
			{Op: "d", Key: `{"pk":2}`, Before: map[string]string{"pk": "2"}},
		},
	},
	{
		Name: "pg deletes by replica identity", Cite: rspit + " shouldReceiveChangesForDeletesDependingOnReplicaIdentity (DEFAULT with a key, FULL without; tombstones.on.delete=false)",
		DDL: pgRIDDL, Insert: pgRIIns, Mode: "tombstones.on.delete=false",
		Changes: []string{"ALTER TABLE ri_table REPLICA IDENTITY DEFAULT", "DELETE FROM ri_table WHERE pk = 1", wait(1),
			"ALTER TABLE ri_table DROP CONSTRAINT ri_table_pkey CASCADE", "ALTER TABLE ri_table REPLICA IDENTITY FULL",
			"INSERT INTO ri_table (pk, text) VALUES (2, 'insert2')", "DELETE FROM ri_table WHERE pk = 2"},
		Want: []Want{
			{Op: "d", Key: `{"pk":1}`, Before: map[string]string{"pk": "1"}, NoAfter: true},
			{Op: "c", Key: "null", After: map[string]string{"pk": "2", "text": `"insert2"`}},
			{Op: "d", Key: "null", Before: map[string]string{"pk": "2", "text": `"insert2"`}, NoAfter: true},
		},
	},
	{
		Name: "pg REPLICA IDENTITY FULL with a TOASTed value", Cite: rspit + " shouldReceiveChangesForReplicaIdentityFullTableWithToastedValueTableFromStreaming " +
			"(testReceiveChangesForReplicaIdentityFullTableWithToastedValue, DBZ-1146)",
		DDL: "CREATE TABLE toast_full_table (id SERIAL, not_toast int, text TEXT)",
		Changes: []string{"ALTER TABLE toast_full_table REPLICA IDENTITY FULL",
			"INSERT INTO toast_full_table (not_toast, text) VALUES (10, '" + toast1 + "')",
			"UPDATE toast_full_table SET not_toast = 20", "DELETE FROM toast_full_table",
			"INSERT INTO toast_full_table (not_toast, text) VALUES (100, null)",
			"UPDATE toast_full_table SET not_toast = 200 WHERE id = 2", "DELETE FROM toast_full_table WHERE id = 2"},
		Want: []Want{
			{Op: "c", Key: "null", After: map[string]string{"id": "1", "not_toast": "10", "text": str(toast1)}},
			// FULL sends the old row whole, so the unchanged TOAST value is known after too.
			{Op: "u", Key: "null", Before: map[string]string{"not_toast": "10", "text": str(toast1)}, After: map[string]string{"not_toast": "20", "text": str(toast1)}},
			{Op: "d", Key: "null", Before: map[string]string{"id": "1", "not_toast": "20", "text": str(toast1)}, NoAfter: true},
			{Op: "tombstone", Key: "null"},
			{Op: "c", Key: "null", After: map[string]string{"id": "2", "not_toast": "100", "text": "null"}},
			{Op: "u", Key: "null", Before: map[string]string{"not_toast": "100", "text": "null"}, After: map[string]string{"not_toast": "200", "text": "null"}},
			{Op: "d", Key: "null", Before: map[string]string{"id": "2", "not_toast": "200", "text": "null"}, NoAfter: true},
			{Op: "tombstone", Key: "null"},
		},
	},
	{
		Name: "pg unchanged TOAST placeholder", Cite: rspit + " shouldNotPropagateUnchangedToastedData (DBZ-842; mandatory_text's default '' here, not a 10,000-character one)",
		DDL:    "CREATE TABLE toast_table (pk SERIAL, text TEXT, not_toast integer, mandatory_text TEXT NOT NULL DEFAULT '', PRIMARY KEY(pk))",
		Insert: "INSERT INTO toast_table (text) VALUES ('insert')",
		Changes: []string{"INSERT INTO toast_table (not_toast, text, mandatory_text) VALUES (10, '" + toast1 + "', '" + toast1 + "')",
			"INSERT INTO toast_table (not_toast, text, mandatory_text) VALUES (10, '" + toast2 + "', '" + toast2 + "')",
			"UPDATE toast_table SET not_toast = 2", "UPDATE toast_table SET not_toast = 3"},
		Want: []Want{
			{Op: "c", Key: `{"pk":2}`, After: map[string]string{"not_toast": "10", "text": str(toast1), "mandatory_text": str(toast1)}},
			{Op: "c", Key: `{"pk":3}`, After: map[string]string{"not_toast": "10", "text": str(toast2), "mandatory_text": str(toast2)}},
			{Op: "u", Key: `{"pk":1}`, After: map[string]string{"not_toast": "2", "text": `"insert"`, "mandatory_text": `""`}},
			{Op: "u", Key: `{"pk":2}`, After: map[string]string{"not_toast": "2", "text": unavailable, "mandatory_text": unavailable}},
			{Op: "u", Key: `{"pk":3}`, After: map[string]string{"not_toast": "2", "text": unavailable, "mandatory_text": unavailable}},
			{Op: "u", Key: `{"pk":1}`, After: map[string]string{"not_toast": "3", "text": `"insert"`, "mandatory_text": `""`}},
			{Op: "u", Key: `{"pk":2}`, After: map[string]string{"not_toast": "3", "text": unavailable, "mandatory_text": unavailable}},
			{Op: "u", Key: `{"pk":3}`, After: map[string]string{"not_toast": "3", "text": unavailable, "mandatory_text": unavailable}},
		},
	},
}

// Debezium's orders table (ddl/connector_test.sql, without its foreign keys) with rows
// 10001–10004.
func binlogOrders(name string) (ddl, insert string) {
	return "CREATE TABLE " + name + " (order_number INTEGER NOT NULL AUTO_INCREMENT PRIMARY KEY, order_date DATE NOT NULL, " +
			"purchaser INTEGER NOT NULL, quantity INTEGER NOT NULL, product_id INTEGER NOT NULL) AUTO_INCREMENT = 10001",
		"INSERT INTO " + name + " VALUES (default, '2016-01-16', 1001, 1, 102), (default, '2016-01-17', 1002, 2, 105), " +
			"(default, '2016-02-19', 1002, 2, 106), (default, '2016-02-21', 1003, 1, 107)"
}

var (
	ordersDDL, ordersIns     = binlogOrders("orders")
	ordersNTDDL, ordersNTIns = binlogOrders("orders_nt")
)

var mysqlChangeCases = []*Case{
	{
		Name: "binlog primary key change, update and delete", Cite: binlogCIT + " shouldEmitHeadersOnPrimaryKeyUpdate, shouldEmitTombstoneOnDeleteByDefault (ddl/connector_test.sql orders)",
		DDL: ordersDDL, Insert: ordersIns,
		Changes: []string{"UPDATE orders SET order_number = 10303 WHERE order_number = 10003", "UPDATE orders SET quantity = 5 WHERE order_number = 10004",
			"DELETE FROM orders WHERE order_number = 10303"},
		Want: []Want{
			{Op: "d", Key: `{"order_number":10003}`, Before: map[string]string{"order_number": "10003", "purchaser": "1002", "quantity": "2"}, NoAfter: true,
				Headers: map[string]string{newKey: `{"order_number":10303}`, oldKey: ""}},
			{Op: "tombstone", Key: `{"order_number":10003}`},
			{Op: "c", Key: `{"order_number":10303}`, NoBefore: true, After: map[string]string{"order_number": "10303", "purchaser": "1002", "product_id": "106"},
				Headers: map[string]string{oldKey: `{"order_number":10003}`, newKey: ""}},
			// A full row image: the whole row before and after.
			{Op: "u", Key: `{"order_number":10004}`, Before: map[string]string{"quantity": "1", "purchaser": "1003", "order_date": "16852"},
				After: map[string]string{"quantity": "5", "purchaser": "1003", "order_date": "16852"}, Headers: map[string]string{newKey: "", oldKey: ""}},
			{Op: "d", Key: `{"order_number":10303}`, Before: map[string]string{"order_number": "10303"}, NoAfter: true},
			{Op: "tombstone", Key: `{"order_number":10303}`},
		},
	},
	{
		Name: "binlog no tombstones", Cite: binlogCIT + " shouldEmitNoTombstoneOnDelete (DBZ-582)",
		DDL: ordersNTDDL, Insert: ordersNTIns, Mode: "tombstones.on.delete=false",
		Changes: []string{"UPDATE orders_nt SET order_number = 10101 WHERE order_number = 10001", "DELETE FROM orders_nt WHERE order_number = 10101",
			"DELETE FROM orders_nt WHERE order_number = 10002"},
		Want: []Want{
			{Op: "d", Key: `{"order_number":10001}`, Headers: map[string]string{newKey: `{"order_number":10101}`}},
			{Op: "c", Key: `{"order_number":10101}`, Headers: map[string]string{oldKey: `{"order_number":10001}`}},
			{Op: "d", Key: `{"order_number":10101}`},
			{Op: "d", Key: `{"order_number":10002}`},
		},
	},
	{
		Name: "binlog binlog_row_image=NOBLOB", Cite: "debezium-connector-mysql/src/test/java/io/debezium/connector/mysql/MySqlConnectorNoBlobIT.java " +
			"textAndBlobColumnShouldBeUnavailableValuePlaceholderInBeforeAndAfterSectionsDuringUpdate, …InBeforeSectionDuringDelete " +
			"(ddl/connector_noblob_mode_test.sql; the session's binlog_row_image, the server's stays FULL)",
		DDL:    "CREATE TABLE Products (PRIMARY KEY (id), id INTEGER NOT NULL AUTO_INCREMENT, name VARCHAR(255) NOT NULL, description BLOB) CHARSET=utf8mb4",
		Insert: `INSERT INTO Products VALUES (default, "scooter", "Small 2-wheel scooter"), (default, "car battery", "12V car battery")`,
		Changes: []string{"SET SESSION binlog_row_image = 'NOBLOB'", "UPDATE Products SET name = 'updated-scooter' WHERE id = 1",
			"DELETE FROM Products WHERE id = 2", "SET SESSION binlog_row_image = 'FULL'"},
		Want: []Want{
			{Op: "u", Key: `{"id":1}`, Before: map[string]string{"id": "1", "name": `"scooter"`, "description": b64([]byte("__debezium_unavailable_value")...)},
				After: map[string]string{"id": "1", "name": `"updated-scooter"`, "description": b64([]byte("__debezium_unavailable_value")...)}},
			{Op: "d", Key: `{"id":2}`, Before: map[string]string{"id": "2", "name": `"car battery"`, "description": b64([]byte("__debezium_unavailable_value")...)}, NoAfter: true},
			{Op: "tombstone", Key: `{"id":2}`},
		},
	},
	{
		// Debezium refuses a server whose binlog_row_image is MINIMAL; a session may still
		// write minimal images. sluice treats a column left out of any image as NOBLOB's:
		// the placeholder (for a string column), never a null that would read as a change.
		Name: "binlog session binlog_row_image=MINIMAL", Cite: "sluice's rule after MySqlConnectorNoBlobIT (the placeholder for a column the row image leaves out); " +
			"Debezium's BinlogSourceTask refuses a server-wide MINIMAL",
		DDL:    "CREATE TABLE minimal_image (id INTEGER NOT NULL AUTO_INCREMENT PRIMARY KEY, name VARCHAR(255) NOT NULL, note VARCHAR(64), qty INT)",
		Insert: "INSERT INTO minimal_image VALUES (default, 'scooter', 'small', 3), (default, 'battery', '12V', 8)",
		Changes: []string{"SET SESSION binlog_row_image = 'MINIMAL'", "UPDATE minimal_image SET qty = 4 WHERE id = 1",
			"DELETE FROM minimal_image WHERE id = 2", "SET SESSION binlog_row_image = 'FULL'"},
		Want: []Want{
			{Op: "u", Key: `{"id":1}`, Before: map[string]string{"id": "1", "name": unavailable, "note": unavailable},
				After: map[string]string{"id": "1", "name": unavailable, "note": unavailable, "qty": "4"}},
			{Op: "d", Key: `{"id":2}`, Before: map[string]string{"id": "2", "name": unavailable, "note": unavailable}, NoAfter: true},
			{Op: "tombstone", Key: `{"id":2}`},
		},
	},
}
