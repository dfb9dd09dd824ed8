package postgres_test

import (
	"github.com/sluicecdc/sluice/capture/postgres"
	"github.com/sluicecdc/sluice/internal/pipeline"
)

// The pipeline's contract, checked where the type lives. It is a test file because a source must
// not import internal/pipeline (internal/lint TestForbiddenImports); go vet and go test compile it.
var _ pipeline.Source = (*postgres.Source)(nil)

// The stream sender overlaps decoding with the sink's sends for a source that says when its
// next event is ready.
var _ pipeline.ReadyReporter = (*postgres.Source)(nil)
