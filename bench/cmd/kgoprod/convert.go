package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
)

type line struct {
	Topic string          `json:"topic"`
	Key   json.RawMessage `json:"key"`
	Value json.RawMessage `json:"value"`
}

// Record file: per record uvarint(len topic) topic, then key and value each as uvarint(len+1)
// followed by the bytes (0 = null).
func convert(in, out string) error {
	f, err := os.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	o, err := os.Create(out)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(o, 1<<20)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	var n int
	put := func(b []byte, null bool) {
		if null {
			w.Write(binary.AppendUvarint(nil, 0))
			return
		}
		w.Write(binary.AppendUvarint(nil, uint64(len(b)+1)))
		w.Write(b)
	}
	for sc.Scan() {
		var l line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return fmt.Errorf("%s line %d: %w", in, n+1, err)
		}
		put([]byte(l.Topic), false)
		put(l.Key, l.Key == nil || string(l.Key) == "null")
		put(l.Value, l.Value == nil || string(l.Value) == "null")
		n++
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "kgoprod: %d records\n", n)
	return o.Close()
}
