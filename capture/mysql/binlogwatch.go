package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"
)

// binlogFile is one row of SHOW BINARY LOGS.
type binlogFile struct {
	Name string
	Size int64
}

// binlogWatch is what the watch reads from the server: its binlogs, oldest first, and how long
// it keeps them (0: for ever).
type binlogWatch struct {
	files  []binlogFile
	expiry time.Duration
}

// bytesBehind is the size of the binlog between p and the end of the newest file, or -1 when
// p's file is not on the server (purged, or another server's).
func (w binlogWatch) bytesBehind(p *Position) int64 {
	var n int64
	found := false
	for _, f := range w.files {
		switch {
		case f.Name == p.File:
			found = true
			n += max(f.Size-int64(p.Pos), 0)
		case found:
			n += f.Size
		}
	}
	if !found {
		return -1
	}
	return n
}

// purgeRisk says why p's binlog may soon be purged, or "". The server purges a binlog once its
// last write is older than the expiry; the newest file is never purged. The age is taken from
// p's event time, which is no later than the file's last write: the estimate errs early.
func (w binlogWatch) purgeRisk(p *Position, now time.Time) string {
	if p == nil || p.File == "" || len(w.files) == 0 {
		return ""
	}
	i := -1
	for j, f := range w.files {
		if f.Name == p.File {
			i = j
		}
	}
	if i < 0 {
		if compareFiles(p.File, w.files[0].Name) < 0 {
			return fmt.Sprintf("binlog %s of the stored position %s is already purged (the oldest on the server is %s): a restart from it fails unless --snapshot-mode when_needed takes a new snapshot",
				p.File, p.String(), w.files[0].Name)
		}
		return ""
	}
	if i == len(w.files)-1 || w.expiry <= 0 || p.TsSec <= 0 {
		return ""
	}
	age := now.Sub(time.Unix(p.TsSec, 0))
	if age < w.expiry*3/4 {
		return ""
	}
	return fmt.Sprintf("binlog %s of the stored position %s is %s old and the server purges binlogs after %s: once it is purged a restart from this position fails; "+
		"find out why the position does not advance (the sink, the offsets store), or keep binlogs longer: SET PERSIST binlog_expire_logs_seconds = %d; (MariaDB: SET GLOBAL binlog_expire_logs_seconds = %d; or expire_logs_days in my.cnf)",
		p.File, p.String(), age.Round(time.Minute), w.expiry, int64(w.expiry.Seconds())*2, int64(w.expiry.Seconds())*2)
}

// readBinlogWatch reads SHOW BINARY LOGS and the binlog expiry.
func (s *Source) readBinlogWatch(ctx context.Context) (binlogWatch, error) {
	var w binlogWatch
	if s.cfg.QueryTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.cfg.QueryTimeout)
		defer cancel()
	}
	rows, err := s.db.QueryContext(ctx, "SHOW BINARY LOGS")
	if err != nil {
		return w, err
	}
	cols, err := rows.Columns()
	if err != nil {
		rows.Close()
		return w, err
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			rows.Close()
			return w, err
		}
		f := binlogFile{Name: vals[0].String}
		if len(vals) > 1 {
			f.Size, _ = strconv.ParseInt(vals[1].String, 10, 64)
		}
		w.files = append(w.files, f)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return w, err
	}
	// binlog_expire_logs_seconds: MySQL 8 and MariaDB ≥ 10.6; expire_logs_days: MariaDB and
	// MySQL < 8.4. Either may be missing; a non-zero seconds value wins, as on the server.
	var secs, days sql.NullFloat64
	if err := s.db.QueryRowContext(ctx, "SELECT @@binlog_expire_logs_seconds").Scan(&secs); err == nil && secs.Float64 > 0 {
		w.expiry = time.Duration(secs.Float64 * float64(time.Second))
	} else if err := s.db.QueryRowContext(ctx, "SELECT @@expire_logs_days").Scan(&days); err == nil && days.Float64 > 0 {
		w.expiry = time.Duration(days.Float64 * 24 * float64(time.Hour))
	}
	return w, nil
}

// watchBinlog runs until ctx ends: at once and then every BinlogCheckInterval it reads the
// server's binlogs, sets Stats.Stream.BinlogBytesBehind from the position read, and warns
// (at most every 10 minutes) when the binlog of the acknowledged position (the stored
// offset's, before the first Ack) is about to be purged. Failures are only logged: the
// stream reports a server that went away.
func (s *Source) watchBinlog(ctx context.Context) {
	t := time.NewTicker(s.cfg.BinlogCheckInterval)
	defer t.Stop()
	var lastWarn time.Time
	failed := false
	for {
		w, err := s.readBinlogWatch(ctx)
		switch {
		case err != nil:
			if ctx.Err() == nil && !failed {
				failed = true
				s.log.Warn("cannot read the server's binlogs (SHOW BINARY LOGS needs REPLICATION CLIENT, on MariaDB ≥ 10.5 BINLOG MONITOR): no binlog lag and no purge warning", "err", err)
			}
		default:
			if p := s.readPos.Load(); p != nil && p.File != "" {
				s.cfg.Stats.Stream.BinlogBytesBehind.Store(w.bytesBehind(p))
			}
			if risk := w.purgeRisk(s.ackedPos.Load(), time.Now()); risk != "" && time.Since(lastWarn) >= 10*time.Minute {
				lastWarn = time.Now()
				s.log.Warn("the binlog of the stored position may be purged soon", "risk", risk)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
