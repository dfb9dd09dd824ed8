package kafka_test

import (
	"github.com/sluicecdc/sluice/internal/pipeline"
	"github.com/sluicecdc/sluice/sink/kafka"
)

// The pipeline's contract, checked where the type lives. It is a test file because a sink must
// not import internal/pipeline (internal/lint TestForbiddenImports); go vet and go test compile it.
var (
	_ pipeline.Sink            = (*kafka.Sink)(nil)
	_ pipeline.FailureNotifier = (*kafka.Sink)(nil)
)

// The optional abilities the pipeline's watchdog and /metrics look for.
var (
	_ pipeline.StallReporter  = (*kafka.Sink)(nil)
	_ pipeline.BufferReporter = (*kafka.Sink)(nil)
)
