package binlog

import "strconv"

// EventType is the type code in the event header (Log_event_type in MySQL, plus MariaDB's
// codes from 160).
type EventType uint8

// Event type codes.
const (
	UnknownEvent            EventType = 0
	StartEventV3            EventType = 1
	QueryEvent              EventType = 2
	StopEvent               EventType = 3
	RotateEvent             EventType = 4
	IntvarEvent             EventType = 5
	SlaveEvent              EventType = 7
	AppendBlockEvent        EventType = 9
	DeleteFileEvent         EventType = 11
	RandEvent               EventType = 13
	UserVarEvent            EventType = 14
	FormatDescriptionEvent  EventType = 15
	XIDEvent                EventType = 16
	BeginLoadQueryEvent     EventType = 17
	ExecuteLoadQueryEvent   EventType = 18
	TableMapEvent           EventType = 19
	WriteRowsEventV0        EventType = 20
	UpdateRowsEventV0       EventType = 21
	DeleteRowsEventV0       EventType = 22
	WriteRowsEventV1        EventType = 23
	UpdateRowsEventV1       EventType = 24
	DeleteRowsEventV1       EventType = 25
	IncidentEvent           EventType = 26
	HeartbeatEvent          EventType = 27
	IgnorableEvent          EventType = 28
	RowsQueryEvent          EventType = 29
	WriteRowsEventV2        EventType = 30
	UpdateRowsEventV2       EventType = 31
	DeleteRowsEventV2       EventType = 32
	GTIDEvent               EventType = 33
	AnonymousGTIDEvent      EventType = 34
	PreviousGTIDsEvent      EventType = 35
	TransactionContextEvent EventType = 36
	ViewChangeEvent         EventType = 37
	XAPrepareEvent          EventType = 38
	PartialUpdateRowsEvent  EventType = 39
	TransactionPayloadEvent EventType = 40
	HeartbeatEventV2        EventType = 41
	GTIDTaggedEvent         EventType = 42

	// MariaDB.
	MariaAnnotateRowsEvent           EventType = 160
	MariaBinlogCheckpointEvent       EventType = 161
	MariaGTIDEvent                   EventType = 162
	MariaGTIDListEvent               EventType = 163
	MariaStartEncryptionEvent        EventType = 164
	MariaQueryCompressedEvent        EventType = 165
	MariaWriteRowsCompressedEventV1  EventType = 166
	MariaUpdateRowsCompressedEventV1 EventType = 167
	MariaDeleteRowsCompressedEventV1 EventType = 168
	MariaWriteRowsCompressedEvent    EventType = 169
	MariaUpdateRowsCompressedEvent   EventType = 170
	MariaDeleteRowsCompressedEvent   EventType = 171
)

