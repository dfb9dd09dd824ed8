package main

import (
	"errors"

	"github.com/sluicecdc/sluice/internal/pipeline"
)

// newEncoder builds the envelope encoder from the common flags. Until the envelope encoder
// lands it fails with a clear message; it is a variable so tests can replace it.
var newEncoder = func(c *commonFlags) (pipeline.Encoder, error) {
	return nil, errors.New("the Debezium envelope encoder is not built into this binary yet")
}
