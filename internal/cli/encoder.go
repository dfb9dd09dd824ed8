package cli

import (
	"github.com/sluicecdc/sluice/envelope"
	"github.com/sluicecdc/sluice/internal/pipeline"
)

// newEncoder builds the envelope encoder from the common flags. It is a variable so tests can
// replace it.
var newEncoder = func(c *Flags) (pipeline.Encoder, error) {
	return envelope.NewEncoder(c.EnvelopeConfig())
}

// EnvelopeConfig returns the encoder configuration the flags describe (valid after parse).
func (c *Flags) EnvelopeConfig() envelope.Config {
	return envelope.Config{
		TopicPrefix:         c.TopicPrefix,
		SchemasEnable:       c.SchemasEnable,
		Options:             c.options,
		TombstonesOnDelete:  c.TombstonesOnDelete,
		TransactionMetadata: c.TransactionMetadata,
		ConnectorVersion:    c.DebeziumVersion,
	}
}
