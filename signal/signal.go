package signal

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/sluicecdc/sluice/capture"
	"github.com/sluicecdc/sluice/schema"
)

// Type is a signal's type, Debezium's name for it.
type Type string

const (
	ExecuteSnapshot Type = "execute-snapshot"
	StopSnapshot    Type = "stop-snapshot"
	PauseSnapshot   Type = "pause-snapshot"
	ResumeSnapshot  Type = "resume-snapshot"
	Log             Type = "log"
)

var known = []Type{ExecuteSnapshot, StopSnapshot, PauseSnapshot, ResumeSnapshot, Log}

// SnapshotType is the kind of snapshot a snapshot signal is about.
type SnapshotType string

const (
	// Incremental reads the tables in chunks interleaved with the stream (DBLog watermarks).
	Incremental SnapshotType = "incremental"
	// Blocking stops the stream, reads the tables as an initial snapshot does, then resumes it.
	Blocking SnapshotType = "blocking"
)

// Signal is one parsed signal.
type Signal struct {
	// ID is the signal's id: the signal table's id column, or the Kafka message's "id" field,
	// else "kafka:<partition>:<offset>".
	ID   string `json:"id"`
	Type Type   `json:"type"`
	// Snapshot is set for the four snapshot types.
	Snapshot *Snapshot `json:"snapshot,omitempty"`
	// Message is a log signal's message, as sent (see LogMessage).
	Message string `json:"message,omitempty"`
}

// Snapshot is the data of execute-snapshot, stop-snapshot, pause-snapshot and
// resume-snapshot.
type Snapshot struct {
	// Type defaults to Incremental (Debezium reads it case-insensitively).
	Type SnapshotType `json:"type"`
	// DataCollections are regular expressions matched against whole table names (schema.table
	// on PostgreSQL, database.table on MySQL). Required for execute-snapshot; for stop-snapshot
	// none means every table of the running snapshot; unused by pause and resume.
	DataCollections []string `json:"data_collections,omitempty"`
	// Conditions narrow the rows read from the tables they match (additional-conditions).
	Conditions []Condition `json:"additional_conditions,omitempty"`
	// SurrogateKey is a column to chunk by instead of the primary key ("" = the primary key).
	SurrogateKey string `json:"surrogate_key,omitempty"`

	collections []*regexp.Regexp
}

// Condition is one of additional-conditions: a SQL boolean expression (Filter) ANDed to the
// chunk reads of the tables DataCollection matches (a regular expression, as in
// DataCollections). The filter is SQL the operator wrote for their own database: sources
// pass it through as is, so the signal table and topic must be writable only by people
// trusted with that database.
type Condition struct {
	DataCollection string `json:"data_collection"`
	Filter         string `json:"filter"`

	collection *regexp.Regexp
}

// Matches reports whether the snapshot covers table (its Debezium name, schema.TableID's
// String). A stop-snapshot without data-collections covers every table.
func (s *Snapshot) Matches(table string) bool {
	if len(s.collections) == 0 {
		return len(s.DataCollections) == 0
	}
	for _, re := range s.collections {
		if re.MatchString(table) {
			return true
		}
	}
	return false
}

// Filter returns the additional condition for table: the filters of every condition that
// matches it, ANDed, each in parentheses; "" when none does.
func (s *Snapshot) Filter(table string) string {
	var parts []string
	for _, c := range s.Conditions {
		if c.collection != nil && c.collection.MatchString(table) {
			parts = append(parts, "("+c.Filter+")")
		}
	}
	return strings.Join(parts, " AND ")
}

// LogMessage is a log signal's message with "{}" replaced by where the signal was read (the
// source's offset), as Debezium writes it.
func (s Signal) LogMessage(offset string) string {
	return strings.Replace(s.Message, "{}", offset, 1)
}

