package pgoutput

import (
	"errors"
	"reflect"
	"testing"

	"github.com/sluicecdc/sluice/internal/testkit"
)

// Times and LSNs of the cases: commit at 2024-01-15 10:30:00.123456 UTC.
const (
	ts0  = 758629800123456
	lsn0 = 0x16B3748
)

var (
	// (1234, 'ab', NULL) as the server sends it in text format.
	row = testkit.PgoutputTuple(testkit.PgoutputText("1234"), testkit.PgoutputText("ab"), testkit.PgoutputValue{Kind: 'n'})
	// The key of that row under REPLICA IDENTITY DEFAULT: the other columns are NULL.
	key = testkit.PgoutputTuple(testkit.PgoutputText("1234"), testkit.PgoutputValue{Kind: 'n'}, testkit.PgoutputValue{Kind: 'n'})
	// An UPDATE that leaves a TOASTed column alone, in binary format.
	toast = testkit.PgoutputTuple(testkit.PgoutputValue{Kind: 'b', Data: []byte{0, 0, 4, 0xd2}}, testkit.PgoutputValue{Kind: 'u'}, testkit.PgoutputValue{Kind: 'n'})
)

// messageCases are one message of every type and layout, as Parse (or ParseInStream) must
// return them. The SQL that makes the server send each is in its name.
var messageCases = []struct {
	name     string
	data     []byte
	inStream bool
	want     Message
}{
	{"BEGIN", testkit.PgoutputBegin(lsn0+0x200, ts0, 741), false, &BeginMessage{FinalLSN: lsn0 + 0x200, CommitTime: ts0, Xid: 741}},
	{"COMMIT", testkit.PgoutputCommit(lsn0+0x200, lsn0+0x230, ts0), false, &CommitMessage{CommitLSN: lsn0 + 0x200, TransactionEndLSN: lsn0 + 0x230, CommitTime: ts0}},
	{"origin (subscriber with origin)", testkit.PgoutputOrigin(lsn0, "pg_16390"), false, &OriginMessage{CommitLSN: lsn0, Name: "pg_16390"}},
	{"relation (CREATE TABLE public.t (id int PRIMARY KEY, name varchar(10), note text))",
		testkit.PgoutputRelation(0, 16385, "public", "t", 'd', testkit.PgoutputColumn{Flags: 1, Name: "id", TypeOID: 23, TypeMod: -1},
			testkit.PgoutputColumn{Name: "name", TypeOID: 1043, TypeMod: 14}, testkit.PgoutputColumn{Name: "note", TypeOID: 25, TypeMod: -1}), false,
		&RelationMessage{RelationID: 16385, Namespace: "public", RelationName: "t", ReplicaIdentity: 'd', Columns: []RelationMessageColumn{
			{Flags: 1, Name: "id", DataType: 23, TypeModifier: -1}, {Name: "name", DataType: 1043, TypeModifier: 14}, {Name: "note", DataType: 25, TypeModifier: -1}}}},
	{"relation without columns (CREATE TABLE e ())", testkit.PgoutputRelation(0, 16390, "public", "e", 'n'), false,
		&RelationMessage{RelationID: 16390, Namespace: "public", RelationName: "e", ReplicaIdentity: 'n', Columns: []RelationMessageColumn{}}},
	{"type (CREATE TYPE mood AS ENUM (...))", testkit.PgoutputType(0, 16400, "public", "mood"), false, &TypeMessage{DataType: 16400, Namespace: "public", Name: "mood"}},
	{"INSERT INTO t VALUES (1234, 'ab', NULL)", testkit.PgoutputInsert(0, 16385, row), false, &InsertMessage{RelationID: 16385, Tuple: row}},
	{"UPDATE t SET name = 'ab' (identity default, key unchanged)", testkit.PgoutputUpdate(0, 16385, 0, nil, row), false, &UpdateMessage{RelationID: 16385, NewTuple: row}},
	{"UPDATE t SET id = 1234 (key changed)", testkit.PgoutputUpdate(0, 16385, 'K', key, row), false, &UpdateMessage{RelationID: 16385, OldTupleType: 'K', OldTuple: key, NewTuple: row}},
	{"UPDATE t SET id = id (identity full, binary, TOAST unchanged)", testkit.PgoutputUpdate(0, 16385, 'O', row, toast), false, &UpdateMessage{RelationID: 16385, OldTupleType: 'O', OldTuple: row, NewTuple: toast}},
	{"DELETE FROM t (identity default)", testkit.PgoutputDelete(0, 16385, 'K', key), false, &DeleteMessage{RelationID: 16385, OldTupleType: 'K', OldTuple: key}},
	{"DELETE FROM t (identity full)", testkit.PgoutputDelete(0, 16385, 'O', row), false, &DeleteMessage{RelationID: 16385, OldTupleType: 'O', OldTuple: row}},
	{"TRUNCATE t, e RESTART IDENTITY CASCADE", testkit.PgoutputTruncate(0, 3, 16385, 16390), false, &TruncateMessage{Option: TruncateCascade | TruncateRestartIdentity, RelationIDs: []uint32{16385, 16390}}},
	{"pg_logical_emit_message(true, 'app', 'hi')", testkit.PgoutputMessage(0, true, lsn0, "app", []byte("hi")), false, &LogicalDecodingMessage{Transactional: true, LSN: lsn0, Prefix: "app", Content: []byte("hi")}},
	{"pg_logical_emit_message(false, '', '')", testkit.PgoutputMessage(0, false, lsn0, "", nil), false, &LogicalDecodingMessage{LSN: lsn0, Content: []byte{}}},

	// Protocol 2: a transaction larger than logical_decoding_work_mem, streamed.
	{"stream start", testkit.PgoutputStreamStart(742, true), false, &StreamStartMessageV2{Xid: 742, FirstSegment: 1}},
	{"stream relation", testkit.PgoutputRelation(742, 16385, "public", "t", 'f', testkit.PgoutputColumn{Name: "id", TypeOID: 23, TypeMod: -1}), true,
		&RelationMessageV2{Xid: 742, RelationMessage: RelationMessage{RelationID: 16385, Namespace: "public", RelationName: "t", ReplicaIdentity: 'f', Columns: []RelationMessageColumn{{Name: "id", DataType: 23, TypeModifier: -1}}}}},
	{"stream type", testkit.PgoutputType(742, 16400, "", "mood"), true, &TypeMessageV2{Xid: 742, TypeMessage: TypeMessage{DataType: 16400, Name: "mood"}}},
	{"stream insert (in SAVEPOINT s1)", testkit.PgoutputInsert(743, 16385, row), true, &InsertMessageV2{Xid: 743, InsertMessage: InsertMessage{RelationID: 16385, Tuple: row}}},
	{"stream update", testkit.PgoutputUpdate(742, 16385, 'O', row, row), true, &UpdateMessageV2{Xid: 742, UpdateMessage: UpdateMessage{RelationID: 16385, OldTupleType: 'O', OldTuple: row, NewTuple: row}}},
	{"stream delete", testkit.PgoutputDelete(742, 16385, 'K', key), true, &DeleteMessageV2{Xid: 742, DeleteMessage: DeleteMessage{RelationID: 16385, OldTupleType: 'K', OldTuple: key}}},
	{"stream truncate", testkit.PgoutputTruncate(742, 0, 16385), true, &TruncateMessageV2{Xid: 742, TruncateMessage: TruncateMessage{RelationIDs: []uint32{16385}}}},
	{"stream message", testkit.PgoutputMessage(742, true, lsn0, "app", []byte("x")), true, &LogicalDecodingMessageV2{Xid: 742, LogicalDecodingMessage: LogicalDecodingMessage{Transactional: true, LSN: lsn0, Prefix: "app", Content: []byte("x")}}},
	{"stream stop", testkit.PgoutputStreamStop(), false, &StreamStopMessageV2{}},
	{"ROLLBACK TO SAVEPOINT s1 (stream abort of a subtransaction)", testkit.PgoutputStreamAbort(742, 743), false, &StreamAbortMessageV2{Xid: 742, SubXid: 743}},
	{"stream abort, v4 streaming parallel", testkit.PgoutputStreamAbortV4(742, 742, lsn0+0x900, ts0), false,
		&StreamAbortMessageV4{StreamAbortMessageV2: StreamAbortMessageV2{Xid: 742, SubXid: 742}, AbortLSN: lsn0 + 0x900, AbortTime: ts0}},
	{"stream commit", testkit.PgoutputStreamCommit(742, lsn0+0x800, lsn0+0x830, ts0), false,
		&StreamCommitMessageV2{Xid: 742, CommitLSN: lsn0 + 0x800, TransactionEndLSN: lsn0 + 0x830, CommitTime: ts0}},

	// Protocol 3 with two_phase: BEGIN; ...; PREPARE TRANSACTION 'g1'; COMMIT PREPARED 'g1'.
	{"begin prepare", testkit.PgoutputBeginPrepare(lsn0, lsn0+0x40, ts0, 744, "g1"), false, &BeginPrepareMessageV3{PrepareLSN: lsn0, EndPrepareLSN: lsn0 + 0x40, PrepareTime: ts0, Xid: 744, UserGID: "g1"}},
	{"prepare", testkit.PgoutputPrepare(false, lsn0, lsn0+0x40, ts0, 744, "g1"), false, &PrepareMessageV3{PrepareLSN: lsn0, EndPrepareLSN: lsn0 + 0x40, PrepareTime: ts0, Xid: 744, UserGID: "g1"}},
	{"commit prepared", testkit.PgoutputCommitPrepared(lsn0+0x80, lsn0+0xb0, ts0+1, 744, "g1"), false, &CommitPreparedMessageV3{CommitLSN: lsn0 + 0x80, EndCommitLSN: lsn0 + 0xb0, CommitTime: ts0 + 1, Xid: 744, UserGID: "g1"}},
	{"rollback prepared", testkit.PgoutputRollbackPrepared(lsn0+0x40, lsn0+0xb0, ts0, ts0+2, 744, "g1"), false,
		&RollbackPreparedMessageV3{EndPrepareLSN: lsn0 + 0x40, EndRollbackLSN: lsn0 + 0xb0, PrepareTime: ts0, RollbackTime: ts0 + 2, Xid: 744, UserGID: "g1"}},
	{"stream prepare", testkit.PgoutputPrepare(true, lsn0, lsn0+0x40, ts0, 745, "g2"), false, &StreamPrepareMessageV3{PrepareLSN: lsn0, EndPrepareLSN: lsn0 + 0x40, PrepareTime: ts0, Xid: 745, UserGID: "g2"}},
}

