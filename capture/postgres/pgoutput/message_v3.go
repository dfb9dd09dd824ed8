package pgoutput

// Protocol version 3 adds two-phase commit (sent only with the plugin option two_phase
// 'true'): a prepared transaction comes between BeginPrepare and Prepare, and is later
// committed or rolled back by its global id.

// BeginPrepareMessageV3 starts a prepared transaction.
type BeginPrepareMessageV3 struct {
	PrepareLSN    LSN
	EndPrepareLSN LSN
	PrepareTime   Time
	Xid           uint32
	UserGID       string
}

func (*BeginPrepareMessageV3) Type() MessageType { return MessageTypeBeginPrepare }

func (m *BeginPrepareMessageV3) decode(r *reader) error {
	*m = BeginPrepareMessageV3{PrepareLSN: r.lsn(), EndPrepareLSN: r.lsn(), PrepareTime: r.time(), Xid: r.u32(), UserGID: r.str()}
	return nil
}

// PrepareMessageV3 ends a prepared transaction (PREPARE TRANSACTION).
type PrepareMessageV3 struct {
	Flags         uint8 // unused (0)
	PrepareLSN    LSN
	EndPrepareLSN LSN
	PrepareTime   Time
	Xid           uint32
	UserGID       string
}

func (*PrepareMessageV3) Type() MessageType { return MessageTypePrepare }

func (m *PrepareMessageV3) decode(r *reader) error {
	*m = PrepareMessageV3{Flags: r.u8(), PrepareLSN: r.lsn(), EndPrepareLSN: r.lsn(), PrepareTime: r.time(), Xid: r.u32(), UserGID: r.str()}
	return nil
}

// CommitPreparedMessageV3 is COMMIT PREPARED of an earlier prepared transaction.
type CommitPreparedMessageV3 struct {
	Flags        uint8 // unused (0)
	CommitLSN    LSN
	EndCommitLSN LSN
	CommitTime   Time
	Xid          uint32
	UserGID      string
}

func (*CommitPreparedMessageV3) Type() MessageType { return MessageTypeCommitPrepared }

func (m *CommitPreparedMessageV3) decode(r *reader) error {
	*m = CommitPreparedMessageV3{Flags: r.u8(), CommitLSN: r.lsn(), EndCommitLSN: r.lsn(), CommitTime: r.time(), Xid: r.u32(), UserGID: r.str()}
	return nil
}

// RollbackPreparedMessageV3 is ROLLBACK PREPARED of an earlier prepared transaction.
type RollbackPreparedMessageV3 struct {
	Flags          uint8 // unused (0)
	EndPrepareLSN  LSN   // the end of the prepared transaction
	EndRollbackLSN LSN
	PrepareTime    Time
	RollbackTime   Time
	Xid            uint32
	UserGID        string
}

func (*RollbackPreparedMessageV3) Type() MessageType { return MessageTypeRollbackPrepared }

func (m *RollbackPreparedMessageV3) decode(r *reader) error {
	*m = RollbackPreparedMessageV3{Flags: r.u8(), EndPrepareLSN: r.lsn(), EndRollbackLSN: r.lsn(), PrepareTime: r.time(), RollbackTime: r.time(), Xid: r.u32(), UserGID: r.str()}
	return nil
}

// StreamPrepareMessageV3 prepares a streamed transaction (its blocks came before).
type StreamPrepareMessageV3 struct {
	Flags         uint8 // unused (0)
	PrepareLSN    LSN
	EndPrepareLSN LSN
	PrepareTime   Time
	Xid           uint32
	UserGID       string
}

func (*StreamPrepareMessageV3) Type() MessageType { return MessageTypeStreamPrepare }

func (m *StreamPrepareMessageV3) decode(r *reader) error {
	*m = StreamPrepareMessageV3{Flags: r.u8(), PrepareLSN: r.lsn(), EndPrepareLSN: r.lsn(), PrepareTime: r.time(), Xid: r.u32(), UserGID: r.str()}
	return nil
}
