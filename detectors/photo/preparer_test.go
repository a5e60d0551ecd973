package photo_test

import (
	"github.com/waspada/waspada/detectors/photo"
	"github.com/waspada/waspada/pipeline"
)

// The detector is a pipeline.Preparer: IO in Prepare, stored results
// handed back through Restore on rebuild.
var _ pipeline.Preparer = (*photo.Detector)(nil)
