package postgres

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"log/slog"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/schema"
)

// A resumed snapshot reads an unfinished table without a primary key again from its start
// (chunk.go), with its current rows. Streaming restarted at the stored offset, so a row
// version written after the snapshot began (an insert, or the new version of an update, while
// sluice was down or while the rest is read) would come twice: as the stream's change and as a
// chunk row. Without a key the stream's change cannot remove the chunk row by key, as it does
// for keyed tables; the version itself is recognised, by its xmin (the transaction that wrote
// it), in two ways:
//
//  1. The versions this run streamed: pgoutput names each change's transaction, so a chunk
//     row whose xmin and whole image are those of an insert or update the stream delivered
//     is that version. The stream has delivered it by the time the chunk is emitted: a
//     version the chunk's snapshot sees was committed before that snapshot was taken, so its
//     commit precedes the high watermark (read-only mode: the chunk's reach). Always sound.
//  2. The initial snapshot's transaction list (Position.SnapXids: pg_current_snapshot() in
//     the exported snapshot, kept in the offsets while a keyless table is left). A version
//     whose xmin it did not see was written by a transaction that committed after the slot's
//     consistent point, whose changes the stream delivers (in this run, or in one before it:
//     the stored offset is past them). This also covers what 1 cannot: rows a subtransaction
//     wrote (their xmin is the subtransaction's, pgoutput names the top level; the exported
//     snapshot lists every xid not yet committed between its xmin and xmax, subtransactions
//     too, and one it missed would count as seen: read twice, never lost), and versions an
//     earlier run of an interrupted resume streamed. Sound only while xmin is the writer of
//     the version and the 32-bit xmin names one transaction, which each chunk's transaction
//     checks (checkVisibility): the server's xid counter is below 2^32 (after it wraps, a
//     frozen tuple keeps its old 32-bit xmin, which may equal a recent xid), and the table's
//     pg_class row (and its partitions') is one the snapshot saw (ALTER TABLE … TYPE and any
//     other rewrite writes every tuple again under the ALTER's xid and streams no row).
//     Otherwise only 1 applies.
//
// A rewritten row is safe under 1 too: it is not an image the stream wrote under that xid; an
// old frozen row that is (same 32-bit xid, same values) is interchangeable with the version
// streamed, which then comes as the read. Still stored twice, as before: when 2 does not
// apply (or the offset predates snapshot_xids), rows of subtransactions and versions an
// earlier run streamed; versions past maxStreamedVersions. An update's unchanged TOAST values
// come from its old row, whole under REPLICA IDENTITY FULL, which a keyless table needs for
// its updates to be published.

// maxStreamedVersions bounds the versions remembered (about 36 bytes each: 36 MiB). Past it,
// further versions are not matched: their chunk rows are stored twice, never lost. A var for
// tests.
var maxStreamedVersions = 1 << 20

// streamedVersions are the versions (xid, image) the stream delivered of the keyless tables a
// resumed snapshot has still to read, counted: the same transaction may write one image
// several times. Next's goroutine only.
type streamedVersions struct {
	seed   maphash.Seed
	tables map[schema.TableID]map[uint64]int32 // only the tables still to be read
	// used are the versions that dropped a chunk row, per table: a read of the table again
	// from its start (chunk.restart) meets them again.
	used map[schema.TableID]map[uint64]int32
	n    int
	full bool // maxStreamedVersions was reached (logged once)
	buf  []byte
}

// newStreamedVersions watches the keyless tables of tables (none: nil).
func newStreamedVersions(tables []*snapTable) *streamedVersions {
	var sv *streamedVersions
	for _, t := range tables {
		if len(t.pk) > 0 {
			continue
		}
		if sv == nil {
			sv = &streamedVersions{seed: maphash.MakeSeed(), tables: map[schema.TableID]map[uint64]int32{},
				used: map[schema.TableID]map[uint64]int32{}}
		}
		sv.tables[t.rel.table.ID] = map[uint64]int32{}
	}
	return sv
}

