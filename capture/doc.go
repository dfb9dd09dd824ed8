// Package capture holds the change model every stage shares: the Event a source emits and a sink
// consumes, the typed Values of its rows, the source metadata for Debezium's source block, and the
// opaque Position a source resumes from. It does no I/O and imports only the schema model.
//
// Values are typed (integers, exact decimals, times with their precision, bytes, JSON text,
// geometry, arrays), never pre-formatted strings: formatting belongs to the envelope, once.
//
// It also holds the few conversions the decoders and the envelope would otherwise each write
// again (civil dates, JSON string unescaping): capture is the lowest package all of them import.
package capture