var eventTypeNames = map[EventType]string{
	UnknownEvent: "UNKNOWN_EVENT", StartEventV3: "START_EVENT_V3", QueryEvent: "QUERY_EVENT",
	StopEvent: "STOP_EVENT", RotateEvent: "ROTATE_EVENT", IntvarEvent: "INTVAR_EVENT",
	SlaveEvent: "SLAVE_EVENT", AppendBlockEvent: "APPEND_BLOCK_EVENT",
	DeleteFileEvent: "DELETE_FILE_EVENT", RandEvent: "RAND_EVENT", UserVarEvent: "USER_VAR_EVENT",
	FormatDescriptionEvent: "FORMAT_DESCRIPTION_EVENT", XIDEvent: "XID_EVENT",
	BeginLoadQueryEvent: "BEGIN_LOAD_QUERY_EVENT", ExecuteLoadQueryEvent: "EXECUTE_LOAD_QUERY_EVENT",
	TableMapEvent: "TABLE_MAP_EVENT", WriteRowsEventV0: "PRE_GA_WRITE_ROWS_EVENT",
	UpdateRowsEventV0: "PRE_GA_UPDATE_ROWS_EVENT", DeleteRowsEventV0: "PRE_GA_DELETE_ROWS_EVENT",
	WriteRowsEventV1: "WRITE_ROWS_EVENT_V1", UpdateRowsEventV1: "UPDATE_ROWS_EVENT_V1",
	DeleteRowsEventV1: "DELETE_ROWS_EVENT_V1", IncidentEvent: "INCIDENT_EVENT",
	HeartbeatEvent: "HEARTBEAT_LOG_EVENT", IgnorableEvent: "IGNORABLE_LOG_EVENT",
	RowsQueryEvent: "ROWS_QUERY_LOG_EVENT", WriteRowsEventV2: "WRITE_ROWS_EVENT",
	UpdateRowsEventV2: "UPDATE_ROWS_EVENT", DeleteRowsEventV2: "DELETE_ROWS_EVENT",
	GTIDEvent: "GTID_LOG_EVENT", AnonymousGTIDEvent: "ANONYMOUS_GTID_LOG_EVENT",
	PreviousGTIDsEvent: "PREVIOUS_GTIDS_LOG_EVENT", TransactionContextEvent: "TRANSACTION_CONTEXT_EVENT",
	ViewChangeEvent: "VIEW_CHANGE_EVENT", XAPrepareEvent: "XA_PREPARE_LOG_EVENT",
	PartialUpdateRowsEvent: "PARTIAL_UPDATE_ROWS_EVENT", TransactionPayloadEvent: "TRANSACTION_PAYLOAD_EVENT",
	HeartbeatEventV2: "HEARTBEAT_LOG_EVENT_V2", GTIDTaggedEvent: "GTID_TAGGED_LOG_EVENT",
	MariaAnnotateRowsEvent: "ANNOTATE_ROWS_EVENT", MariaBinlogCheckpointEvent: "BINLOG_CHECKPOINT_EVENT",
	MariaGTIDEvent: "GTID_EVENT", MariaGTIDListEvent: "GTID_LIST_EVENT",
	MariaStartEncryptionEvent: "START_ENCRYPTION_EVENT", MariaQueryCompressedEvent: "QUERY_COMPRESSED_EVENT",
	MariaWriteRowsCompressedEventV1:  "WRITE_ROWS_COMPRESSED_EVENT_V1",
	MariaUpdateRowsCompressedEventV1: "UPDATE_ROWS_COMPRESSED_EVENT_V1",
	MariaDeleteRowsCompressedEventV1: "DELETE_ROWS_COMPRESSED_EVENT_V1",
	MariaWriteRowsCompressedEvent:    "WRITE_ROWS_COMPRESSED_EVENT",
	MariaUpdateRowsCompressedEvent:   "UPDATE_ROWS_COMPRESSED_EVENT",
	MariaDeleteRowsCompressedEvent:   "DELETE_ROWS_COMPRESSED_EVENT",
}

// String returns the server's name for the type, or "EVENT_TYPE_<n>".
func (t EventType) String() string {
	if s, ok := eventTypeNames[t]; ok {
		return s
	}
	return "EVENT_TYPE_" + strconv.Itoa(int(t))
}

// RowsKind is the operation of a rows event.
type RowsKind uint8

const (
	RowsWrite RowsKind = iota + 1
	RowsUpdate
	RowsDelete
	RowsPartialUpdate
)

// String returns "write", "update", "delete" or "partial_update".
func (k RowsKind) String() string {
	switch k {
	case RowsWrite:
		return "write"
	case RowsUpdate:
		return "update"
	case RowsDelete:
		return "delete"
	case RowsPartialUpdate:
		return "partial_update"
	}
	return "rows_kind_" + strconv.Itoa(int(k))
}

// rowsInfo describes a rows event type: its operation, version (0, 1, 2) and whether the body
// is zlib-compressed (MariaDB).
func (t EventType) rowsInfo() (kind RowsKind, version int, compressed bool) {
	switch t {
	case WriteRowsEventV0:
		return RowsWrite, 0, false
	case UpdateRowsEventV0:
		return RowsUpdate, 0, false
	case DeleteRowsEventV0:
		return RowsDelete, 0, false
	case WriteRowsEventV1:
		return RowsWrite, 1, false
	case UpdateRowsEventV1:
		return RowsUpdate, 1, false
	case DeleteRowsEventV1:
		return RowsDelete, 1, false
	case WriteRowsEventV2:
		return RowsWrite, 2, false
	case UpdateRowsEventV2:
		return RowsUpdate, 2, false
	case DeleteRowsEventV2:
		return RowsDelete, 2, false
	case PartialUpdateRowsEvent:
		return RowsPartialUpdate, 2, false
	case MariaWriteRowsCompressedEventV1:
		return RowsWrite, 1, true
	case MariaUpdateRowsCompressedEventV1:
		return RowsUpdate, 1, true
	case MariaDeleteRowsCompressedEventV1:
		return RowsDelete, 1, true
	case MariaWriteRowsCompressedEvent:
		return RowsWrite, 2, true
	case MariaUpdateRowsCompressedEvent:
		return RowsUpdate, 2, true
	case MariaDeleteRowsCompressedEvent:
		return RowsDelete, 2, true
	}
	return 0, 0, false
}

// IsRows reports whether t is any rows event (write/update/delete, any version, compressed or
// not, or PARTIAL_UPDATE_ROWS).
func (t EventType) IsRows() bool { k, _, _ := t.rowsInfo(); return k != 0 }