// hash is the hash of a version: its 32-bit xid and every value of its row.
func (sv *streamedVersions) hash(xid uint32, row capture.Row) uint64 {
	b := binary.LittleEndian.AppendUint32(sv.buf[:0], xid)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(row)))
	for _, v := range row {
		b = appendValueKey(b, v)
	}
	sv.buf = b
	return maphash.Bytes(sv.seed, b)
}

// see notes the version a streamed insert or update wrote of a watched table.
func (sv *streamedVersions) see(log *slog.Logger, ev *capture.Event) {
	if sv == nil || ev.Kind != capture.Change || ev.Table == nil || ev.After == nil || !ev.Source.HasTxID ||
		(ev.Op != capture.OpCreate && ev.Op != capture.OpUpdate) {
		return
	}
	m := sv.tables[ev.Table.ID]
	if m == nil {
		return
	}
	if sv.n >= maxStreamedVersions {
		if !sv.full {
			sv.full = true
			log.Warn("a resumed snapshot of a table without a primary key remembers no more streamed row versions: rows written from now on until its tables are read may be published twice (a read and the change)",
				"versions", sv.n, "table", ev.Table.ID.String())
		}
		return
	}
	m[sv.hash(uint32(ev.Source.TxID), ev.After)]++
	sv.n++
}

// drop reports whether a chunk row of table id, written by xid, is a version the stream
// delivered; each delivered version drops one row.
func (sv *streamedVersions) drop(id schema.TableID, xid uint32, row capture.Row) bool {
	if sv == nil {
		return false
	}
	m := sv.tables[id]
	if len(m) == 0 {
		return false
	}
	h := sv.hash(xid, row)
	if m[h] == 0 {
		return false
	}
	m[h]--
	sv.n--
	u := sv.used[id]
	if u == nil {
		u = map[uint64]int32{}
		sv.used[id] = u
	}
	u[h]++
	return true
}

// restart makes the versions that dropped rows of table id drop them again: its read
// starts over from page 0 (chunk.restart).
func (sv *streamedVersions) restart(id schema.TableID) {
	if sv == nil || sv.tables[id] == nil {
		return
	}
	for h, n := range sv.used[id] {
		sv.tables[id][h] += n
		sv.n += int(n)
	}
	delete(sv.used, id)
}

// done forgets a table whose rows were all read.
func (sv *streamedVersions) done(id schema.TableID) {
	if sv == nil {
		return
	}
	sv.n -= sumCounts(sv.tables[id])
	delete(sv.tables, id)
	delete(sv.used, id)
}

func sumCounts(m map[uint64]int32) int {
	n := 0
	for _, c := range m {
		n += int(c)
	}
	return n
}

// maxSnapXids bounds the snapshot's transaction list kept in the offsets (about 11 bytes each).
// The slot's exported snapshot cannot list more than the server's process slots.
const maxSnapXids = 10000

// snapVisibility is a pg_snapshot ("xmin:xmax:xip,…").
type snapVisibility struct {
	text       string
	xmin, xmax uint64
	xip        []uint64 // sorted
}

// parseSnapVisibility parses the text of a pg_snapshot.
func parseSnapVisibility(s string) (*snapVisibility, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return nil, fmt.Errorf("snapshot %q: want xmin:xmax:xip", s)
	}
	v := &snapVisibility{text: s}
	var err error
	if v.xmin, err = strconv.ParseUint(parts[0], 10, 64); err != nil {
		return nil, fmt.Errorf("snapshot %q: %w", s, err)
	}
	if v.xmax, err = strconv.ParseUint(parts[1], 10, 64); err != nil {
		return nil, fmt.Errorf("snapshot %q: %w", s, err)
	}
	if parts[2] != "" {
		for _, x := range strings.Split(parts[2], ",") {
			n, err := strconv.ParseUint(x, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("snapshot %q: %w", s, err)
			}
			v.xip = append(v.xip, n)
		}
	}
	slices.Sort(v.xip)
	if v.xmin > v.xmax {
		return nil, fmt.Errorf("snapshot %q: xmin after xmax", s)
	}
	return v, nil
}

