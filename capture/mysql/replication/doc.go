// Package replication is a MySQL/MariaDB replication client: it connects (handshake v10, TLS,
// every common auth plugin), registers as a replica with its own server id, starts a binlog dump
// from a file/position or a GTID set, and hands back raw binlog events pulled with Next(ctx).
//
// It owns the network side only. It does not decode events beyond the few header bytes it needs;
// the pure decoders live in capture/mysql/binlog, and turning rows into capture.Event values is
// the job of capture/mysql.
//
// # Connection
//
// Dial performs the handshake and authentication: caching_sha2_password (fast path; full path
// over TLS with the cleartext password or over plain TCP with the server's RSA public key),
// mysql_native_password, sha256_password and MariaDB's client_ed25519, following auth-switch and
// auth-more-data requests. TLS follows Config.TLS (disable, preferred, required, verify-ca,
// verify-full). Exec and Query run the few text-protocol statements replication setup needs;
// BinlogStatus reads the current file/position and GTID state of either flavour.
//
// # Dump
//
// StartDump sets up checksums, heartbeats and (on MariaDB) the GTID capability, sends
// COM_REGISTER_SLAVE and then COM_BINLOG_DUMP or COM_BINLOG_DUMP_GTID. Next returns one event at
// a time: the event header, body and checksum exactly as the server sent them, without the
// packet's leading OK byte. The returned slice is valid only until the next call to Next; events
// larger than one protocol packet (16 MiB) are reassembled.
//
// Speed: a payload that fits in the read buffer (1 MiB by default) is returned as a slice of
// that buffer, without a copy; only events larger than the buffer are copied (and reassembled
// from 16 MiB packets). The client itself moves about 12 GB/s of 8 KiB events from memory
// (BenchmarkNext), so a dump runs at the speed of the server and the socket.
//
// # Blocking and cancellation
//
// Every blocking call takes a context. Cancelling it interrupts a blocked read through a read
// deadline (context.AfterFunc, no goroutine per call); after a call returned a context error the
// Conn is unusable and must be closed, because a packet may have been cut in half.
//
// # Errors
//
// Server errors are *ServerError values carrying the MySQL error code, the SQL state, the
// server's message and a hint saying what to do; errors.Is matches them against the sentinels in
// errors.go (ErrAccessDenied, ErrMissingPrivilege, ErrServerIDConflict, ErrBinlogPurged, …).
// Network failures are *NetError values. Both report Retryable() for capture.Retryable.
package replication