func TestParse(t *testing.T) {
	for _, c := range messageCases {
		t.Run(c.name, func(t *testing.T) {
			parse := Parse
			if c.inStream {
				parse = ParseInStream
			}
			got, err := parse(c.data)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got  %#v\nwant %#v", got, c.want)
			}
			if got.Type() != MessageType(c.data[0]) {
				t.Errorf("Type() = %s, want %s", got.Type(), MessageType(c.data[0]))
			}
			// The Decoder's reused values decode the same.
			var d Decoder
			for range 2 {
				again, err := d.Decode(lsn0, c.data, c.inStream)
				if err != nil || !reflect.DeepEqual(again, c.want) {
					t.Errorf("Decoder: %#v, %v", again, err)
				}
			}
		})
	}
}

// TestParseTruncated cuts every message at every length: each cut is a *DecodeError (or,
// where the cut falls in a trailing tuple, a tuple that does not read to its end).
func TestParseTruncated(t *testing.T) {
	for _, c := range messageCases {
		for n := range len(c.data) {
			m, err := decode(nil, new(reader), lsn0, c.data[:n], c.inStream)
			if err == nil {
				if tupleCut(m) || (n == streamAbortV2Size && c.data[0] == 'A') { // a v4 abort cut to a v2 one
					continue
				}
				t.Fatalf("%s cut at %d of %d: no error: %#v", c.name, n, len(c.data), m)
			}
			var de *DecodeError
			if !errors.As(err, &de) || !errors.Is(err, ErrTruncated) || de.LSN != lsn0 || len(de.Data) != n {
				t.Fatalf("%s cut at %d: %v", c.name, n, err)
			}
		}
	}
}

