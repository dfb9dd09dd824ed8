package offsets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// File stores the offset in a local JSON file:
//
//	{"key":["sluice",{"server":"dbserver1"}],"value":{"file":"binlog.000003","pos":154}}
//
// (Debezium's FileOffsetBackingStore writes a Java-serialized map instead; that format is not
// read.) Save writes a temp file in the same directory, fsyncs it, renames it over the file
// and fsyncs the directory, so a crash leaves either the old or the new offset, never a torn one.
type File struct {
	path string
	key  []byte
	buf  []byte
}

// NewFile returns a File store at path for the connector named name with the topic prefix.
// The directory must exist.
func NewFile(path, name, topicPrefix string) *File {
	return &File{path: path, key: Key(name, topicPrefix)}
}

type fileDoc struct {
	Key   json.RawMessage `json:"key"`
	Value json.RawMessage `json:"value"`
}

// Load reads the stored value; nil if the file does not exist. A file written for another
// connector name or topic prefix is an error, since resuming from it would be wrong.
func (f *File) Load(context.Context) ([]byte, error) {
	b, err := os.ReadFile(f.path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read offsets file: %w", err)
	}
	var d fileDoc
	if err := json.Unmarshal(b, &d); err != nil {
		// Save replaces the file atomically, so this is damage from outside (a copy cut
		// short, an editor): starting over must be the operator's choice, made knowingly.
		return nil, fmt.Errorf("offsets file %s is not valid JSON (sluice replaces it atomically, so something else damaged it): "+
			"restore it from a backup; or delete it and restart with --snapshot-mode when_needed, which takes a new snapshot "+
			"(consumers get every row again): %w", f.path, err)
	}
	if len(d.Key) == 0 || string(d.Key) == "null" {
		return nil, fmt.Errorf("offsets file %s has no key (it is not a sluice offsets file, or was edited): restore it from a backup, or point --offsets-file at the right one", f.path)
	}
	if len(d.Value) == 0 || string(d.Value) == "null" {
		return nil, fmt.Errorf("offsets file %s of %s has no offset value (it was edited): restore it from a backup; "+
			"or delete it and restart with --snapshot-mode when_needed, which takes a new snapshot", f.path, d.Key)
	}
	if !jsonEqual(d.Key, f.key) {
		return nil, fmt.Errorf("offsets file %s belongs to %s, not %s: use another --offsets-file or the matching --name/--topic-prefix", f.path, d.Key, f.key)
	}
	if err := validValue(d.Value); err != nil {
		return nil, fmt.Errorf("offsets file %s: %w", f.path, err)
	}
	return []byte(d.Value), nil
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}

// Ping checks that the offsets can be saved: it writes, syncs and removes a temporary file in
// the file's directory, as Save would, without touching the stored offset.
func (f *File) Ping(context.Context) error {
	t, err := os.CreateTemp(filepath.Dir(f.path), "."+filepath.Base(f.path)+".ping-*")
	if err != nil {
		return fmt.Errorf("offsets file %s cannot be written: %w", f.path, err)
	}
	_, err = t.Write([]byte("{}\n"))
	if err == nil {
		err = t.Sync()
	}
	t.Close()
	os.Remove(t.Name())
	if err != nil {
		return fmt.Errorf("offsets file %s cannot be written: %w", f.path, err)
	}
	return nil
}

// Save atomically replaces the file with value.
func (f *File) Save(_ context.Context, value []byte) error {
	if err := validValue(value); err != nil {
		return err
	}
	f.buf = append(f.buf[:0], `{"key":`...)
	f.buf = append(f.buf, f.key...)
	f.buf = append(f.buf, `,"value":`...)
	f.buf = append(f.buf, value...)
	f.buf = append(f.buf, "}\n"...)
	return writeAtomic(f.path, f.buf)
}

func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write offsets: %w", err)
	}
	name := tmp.Name()
	fail := func(err error) error {
		tmp.Close()
		os.Remove(name)
		return fmt.Errorf("write offsets %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		return fail(err)
	}
	if err := os.Rename(name, path); err != nil {
		os.Remove(name)
		return fmt.Errorf("write offsets %s: %w", path, err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("write offsets %s: open dir: %w", path, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("write offsets %s: sync dir: %w", path, err)
	}
	return nil
}

// Close does nothing: every Save is already durable.
func (f *File) Close() error { return nil }