// Parse parses one signal: its id, its type and its data (a JSON object; empty or "null" when
// the signal has none). It returns an *Error for anything it cannot act on.
func Parse(id, typ string, data []byte) (Signal, error) {
	sig := Signal{ID: id, Type: Type(strings.TrimSpace(typ))}
	bad := func(err error, format string, args ...any) (Signal, error) {
		return Signal{}, &Error{ID: id, Type: typ, Reason: fmt.Sprintf(format, args...), Err: err}
	}
	if !utf8.ValidString(id) || !utf8.ValidString(typ) {
		return bad(nil, "id and type must be UTF-8 text")
	}
	data = bytes.TrimSpace(data)
	empty := len(data) == 0 || string(data) == "null"
	switch sig.Type {
	case Log:
		var d struct {
			Message *string `json:"message"`
		}
		if empty {
			return bad(nil, `a log signal needs data {"message": "…"}`)
		}
		if err := json.Unmarshal(data, &d); err != nil {
			return bad(err, `data is not the JSON object {"message": "…"}`)
		}
		if d.Message == nil || *d.Message == "" {
			return bad(nil, `a log signal needs data {"message": "…"}`)
		}
		sig.Message = *d.Message
		return sig, nil
	case ExecuteSnapshot, StopSnapshot, PauseSnapshot, ResumeSnapshot:
		snap, err := parseSnapshot(sig.Type, data, empty)
		if err != nil {
			if e, ok := err.(*Error); ok {
				e.ID, e.Type = id, typ
			}
			return Signal{}, err
		}
		sig.Snapshot = snap
		return sig, nil
	}
	names := make([]string, len(known))
	for i, k := range known {
		names[i] = string(k)
	}
	return bad(nil, "unknown signal type; the types are %s", strings.Join(names, ", "))
}

// snapshotData is the JSON of a snapshot signal's data, as Debezium documents it.
type snapshotData struct {
	DataCollections []string `json:"data-collections"`
	Type            *string  `json:"type"`
	Conditions      []struct {
		DataCollection *string `json:"data-collection"`
		Filter         *string `json:"filter"`
	} `json:"additional-conditions"`
	// Condition is Debezium 2.0–2.2's one filter for every table of the signal.
	Condition    *string `json:"additional-condition"`
	SurrogateKey string  `json:"surrogate-key"`
}

func parseSnapshot(t Type, data []byte, empty bool) (*Snapshot, error) {
	bad := func(err error, format string, args ...any) (*Snapshot, error) {
		return nil, &Error{Reason: fmt.Sprintf(format, args...), Err: err}
	}
	var d snapshotData
	if empty {
		if t == ExecuteSnapshot {
			return bad(nil, `execute-snapshot needs data {"data-collections": ["schema.table", …]}`)
		}
	} else if err := json.Unmarshal(data, &d); err != nil {
		return bad(err, `data is not the JSON object {"data-collections": […], "type": "incremental"|"blocking", …}`)
	}
	snap := &Snapshot{Type: Incremental, SurrogateKey: strings.TrimSpace(d.SurrogateKey)}
	if d.Type != nil {
		switch st := SnapshotType(strings.ToLower(strings.TrimSpace(*d.Type))); st {
		case Incremental, Blocking:
			snap.Type = st
		default:
			return bad(nil, `unknown snapshot type %q: use "incremental" or "blocking"`, *d.Type)
		}
	}
	if snap.Type == Blocking && t != ExecuteSnapshot {
		return bad(nil, "%s applies to incremental snapshots only (a blocking snapshot cannot be stopped, paused or resumed by signal)", t)
	}
	for _, dc := range d.DataCollections {
		dc = strings.TrimSpace(dc)
		if dc == "" {
			return bad(nil, "data-collections holds an empty name")
		}
		re, err := compile(dc)
		if err != nil {
			return bad(err, "data-collections: %q is not a regular expression", dc)
		}
		snap.DataCollections = append(snap.DataCollections, dc)
		snap.collections = append(snap.collections, re)
	}
	if t == ExecuteSnapshot && len(snap.DataCollections) == 0 {
		return bad(nil, `execute-snapshot needs at least one table in "data-collections"`)
	}
	if d.Condition != nil && len(d.Conditions) > 0 {
		return bad(nil, `give "additional-conditions" or the older "additional-condition", not both`)
	}
	if d.Condition != nil && strings.TrimSpace(*d.Condition) != "" {
		// The older form filters every table of the signal.
		for i, dc := range snap.DataCollections {
			snap.Conditions = append(snap.Conditions, Condition{DataCollection: dc, Filter: strings.TrimSpace(*d.Condition), collection: snap.collections[i]})
		}
	}
	for i, c := range d.Conditions {
		if c.DataCollection == nil || strings.TrimSpace(*c.DataCollection) == "" {
			return bad(nil, `additional-conditions[%d] has no "data-collection"`, i)
		}
		if c.Filter == nil || strings.TrimSpace(*c.Filter) == "" {
			return bad(nil, `additional-conditions[%d] has no "filter"`, i)
		}
		dc := strings.TrimSpace(*c.DataCollection)
		re, err := compile(dc)
		if err != nil {
			return bad(err, "additional-conditions[%d]: %q is not a regular expression", i, dc)
		}
		snap.Conditions = append(snap.Conditions, Condition{DataCollection: dc, Filter: strings.TrimSpace(*c.Filter), collection: re})
	}
	if len(snap.Conditions) > 0 && t != ExecuteSnapshot {
		return bad(nil, "additional-conditions belong to execute-snapshot only")
	}
	return snap, nil
}