// tupleCut reports whether m has a tuple whose columns end early.
func tupleCut(m Message) bool {
	for _, tu := range tuples(m) {
		if _, err := tu.Columns(nil); err != nil {
			return true
		}
	}
	return false
}

// tuples returns the tuples of a change message.
func tuples(m Message) []Tuple {
	switch m := m.(type) {
	case *InsertMessage:
		return []Tuple{m.Tuple}
	case *InsertMessageV2:
		return []Tuple{m.Tuple}
	case *UpdateMessage:
		return []Tuple{m.OldTuple, m.NewTuple}
	case *UpdateMessageV2:
		return []Tuple{m.OldTuple, m.NewTuple}
	case *DeleteMessage:
		return []Tuple{m.OldTuple}
	case *DeleteMessageV2:
		return []Tuple{m.OldTuple}
	}
	return nil
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrTruncated},
		{"unknown type", []byte{'Z', 1, 2}, ErrUnknownMessage},
		{"insert without N", append(testkit.PgoutputInsert(0, 1, row)[:5], 'K'), ErrMalformed},
		{"update without N", withByte(testkit.PgoutputUpdate(0, 1, 0, nil, row), 5, 'X'), ErrMalformed},
		{"update, old tuple then X", append(append(testkit.PgoutputUpdate(0, 1, 'K', key, nil)[:6+len(key)], 'X'), row...), ErrMalformed},
		{"update with a bad old tuple", testkit.PgoutputUpdate(0, 1, 'O', []byte{0, 1, 'q'}, row), ErrMalformed},
		{"delete without K or O", testkit.PgoutputDelete(0, 1, 'N', key), ErrMalformed},
		{"relation of 1665 columns", append(testkit.PgoutputRelation(0, 1, "s", "t", 'd')[:10], 0x06, 0x81), ErrMalformed},
		{"truncate of more relations than sent", testkit.PgoutputTruncate(0, 0, 1, 2)[:13], ErrTruncated},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse(c.data)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
}