// saw reports whether the snapshot sees the (committed) transaction xid of a server whose
// xid counter is below 2^32. Permanent xids (below 3: bootstrap, frozen) are seen by all.
func (v *snapVisibility) saw(xid uint32) bool {
	x := uint64(xid)
	if x < 3 || x < v.xmin {
		return true
	}
	if x >= v.xmax {
		return false
	}
	_, found := slices.BinarySearch(v.xip, x)
	return !found
}

// checkVisibility sets c.visOK: whether, in the chunk's transaction, the initial snapshot's
// transaction list tells the versions streamed since (see above). Reader goroutine.
func (s *Source) checkVisibility(ctx context.Context, tx pgx.Tx, c *chunk) error {
	t := c.t
	var wrapped bool
	var changed []string
	// pg_partition_tree lists nothing for a plain table.
	if err := tx.QueryRow(ctx, `SELECT pg_snapshot_xmax(pg_current_snapshot()) >= '4294967296'::xid8,
  coalesce(array_agg(c.oid::regclass::text) FILTER (WHERE c.xmin::text::bigint >= 3 AND NOT pg_visible_in_snapshot(c.xmin::text::xid8, $2::pg_snapshot)), '{}')
FROM pg_class c WHERE c.oid = $1::regclass OR c.oid IN (SELECT relid FROM pg_partition_tree($1::regclass))`, t.name, c.vis.text).Scan(&wrapped, &changed); err != nil {
		return fmt.Errorf("check the snapshot's transactions: %w", err)
	}
	c.visOK = !wrapped && len(changed) == 0
	if !c.visOK && !t.visWarned {
		t.visWarned = true
		why := "the server's transaction ids wrapped around 2^32 since it started: a frozen row's xmin may equal a recent transaction's"
		if !wrapped {
			why = "the table changed in the catalog since the snapshot began (ALTER TABLE, TRUNCATE, CLUSTER, VACUUM FULL): its rows' xmin may be the change's"
		}
		s.log.Info("resumed snapshot: rows of a table without a key are matched with the streamed changes by transaction and row; rows written in subtransactions or streamed before an earlier restart may be read twice",
			"table", t.name, "reason", why, "changed", changed)
	}
	return nil
}

// checkRewrite reads the files of a keyless table in the chunk's transaction (which holds the
// table's lock: they are the files the chunk reads) and, when they are not those the table's
// read began with, starts the read again from page 0 with this chunk (keylessPass).
// Reader goroutine.
func (s *Source) checkRewrite(ctx context.Context, tx pgx.Tx, c *chunk, pass *keylessPass) error {
	var files string
	// Every partition's of a root (a root has no file: NULL, left out by string_agg).
	if err := tx.QueryRow(ctx, `SELECT coalesce(string_agg(c.oid::text || ':' || pg_relation_filenode(c.oid)::text, ',' ORDER BY c.oid), '')
FROM pg_class c WHERE c.oid = $1::regclass OR c.oid IN (SELECT relid FROM pg_partition_tree($1::regclass))`, c.t.name).Scan(&files); err != nil {
		return fmt.Errorf("read the table's files: %w", err)
	}
	switch {
	case pass.files == "":
		pass.files = files
	case files != pass.files:
		s.log.Warn("resumed snapshot: a table without a primary key was rewritten while it was read (VACUUM FULL, CLUSTER, ALTER TABLE): its rows may have moved into pages already read, so it is read again from its start; the rows already read are published again",
			"table", c.t.name, "pages_read", pass.page, "files_before", pass.files, "files", files)
		pass.page, pass.files = 0, files
		c.restart = true
	}
	return nil
}