// compile matches the whole name, as Debezium's data-collection patterns do.
func compile(pattern string) (*regexp.Regexp, error) {
	return regexp.Compile(`^(?:` + pattern + `)$`)
}

// FromRow parses a signal table's inserted row. Its first three columns are id, type and data
// in that order (Debezium names them by position; the names may differ); text, bytes or JSON
// columns. Only inserts are signals: callers skip updates and deletes of the table.
func FromRow(t *schema.Table, row capture.Row) (Signal, error) {
	name := "the signal table"
	if t != nil {
		name = t.ID.String()
	}
	if len(row) < 3 {
		return Signal{}, &Error{Reason: fmt.Sprintf("%s has %d columns; a signal table has id, type and data first", name, len(row))}
	}
	var text [3][]byte
	for i := range 3 {
		v := row[i]
		switch v.Kind {
		case capture.String, capture.Bytes, capture.JSON:
			text[i] = v.Bytes
		case capture.EscapedJSON: // a JSON column from the binlog
			var ok bool
			if text[i], ok = v.JSONText(nil); !ok {
				return Signal{}, &Error{ID: string(text[0]), Reason: fmt.Sprintf("%s: column %d holds malformed escaped JSON", name, i+1)}
			}
		case capture.Null:
			if i < 2 {
				col := [...]string{"id", "type"}[i]
				return Signal{}, &Error{ID: string(text[0]), Reason: fmt.Sprintf("%s: the %s column is null", name, col)}
			}
		default:
			return Signal{}, &Error{ID: string(text[0]), Reason: fmt.Sprintf("%s: column %d is not text (id, type and data are varchar/text columns)", name, i+1)}
		}
	}
	return Parse(string(text[0]), string(text[1]), text[2])
}

// ParseKafka parses one message of the Kafka signal channel. Messages whose key is not the
// connector's topic prefix are for other connectors sharing the topic: ok is false and err nil.
// The value is {"type": "…", "data": {…}} (data may also be a JSON string holding the object,
// as the signal table's column does); an "id" field names the signal, else
// "kafka:<partition>:<offset>" does.
func ParseKafka(prefix string, key, value []byte, partition int32, offset int64) (sig Signal, ok bool, err error) {
	if string(key) != prefix {
		return Signal{}, false, nil
	}
	id := fmt.Sprintf("kafka:%d:%d", partition, offset)
	var v struct {
		ID   *string         `json:"id"`
		Type *string         `json:"type"`
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(value, &v); err != nil {
		return Signal{}, true, &Error{ID: id, Reason: `the message value is not the JSON object {"type": "…", "data": {…}}`, Err: err}
	}
	if v.ID != nil && *v.ID != "" {
		id = *v.ID
	}
	if v.Type == nil {
		return Signal{}, true, &Error{ID: id, Reason: `the message value has no "type"`}
	}
	data := bytes.TrimSpace(v.Data)
	if len(data) > 0 && data[0] == '"' {
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return Signal{}, true, &Error{ID: id, Type: *v.Type, Reason: "data is not a JSON object", Err: err}
		}
		data = []byte(s)
	}
	sig, err = Parse(id, *v.Type, data)
	return sig, true, err
}