// withByte returns a copy of b with b[i] = c.
func withByte(b []byte, i int, c byte) []byte {
	b = append([]byte(nil), b...)
	b[i] = c
	return b
}

func TestStreamedXid(t *testing.T) {
	for _, c := range []struct {
		data []byte
		want uint32
	}{
		{testkit.PgoutputInsert(743, 1, row), 743},
		{testkit.PgoutputRelation(742, 1, "s", "t", 'd'), 742},
		{testkit.PgoutputMessage(745, true, 1, "p", nil), 745},
		{testkit.PgoutputStreamCommit(742, 1, 2, 3), 0},
		{[]byte{'I', 0, 0}, 0},
	} {
		if got := StreamedXid(c.data); got != c.want {
			t.Errorf("StreamedXid(%q) = %d, want %d", c.data, got, c.want)
		}
	}
}

func TestStrings(t *testing.T) {
	if s := LSN(0x16B374D848).String(); s != "16/B374D848" {
		t.Errorf("LSN = %s", s)
	}
	if s := MessageTypeStreamCommit.String(); s != "STREAM COMMIT" {
		t.Errorf("type = %s", s)
	}
	if s := MessageType('Z').String(); s != "0x5a" {
		t.Errorf("unknown type = %s", s)
	}
	if us := TimeFromUnixMicro(1705314600123456).UnixMicro(); us != 1705314600123456 {
		t.Errorf("time round trip = %d", us)
	}
	err := &DecodeError{LSN: lsn0, Type: MessageTypeInsert, Data: []byte("I..."), Err: ErrTruncated}
	if s := err.Error(); s != "decode pgoutput INSERT message at 0/16B3748 (4 bytes): pgoutput: truncated message" {
		t.Errorf("error = %s", s)
	}
}
