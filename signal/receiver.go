package signal

// Receiver is a source that takes signals from outside its stream: the Kafka signal channel
// (package kafkasignal) hands it every message of the signal topic's one partition in order.
// Both sources implement it. A signal is acted on once: the source keeps the next offset to
// read in its own stored offsets (they are saved only after what the source emitted since is
// durable), and the channel starts reading there, so a restart neither loses nor repeats a
// signal.
type Receiver interface {
	// ReceiveSignal hands over the message at offset: sig is its signal, or nil for a message
	// that is not one to act on (another connector's key, a malformed signal already
	// logged), or for no message at all when the channel only tells where it starts (offset
	// is then the one before the first to read). Any goroutine may call it; it does not
	// block. The source acts on sig before its next event, and every position it hands out
	// from then on says the next offset to read is offset+1.
	ReceiveSignal(sig *Signal, offset int64)
	// SignalOffset is the next offset to read as the source's stored offset says; ok is
	// false when it says nothing (a first run, or offsets written without the channel).
	// Call it before the first ReceiveSignal.
	SignalOffset() (next int64, ok bool)
}
