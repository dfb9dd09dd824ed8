//go:build integration

package mysql

import (
	"os"
	"strconv"
)

// uniqueDB is base with this process's id: two runs of these tests on the same servers (CI and
// a developer, or two worktrees) must not drop or fill each other's databases.
func uniqueDB(base string) string { return base + "_" + strconv.Itoa(os.Getpid()) }

// The databases of the tests that create one by name (snapshotDB makes its own unique).
var (
	dbAlter         = uniqueDB("sl_alter")
	dbBench         = uniqueDB("sl_bench")
	dbBinlogwatch   = uniqueDB("sl_binlogwatch")
	dbFo            = uniqueDB("sl_fo")
	dbGap           = uniqueDB("sl_gap")
	dbKeys          = uniqueDB("sl_keys")
	dbKill          = uniqueDB("sl_kill")
	dbLimit         = uniqueDB("sl_limit")
	dbMeet          = uniqueDB("sl_meet")
	dbMis           = uniqueDB("sl_mis")
	dbMulti         = uniqueDB("sl_multi")
	dbNobackup      = uniqueDB("sl_nobackup")
	dbOut           = uniqueDB("sl_out")
	dbProbe         = uniqueDB("sl_probe")
	dbPurge         = uniqueDB("sl_purge")
	dbQ             = uniqueDB("sl_q")
	dbRhb           = uniqueDB("sl_rhb")
	dbRs            = uniqueDB("sl_rs")
	dbSnap          = uniqueDB("sl_snap")
	dbSpares        = uniqueDB("sl_spares")
	dbStalestats    = uniqueDB("sl_stalestats")
	dbStmtrows      = uniqueDB("sl_stmtrows")
	dbStmtrowsOther = uniqueDB("sl_stmtrows_other")
	dbTag           = uniqueDB("sl_tag")
	dbTfo           = uniqueDB("sl_tfo")
	dbTls           = uniqueDB("sl_tls")
	dbZstd          = uniqueDB("sl_zstd")
)
