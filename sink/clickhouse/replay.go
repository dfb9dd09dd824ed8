package clickhouse

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sluicecdc/sluice/envelope"
)

// ReplayResult says what ReplayParked did.
type ReplayResult struct {
	Read        int // parked records read
	Applied     int // records applied to their tables this time (or skipped as no change)
	ParkedAgain int // records that failed again: parked anew, with today's reason
}

// ReplayParked re-applies the records parked in <database>._sluice_parked, of one table or of
// all when table is "" (records parked before their table was known have table ""), after the
// cause was fixed (the table created or ALTERed). Records are sent in the order they were
// parked; since rows carry their source version, the tables converge whatever the order.
// Records that fail again are parked again (a new row, after the replay started). Only then
// are the replayed rows removed from _sluice_parked, by an ALTER TABLE … DELETE of exactly the
// rows read (a mutation: ClickHouse removes them in the background), so a crash in between
// leaves a record parked, or applied and still parked, never lost; replaying it again is
// harmless. It flushes what the sink had pending first; the sink must not be fed meanwhile.
func (s *Sink) ReplayParked(ctx context.Context, table string) (ReplayResult, error) {
	var res ReplayResult
	if err := s.Flush(ctx); err != nil {
		return res, err
	}
	where := ""
	if table != "" {
		where = " WHERE table = " + quoteString(table)
	}
	type parked struct {
		topic, key, value string
		token             uint64
		hash              uint64
	}
	var recs []parked
	var newest time.Time
	q := "SELECT ts, topic, token, key, value, cityHash64(table, topic, token, version, key, value) FROM " + s.db + ".`_sluice_parked`" + where + " ORDER BY ts, token"
	err := s.retry(ctx, "read parked records", func(ctx context.Context) error {
		recs, newest = recs[:0], time.Time{}
		rows, err := s.conn.Query(ctx, q)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var p parked
			var ts time.Time
			if err := rows.Scan(&ts, &p.topic, &p.token, &p.key, &p.value, &p.hash); err != nil {
				return err
			}
			if ts.After(newest) {
				newest = ts
			}
			recs = append(recs, p)
		}
		return rows.Err()
	})
	if err != nil {
		return res, err
	}
	res.Read = len(recs)
	if len(recs) == 0 {
		return res, nil
	}
	// Rows parked again get ts = now (whole seconds): wait until that is after every row read,
	// so that the DELETE below, bounded by ts, cannot remove them.
	if d := time.Until(newest.Add(time.Second)); d > 0 {
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(d):
		}
	}
	parked0 := s.stats.parked.Load()
	for i := range recs {
		p := &recs[i]
		rec := envelope.Record{Topic: p.topic, Value: []byte(p.value)}
		if p.key != "" {
			rec.Key = []byte(p.key)
		}
		if err := s.Send(ctx, &rec, p.token); err != nil {
			return res, fmt.Errorf("replay parked record %d of %d (topic %s): %w", i+1, len(recs), p.topic, err)
		}
	}
	if err := s.Flush(ctx); err != nil {
		return res, err
	}
	res.ParkedAgain = int(s.stats.parked.Load() - parked0)
	res.Applied = res.Read - res.ParkedAgain
	for lo := 0; lo < len(recs); lo += 10000 {
		hs := make([]string, 0, min(10000, len(recs)-lo))
		for _, p := range recs[lo:min(lo+10000, len(recs))] {
			hs = append(hs, fmt.Sprint(p.hash))
		}
		del := "ALTER TABLE " + s.db + ".`_sluice_parked` DELETE WHERE ts <= toDateTime(" + fmt.Sprint(newest.Unix()) +
			") AND cityHash64(table, topic, token, version, key, value) IN (" + strings.Join(hs, ", ") + ")"
		if table != "" {
			del += " AND table = " + quoteString(table)
		}
		if err := s.retry(ctx, "delete replayed parked records", func(ctx context.Context) error { return s.conn.Exec(ctx, del) }); err != nil {
			return res, err
		}
	}
	s.stats.replayed.Add(uint64(res.Applied))
	return res, nil
}
