package stdout_test

import (
	"github.com/sluicecdc/sluice/internal/pipeline"
	"github.com/sluicecdc/sluice/sink/stdout"
)

// The pipeline's contract, checked where the type lives. It is a test file because a sink must
// not import internal/pipeline (internal/lint TestForbiddenImports); go vet and go test compile it.
var _ pipeline.Sink = (*stdout.Sink)(nil)
